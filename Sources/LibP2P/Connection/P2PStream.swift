import NIOCore
import Synchronization

/// One multiplexed libp2p stream (mplex or yamux) on a secured connection.
///
/// Contract:
/// * Reads are for a single consumer task at a time (``read()``, ``readExactly(_:)``,
///   ``readLengthPrefixed(maxLength:)`` or the ``chunks`` sequence). Inbound data is back-pressured: a
///   consumer that stops reading eventually stops the remote (yamux windows; mplex pauses the socket).
/// * Writes may come from any task; each `write` returns once the bytes are queued on the connection and
///   its outbound queue is below the high watermark (yamux: also once the stream's send window allowed
///   them out), so a writer that awaits its writes is back-pressured by the network.
/// * ``closeWrite()`` half-closes (the remote sees end-of-stream, reading continues); ``reset()`` aborts
///   both directions.
public final class P2PStream: Sendable, CustomStringConvertible {
  /// Stream number and opener.
  public let id: MuxedStreamID
  /// Facts about the connection this stream runs on.
  public let connection: ConnectionInfo
  let inbound: StreamInbound
  let muxer: MuxerRef
  private let pending = Mutex<ByteBuffer?>(nil)
  private let negotiated = Mutex<String?>(nil)

  init(id: MuxedStreamID, connection: ConnectionInfo, inbound: StreamInbound, muxer: MuxerRef) {
    self.id = id
    self.connection = connection
    self.inbound = inbound
    self.muxer = muxer
  }

  /// The application protocol negotiated with multistream-select, once known.
  public var protocolID: String? { negotiated.withLock { $0 } }

  func setProtocol(_ p: String) { negotiated.withLock { $0 = p } }

  /// The allocator to build buffers for ``write(_:)``.
  public var allocator: ByteBufferAllocator { ByteBufferAllocator() }

  public var description: String { "P2PStream(\(id), \(protocolID ?? "-"), \(connection.remotePeer))" }

  // MARK: reading

  /// The next chunk of inbound bytes, or `nil` once the remote closed its side and all data was read.
  ///
  /// - Throws: ``StreamError/reset`` when the remote reset the stream, ``StreamError/connectionClosed``
  ///   when the connection died, `CancellationError` when the task was cancelled while waiting.
  public func read() async throws -> ByteBuffer? {
    if let buffered = pending.withLock({ p -> ByteBuffer? in
      defer { p = nil }
      return p
    }), buffered.readableBytes > 0 {
      return buffered
    }
    guard let (chunk, report) = try await inbound.next() else { return nil }
    if report > 0 {
      let id = self.id
      muxer.execute { $0.streamConsumed(id, bytes: report) }
    }
    return chunk
  }

  /// Puts bytes back in front of the inbound data (used after multistream negotiation).
  func unread(_ buffer: ByteBuffer) {
    guard buffer.readableBytes > 0 else { return }
    pending.withLock { p in
      if var existing = p {
        var merged = buffer
        merged.writeBuffer(&existing)
        p = merged
      } else {
        p = buffer
      }
    }
  }

  /// Reads exactly `count` bytes.
  ///
  /// - Throws: ``StreamError/unexpectedEOF`` when the stream ends first.
  public func readExactly(_ count: Int) async throws -> ByteBuffer {
    guard count > 0 else { return ByteBuffer() }
    guard var first = try await read() else { throw StreamError.unexpectedEOF }
    if first.readableBytes >= count {
      // The common case for messages that arrived whole: a slice of the received buffer, no copy.
      let head = first.readSlice(length: count)!
      unread(first)
      return head
    }
    var out = ByteBufferAllocator().buffer(capacity: count)
    out.writeBuffer(&first)
    while out.readableBytes < count {
      guard var chunk = try await read() else { throw StreamError.unexpectedEOF }
      let need = count - out.readableBytes
      if chunk.readableBytes > need {
        var head = chunk.readSlice(length: need)!
        out.writeBuffer(&head)
        unread(chunk)
      } else {
        out.writeBuffer(&chunk)
      }
    }
    return out
  }

  /// Reads one `varint(length) ‖ bytes` message.
  ///
  /// - Returns: the message body, or `nil` when the stream ended cleanly before a new message began.
  /// - Throws: ``StreamError/messageTooLarge(_:limit:)`` when the prefix exceeds `maxLength`,
  ///   ``StreamError/unexpectedEOF`` when the stream ends inside the message.
  public func readLengthPrefixed(maxLength: Int) async throws -> ByteBuffer? {
    guard let length = try await readLengthPrefix(maxLength: maxLength) else { return nil }
    return try await readExactly(length)
  }

  /// Reads one `varint(length) ‖ bytes` message into an array, copying each received chunk once (for callers that
  /// decode from `[UInt8]`: `readLengthPrefixed` and a conversion would copy a message assembled from several
  /// chunks twice).
  ///
  /// - Parameter admit: called with the body's length once the prefix is read and before any of the body is
  ///   (and before memory is set aside for it): it may wait (e.g. for a memory budget) or throw (the read fails
  ///   with its error).
  /// - Returns: the message body, or `nil` when the stream ended cleanly before a new message began.
  /// - Throws: as ``readLengthPrefixed(maxLength:)``, or what `admit` throws.
  public func readLengthPrefixedBytes(
    maxLength: Int, admit: (Int) async throws -> Void = { _ in }
  ) async throws -> [UInt8]? {
    guard let count = try await readLengthPrefix(maxLength: maxLength) else { return nil }
    try await admit(count)
    var out: [UInt8] = []
    out.reserveCapacity(count)
    while out.count < count {
      guard var chunk = try await read() else { throw StreamError.unexpectedEOF }
      let take = min(chunk.readableBytes, count - out.count)
      chunk.withUnsafeReadableBytes { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[..<take])) }
      chunk.moveReaderIndex(forwardBy: take)
      if chunk.readableBytes > 0 { unread(chunk) }
    }
    return out
  }

  /// Reads a message's varint length prefix; nil when the stream ended cleanly before it.
  private func readLengthPrefix(maxLength: Int) async throws -> Int? {
    var header = ByteBufferAllocator().buffer(capacity: 10)
    while true {
      var probe = header
      let value: UInt64?
      do { value = try probe.readUVarint() } catch { throw StreamError.invalidVarint }
      if let value {
        guard value <= UInt64(maxLength) else {
          throw StreamError.messageTooLarge(Int(clamping: value), limit: maxLength)
        }
        if probe.readableBytes > 0 { unread(probe) }
        return Int(value)
      }
      guard header.readableBytes < 10 else { throw StreamError.invalidVarint }
      guard var chunk = try await read() else {
        if header.readableBytes == 0 { return nil }
        throw StreamError.unexpectedEOF
      }
      var one = chunk.readSlice(length: 1)!
      header.writeBuffer(&one)
      if chunk.readableBytes > 0 { unread(chunk) }
    }
  }

  /// All inbound chunks until end of stream.
  public var chunks: Chunks { Chunks(stream: self) }

  /// An `AsyncSequence` of inbound chunks; ends at the remote's close, throws on reset.
  public struct Chunks: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    let stream: P2PStream
    public struct AsyncIterator: AsyncIteratorProtocol {
      let stream: P2PStream
      public mutating func next() async throws -> ByteBuffer? { try await stream.read() }
    }
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(stream: stream) }
  }

  // MARK: writing

  /// Writes `data`; returns when it is queued and the connection's outbound queue has room (see above).
  ///
  /// - Throws: ``StreamError/closed`` after a local close or reset, ``StreamError/reset`` after a remote
  ///   reset, ``StreamError/connectionClosed`` when the connection is gone.
  public func write(_ data: ByteBuffer) async throws {
    guard data.readableBytes > 0 else { return }
    guard !muxer.isClosed else { throw StreamError.connectionClosed }
    let promise = muxer.eventLoop.makePromise(of: Void.self)
    let id = self.id
    muxer.execute(
      { $0.streamWrite(id, data, promise: promise) }, ifClosed: { promise.fail(StreamError.connectionClosed) })
    try await promise.futureResult.get()
  }

  /// Writes `bytes`; see ``write(_:)-(ByteBuffer)``.
  public func write(_ bytes: some Sequence<UInt8>) async throws {
    var b = ByteBufferAllocator().buffer(capacity: 0)
    b.writeBytes(bytes)
    try await write(b)
  }

  /// Writes `varint(length) ‖ message`.
  public func writeLengthPrefixed(_ message: ByteBuffer) async throws {
    var b = ByteBufferAllocator().buffer(capacity: message.readableBytes + 10)
    b.writeUVarint(UInt64(message.readableBytes))
    var m = message
    b.writeBuffer(&m)
    try await write(b)
  }

  /// Half-closes the stream: the remote reads end-of-stream; this side can still read.
  public func closeWrite() async throws {
    guard !muxer.isClosed else { return }  // nothing left to close
    let promise = muxer.eventLoop.makePromise(of: Void.self)
    let id = self.id
    muxer.execute({ $0.streamCloseWrite(id, promise: promise) }, ifClosed: { promise.succeed(()) })
    try await promise.futureResult.get()
  }

  /// Aborts the stream in both directions and tells the remote.
  public func reset() {
    let id = self.id
    muxer.execute { $0.streamReset(id) }
  }
}

/// Facts about a secured, multiplexed connection, shared by its streams.
public struct ConnectionInfo: Sendable, Hashable {
  /// The authenticated remote peer.
  public var remotePeer: PeerID
  /// The remote socket address, if known.
  public var remoteAddress: SocketAddress?
  /// The local socket address, if known.
  public var localAddress: SocketAddress?
  /// Whether this side dialed.
  public var isInitiator: Bool
  /// Negotiated muxer protocol id.
  public var muxer: String

  public init(
    remotePeer: PeerID, remoteAddress: SocketAddress?, localAddress: SocketAddress?, isInitiator: Bool, muxer: String
  ) {
    self.remotePeer = remotePeer
    self.remoteAddress = remoteAddress
    self.localAddress = localAddress
    self.isInitiator = isInitiator
    self.muxer = muxer
  }
}
