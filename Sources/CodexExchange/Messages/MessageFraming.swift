import CodexFormats
import Multiformats
import NIOCore

/// `varint(length) ‖ protobuf Message` framing of block-exchange streams (`blockexc.md` §1).
public enum MessageFraming {
  /// `message` framed for the wire.
  public static func frame(_ message: Message) -> [UInt8] {
    let body = message.encoded
    var out: [UInt8] = []
    out.reserveCapacity(body.count + 5)
    Varint.append(UInt64(body.count), to: &out)
    out.append(contentsOf: body)
    return out
  }

  /// `message` framed for the wire in one buffer, byte-identical to `frame(_:)`, copying each block's bytes once
  /// (the nested protobuf writers of `Message.encoded` copy them three times).
  public static func frameBuffer(_ message: Message, allocator: ByteBufferAllocator = ByteBufferAllocator())
    -> ByteBuffer
  {
    let capacity = message.payload.reduce(0) { $0 + DeliveryMessageBuilder.sizeBound(of: $1) }
    var builder = DeliveryMessageBuilder(around: message, allocator: allocator, capacity: capacity)
    for d in message.payload { builder.append(d) }
    return builder.finish()
  }

  /// The body of `frame`, which must hold exactly one framed message (as `frameBuffer` and
  /// `DeliveryMessageBuilder` make them).
  /// - Throws: `MessageError` for a frame that does not hold exactly one message.
  public static func body(of frame: ByteBuffer) throws(MessageError) -> [UInt8] {
    var decoder = FrameDecoder()
    decoder.feed(frame.readableBytesView)
    guard let body = try decoder.nextFrame(), try decoder.nextFrame() == nil else {
      throw MessageError.malformed("a framed message must hold exactly one message")
    }
    return body
  }
}

/// Splits a byte stream into block-exchange messages. Feed bytes as they arrive; take complete messages out.
/// Holds at most one partial frame (bounded by `maxMessageSize`).
public struct FrameDecoder: Sendable {
  public let maxMessageSize: Int
  private var buffer: [UInt8] = []
  private var start = 0

  public init(maxMessageSize: Int = Message.maxSize) {
    self.maxMessageSize = maxMessageSize
  }

  /// Appends received bytes.
  public mutating func feed(_ bytes: some Sequence<UInt8>) {
    if start > 0 && start >= buffer.count / 2 {
      buffer.removeFirst(start)
      start = 0
    }
    buffer.append(contentsOf: bytes)
  }

  /// The body of the next complete frame, or nil if more bytes are needed.
  /// - Throws: `MessageError.tooLarge` for a frame over the limit, `.malformed` for a bad length prefix.
  public mutating func nextFrame() throws(MessageError) -> [UInt8]? {
    let avail = buffer[start...]
    guard !avail.isEmpty else { return nil }
    let len: UInt64
    let n: Int
    do {
      (len, n) = try Varint.decode(avail)
    } catch {
      if case .truncated = error { return nil }
      throw MessageError.malformed("bad length prefix: \(error)")
    }
    guard len <= UInt64(maxMessageSize) else { throw MessageError.tooLarge(Int(clamping: len), limit: maxMessageSize) }
    guard avail.count - n >= Int(len) else { return nil }
    let bodyStart = start + n
    let body = Array(buffer[bodyStart..<bodyStart + Int(len)])
    start = bodyStart + Int(len)
    return body
  }

  /// The next complete message, or nil if more bytes are needed.
  public mutating func nextMessage() throws(MessageError) -> Message? {
    guard let body = try nextFrame() else { return nil }
    return try Message(encoded: body)
  }
}
