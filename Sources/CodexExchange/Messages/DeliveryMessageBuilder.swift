import CodexFormats
import LibP2P
import Multiformats
import NIOCore

/// A framed message, `varint(length) ‖ Message`, written straight into one `ByteBuffer`: byte-identical to
/// `MessageFraming.frame`, with each block's bytes copied once, from wherever they are (a `Block`, or a store's read
/// buffer lent by `LendingReads`), and no `Block`, `BlockDelivery` or decoded proof made for them.
public struct DeliveryMessageBuilder {
  /// Room kept in front of the body for its length varint (a body of up to 2^35 bytes; `Message.maxSize` is less).
  static let lengthRoom = 5
  /// The fields around the deliveries of a message that carries nothing else (see `Message.writeHead/writeTail`).
  static let plain = fields(around: Message())

  private var buffer: ByteBuffer
  private let tail: [UInt8]
  /// Deliveries appended.
  public private(set) var count = 0
  /// Block bytes appended.
  public private(set) var dataBytes = 0

  /// A message of deliveries only.
  /// - Parameter capacity: room to allocate at once for the deliveries (more is allocated as needed).
  public init(allocator: ByteBufferAllocator = ByteBufferAllocator(), capacity: Int = 0) {
    self.init(fields: Self.plain, allocator: allocator, capacity: capacity)
  }

  /// A message with `message`'s want-list, presences and other fields around the deliveries appended (its own
  /// payload is not included).
  public init(around message: Message, allocator: ByteBufferAllocator = ByteBufferAllocator(), capacity: Int = 0) {
    self.init(fields: Self.fields(around: message), allocator: allocator, capacity: capacity)
  }

  private init(fields: (head: [UInt8], tail: [UInt8]), allocator: ByteBufferAllocator, capacity: Int) {
    tail = fields.tail
    buffer = allocator.buffer(capacity: Self.lengthRoom + fields.head.count + capacity + tail.count)
    buffer.writeRepeatingByte(0, count: Self.lengthRoom)
    buffer.writeBytes(fields.head)
  }

  private static func fields(around message: Message) -> (head: [UInt8], tail: [UInt8]) {
    var head = ProtobufWriter()
    message.writeHead(to: &head)
    var tail = ProtobufWriter()
    message.writeTail(to: &tail)
    return (head.bytes, tail.bytes)
  }

  /// At most the bytes `append` adds for a delivery of `dataCount` bytes whose CID, address tree CID and proof
  /// encoding have these lengths (to reserve room before appending).
  public static func sizeBound(dataCount: Int, cidCount: Int, treeCidCount: Int, proofCount: Int) -> Int {
    dataCount + cidCount + treeCidCount + proofCount + 64
  }

  /// At most the bytes `append(_:)` adds for `delivery`.
  public static func sizeBound(of delivery: BlockDelivery) -> Int {
    sizeBound(
      dataCount: delivery.block.data.count, cidCount: delivery.block.cid.bytes.count,
      treeCidCount: delivery.address.discoveryCid.bytes.count,
      proofCount: delivery.proof.map { 33 + 36 * $0.path.count } ?? 0)  // three varint fields, `{1: node}` per entry
  }

  /// Makes room for `bytes` more (and the tail), so appending that much does not grow the buffer again.
  public mutating func reserve(_ bytes: Int) {
    buffer.reserveCapacity(minimumWritableBytes: bytes + tail.count)
  }

  /// Appends `delivery`, as `Message.encoded` writes it.
  public mutating func append(_ delivery: BlockDelivery) {
    let proof = delivery.address.isLeaf ? delivery.proof?.encoded : nil
    delivery.block.data.withUnsafeBytes { data in
      append(cid: delivery.block.cid, data: data, address: delivery.address, proof: proof)
    }
  }

  /// Appends the delivery of block `cid` whose bytes are `data` (copied) for `address`, with `proof` (a canonical
  /// `CodexProof` encoding; written only for a leaf address), as `Message.encoded` writes a `BlockDelivery`.
  public mutating func append(cid: Cid, data: UnsafeRawBufferPointer, address: BlockAddress, proof: [UInt8]?) {
    var a = ProtobufWriter()
    address.write(to: &a)
    let proof = address.isLeaf ? proof : nil
    func field(_ n: Int) -> Int { 1 + Varint.encodedLength(UInt64(n)) + n }
    let inner = field(cid.bytes.count) + field(data.count) + field(a.bytes.count) + (proof.map { field($0.count) } ?? 0)
    buffer.reserveCapacity(minimumWritableBytes: 1 + Varint.encodedLength(UInt64(inner)) + inner + tail.count)
    buffer.writeInteger(UInt8(3 << 3 | 2))
    buffer.writeUVarint(UInt64(inner))
    buffer.writeInteger(UInt8(1 << 3 | 2))
    buffer.writeUVarint(UInt64(cid.bytes.count))
    buffer.writeBytes(cid.bytes)
    buffer.writeInteger(UInt8(2 << 3 | 2))
    buffer.writeUVarint(UInt64(data.count))
    buffer.writeBytes(data)
    buffer.writeInteger(UInt8(3 << 3 | 2))
    buffer.writeUVarint(UInt64(a.bytes.count))
    buffer.writeBytes(a.bytes)
    if let proof {
      buffer.writeInteger(UInt8(4 << 3 | 2))
      buffer.writeUVarint(UInt64(proof.count))
      buffer.writeBytes(proof)
    }
    count += 1
    dataBytes += data.count
  }

  /// The framed message. The builder is not to be used afterwards.
  public mutating func finish() -> ByteBuffer {
    buffer.writeBytes(tail)
    let body = buffer.writerIndex - Self.lengthRoom
    let prefix = Varint.encode(UInt64(body))
    let start = Self.lengthRoom - prefix.count
    buffer.setBytes(prefix, at: start)
    buffer.moveReaderIndex(to: start)
    return buffer
  }
}
