import Foundation
import GRDB
import GRDBSQLite

/// A statement prepared straight on the writer's SQLite connection, for the per-row loops of the upload path: binds
/// borrowed bytes without copying them into `Data`/`DatabaseValue` arrays and steps without GRDB's per-execution
/// bookkeeping, which cost more CPU than SQLite's own work on a big commit. Use it only inside the writer closure
/// (and transaction) that made it; it is finalized when released.
final class RawStatement {
  private let connection: OpaquePointer
  private let stmt: OpaquePointer

  /// Prepares `sql` on `db`'s connection.
  /// - Throws: `StoreError.io` when SQLite refuses the statement.
  init(_ db: Database, _ sql: String) throws(StoreError) {
    guard let connection = db.sqliteConnection else { throw .invalidArgument("the repo database is closed") }
    var stmt: OpaquePointer?
    guard sqlite3_prepare_v2(connection, sql, -1, &stmt, nil) == SQLITE_OK, let stmt else {
      throw .io("cannot prepare \(sql): \(String(cString: sqlite3_errmsg(connection)))")
    }
    self.connection = connection
    self.stmt = stmt
  }

  deinit { sqlite3_finalize(stmt) }

  /// Binds parameter `index` (1-based) to `value`.
  func bind(_ index: Int32, _ value: Int64) {
    _ = sqlite3_bind_int64(stmt, index, value)
  }

  /// Binds parameter `index` (1-based) to the bytes of `blob`, which must stay valid and unchanged until the next
  /// `run()` returns (SQLite reads them in place).
  func bind(_ index: Int32, _ blob: UnsafeRawBufferPointer) {
    _ = sqlite3_bind_blob(stmt, index, blob.baseAddress, Int32(blob.count), nil)
  }

  /// Binds parameter `index` (1-based) to `value`, or NULL.
  func bind(_ index: Int32, _ value: Int64?) {
    if let value { _ = sqlite3_bind_int64(stmt, index, value) } else { _ = sqlite3_bind_null(stmt, index) }
  }

  /// Binds parameter `index` (1-based) to a copy of `bytes` (SQLite keeps its own), or NULL.
  func bind(_ index: Int32, copying bytes: [UInt8]?) {
    guard let bytes else {
      _ = sqlite3_bind_null(stmt, index)
      return
    }
    bytes.withUnsafeBytes { raw in
      _ = sqlite3_bind_blob(
        stmt, index, raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(raw.count),
        unsafeBitCast(-1, to: sqlite3_destructor_type.self))
    }
  }

  /// Steps a query once with the current bindings; `read` sees its first row (nil when there is none), then the
  /// statement is reset.
  /// - Throws: `StoreError.io` with SQLite's message.
  func query<T>(_ read: (RawRow?) -> T) throws(StoreError) -> T {
    defer { sqlite3_reset(stmt) }
    switch sqlite3_step(stmt) {
    case SQLITE_ROW: return read(RawRow(stmt: stmt))
    case SQLITE_DONE: return read(nil)
    default: throw .io("repo database read failed: \(String(cString: sqlite3_errmsg(connection)))")
    }
  }

  /// Binds parameter `index` (1-based) to the bytes of `blob` (read in place, for this call only) and steps the
  /// query once like `query(_:)`.
  /// - Throws: `StoreError.io` with SQLite's message.
  func query<T>(binding index: Int32, _ blob: Data, _ read: (RawRow?) -> T) throws(StoreError) -> T {
    try blob.withUnsafeBytes { bytes in
      bind(index, bytes)
      return Result { () throws(StoreError) in try query(read) }
    }.get()
  }

  /// Binds parameter `index` (1-based) to the bytes of `blob` (read in place, for this call only) and runs the
  /// statement like `run()`.
  @discardableResult
  func run(binding index: Int32, _ blob: Data) throws(StoreError) -> Int {
    try blob.withUnsafeBytes { bytes in
      bind(index, bytes)
      return Result { () throws(StoreError) in try run() }
    }.get()
  }

  /// Runs a statement that returns no rows with the current bindings; returns the number of rows it changed.
  /// - Throws: `StoreError.io` with SQLite's message (the caller's transaction must roll back).
  @discardableResult
  func run() throws(StoreError) -> Int {
    defer { sqlite3_reset(stmt) }
    guard sqlite3_step(stmt) == SQLITE_DONE else {
      throw .io("repo database write failed: \(String(cString: sqlite3_errmsg(connection)))")
    }
    return Int(sqlite3_changes(connection))
  }
}
