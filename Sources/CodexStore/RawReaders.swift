import GRDBSQLite
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Read-only SQLite connections for the download hot path, used without GRDB's per-read dispatch hop and
/// BEGIN/COMMIT: one prepared statement step per lookup (an implicit WAL read snapshot, ended by the reset).
/// GRDB's pool keeps serving every other read. Connections are pooled; each is used by one thread at a time.
final class RawReaders: Sendable {
  /// The columns every lookup returns: block CID, size, pack, pos, inline data, then (leaf lookups only) proof and
  /// the block's CRC-32C.
  static let leafSQL = """
    SELECT l.block, b.size, b.pack, b.pos, b.data, l.proof, b.crc FROM leaves l LEFT JOIN blocks b ON b.cid = l.block
    WHERE l.tree = ?1 AND l.idx = ?2
    """
  static let blockSQL = "SELECT cid, size, pack, pos, data, crc FROM blocks WHERE cid = ?1"

  let path: String
  private let idle = Mutex<(closed: Bool, connections: [RawConnection])>((false, []))

  init(path: String) {
    self.path = path
  }

  /// Runs `body` with a pooled connection (opened on demand).
  func with<T>(_ body: (RawConnection) throws -> T) throws -> T {
    let pooled = try idle.withLock { state throws(StoreError) -> RawConnection? in
      if state.closed { throw .invalidArgument("the repo store is closed") }
      return state.connections.popLast()
    }
    let connection = try pooled ?? RawConnection(path: path)
    defer {
      idle.withLock { state in
        if !state.closed && state.connections.count < 16 { state.connections.append(connection) }
      }
    }
    return try body(connection)
  }

  /// Closes idle connections; connections in use close when their read ends.
  func closeAll() {
    idle.withLock { state in
      state.closed = true
      state.connections.removeAll()
    }
  }
}

/// One read-only connection and its prepared statements.
final class RawConnection: @unchecked Sendable {
  private let db: OpaquePointer
  let leaf: OpaquePointer
  let block: OpaquePointer

  init(path: String) throws(StoreError) {
    var handle: OpaquePointer?
    let rc = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nil)
    guard rc == SQLITE_OK, let handle else {
      let why = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "code \(rc)"
      if let handle { sqlite3_close_v2(handle) }
      throw .io("cannot open \(path) for reading: \(why)")
    }
    sqlite3_busy_timeout(handle, 5000)
    func prepare(_ sql: String) throws(StoreError) -> OpaquePointer {
      var stmt: OpaquePointer?
      guard sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil) == SQLITE_OK,
        let stmt
      else {
        let why = String(cString: sqlite3_errmsg(handle))
        sqlite3_close_v2(handle)
        throw .io("cannot prepare a read of \(path): \(why)")
      }
      return stmt
    }
    let leaf = try prepare(RawReaders.leafSQL)
    do {
      block = try prepare(RawReaders.blockSQL)
    } catch {
      sqlite3_finalize(leaf)
      throw error
    }
    self.leaf = leaf
    self.db = handle
  }

  deinit {
    sqlite3_finalize(leaf)
    sqlite3_finalize(block)
    sqlite3_close_v2(db)
  }

  /// Steps `stmt` once with the bindings set by `bind`; `read` sees the row (nil when there is none). The statement
  /// is reset afterwards, ending the read snapshot.
  func query<T>(
    _ stmt: OpaquePointer, bind: (OpaquePointer) -> Void, read: (RawRow?) throws -> T
  ) throws -> T {
    defer {
      sqlite3_reset(stmt)
      sqlite3_clear_bindings(stmt)
    }
    bind(stmt)
    switch sqlite3_step(stmt) {
    case SQLITE_ROW: return try read(RawRow(stmt: stmt))
    case SQLITE_DONE: return try read(nil)
    default: throw StoreError.io("read of the repo database failed: \(String(cString: sqlite3_errmsg(db)))")
    }
  }

  static func bindInt64(_ stmt: OpaquePointer, _ index: Int32, _ value: Int64) {
    _ = sqlite3_bind_int64(stmt, index, value)
  }

  static func bindBlob(_ stmt: OpaquePointer, _ index: Int32, _ bytes: [UInt8]) {
    bytes.withUnsafeBytes { raw in
      _ = sqlite3_bind_blob(
        stmt, index, raw.baseAddress, Int32(raw.count), unsafeBitCast(-1, to: sqlite3_destructor_type.self))
    }
  }
}

/// Column access on the current row of a stepped statement (valid only inside `RawConnection.query`'s `read`).
struct RawRow {
  let stmt: OpaquePointer

  func isNull(_ column: Int32) -> Bool { sqlite3_column_type(stmt, column) == SQLITE_NULL }
  func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(stmt, column) }

  /// The column's bytes (an empty array for NULL or an empty blob).
  func bytes(_ column: Int32) -> [UInt8] {
    let count = Int(sqlite3_column_bytes(stmt, column))
    guard count > 0, let p = sqlite3_column_blob(stmt, column) else { return [] }
    return [UInt8](UnsafeRawBufferPointer(start: p, count: count))
  }

  /// True if the column holds exactly `bytes`.
  func equals(_ column: Int32, _ bytes: [UInt8]) -> Bool {
    let count = Int(sqlite3_column_bytes(stmt, column))
    guard count == bytes.count else { return false }
    guard count > 0, let p = sqlite3_column_blob(stmt, column) else { return count == 0 }
    return bytes.withUnsafeBytes { memcmp($0.baseAddress!, p, count) == 0 }
  }
}
