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
    // Everything but the block bytes goes through ProtobufWriter; sizes are known before anything is copied.
    var head = ProtobufWriter()
    var wl = ProtobufWriter()
    message.wantList.write(to: &wl)
    head.write(1, message: wl)
    struct Part {
      var prefix: [UInt8]  // field 3 key and length, cid field, data key and length
      var data: [UInt8]
      var suffix: [UInt8]  // address and proof fields
    }
    var parts: [Part] = []
    parts.reserveCapacity(message.payload.count)
    var total = head.bytes.count
    for d in message.payload {
      var pre = ProtobufWriter()
      pre.write(1, bytes: d.block.cid.bytes)
      var post = ProtobufWriter()
      var a = ProtobufWriter()
      d.address.write(to: &a)
      post.write(3, message: a)
      if d.address.isLeaf, let proof = d.proof { post.write(4, bytes: proof.encoded) }
      var dataKey: [UInt8] = []
      Varint.append(2 << 3 | 2, to: &dataKey)
      Varint.append(UInt64(d.block.data.count), to: &dataKey)
      let innerLength = pre.bytes.count + dataKey.count + d.block.data.count + post.bytes.count
      var prefix: [UInt8] = []
      Varint.append(3 << 3 | 2, to: &prefix)
      Varint.append(UInt64(innerLength), to: &prefix)
      prefix += pre.bytes
      prefix += dataKey
      parts.append(Part(prefix: prefix, data: d.block.data, suffix: post.bytes))
      total += prefix.count + d.block.data.count + post.bytes.count
    }
    var tail = ProtobufWriter()
    for p in message.blockPresences {
      var inner = ProtobufWriter()
      p.write(to: &inner)
      tail.write(4, message: inner)
    }
    tail.write(5, varint: message.pendingBytes)
    var acc = ProtobufWriter()
    acc.write(1, bytes: message.account.address)
    tail.write(6, message: acc)
    var pay = ProtobufWriter()
    pay.write(1, bytes: message.payment.update)
    tail.write(7, message: pay)
    total += tail.bytes.count
    var length: [UInt8] = []
    Varint.append(UInt64(total), to: &length)
    var out = allocator.buffer(capacity: length.count + total)
    out.writeBytes(length)
    out.writeBytes(head.bytes)
    for p in parts {
      out.writeBytes(p.prefix)
      out.writeBytes(p.data)
      out.writeBytes(p.suffix)
    }
    out.writeBytes(tail.bytes)
    return out
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
