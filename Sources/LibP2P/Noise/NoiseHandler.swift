import Crypto
import Foundation
import NIOCore

/// The outcome of a completed libp2p Noise handshake.
struct NoiseHandshakeResult {
  /// The authenticated identity of the remote.
  var remotePeer: PeerID
  /// The remote identity public key.
  var remoteKey: PublicKey
}

/// Runs the libp2p Noise XX handshake on a channel and then encrypts/decrypts every byte.
///
/// Wire format: `u16 big-endian length ‖ payload` frames. During the handshake the payload is a Noise
/// message; afterwards each frame is one ChaCha20-Poly1305 ciphertext of at most 65519 plaintext bytes.
/// Plaintext written before the handshake completes is queued and sent right after it.
///
/// On success `onComplete` runs on the event loop (it installs the next handlers after this one); any
/// failure (bad frame, bad signature, wrong peer, timeout, early close) calls `onFailure` once and closes
/// the channel.
final class NoiseHandler: ChannelDuplexHandler, RemovableChannelHandler {
  typealias InboundIn = ByteBuffer
  typealias InboundOut = ByteBuffer
  typealias OutboundIn = ByteBuffer
  typealias OutboundOut = ByteBuffer

  /// Largest plaintext per transport frame: 65535 − 16-byte tag.
  static let maxPlaintextPerFrame = 65535 - 16

  private enum State {
    case handshaking(NoiseXXHandshake)
    case transport(send: NoiseTransportCipher, receive: NoiseTransportCipher)
    case failed
  }

  private var state: State
  private let identity: PrivateKey
  private let expectedPeer: PeerID?
  private let timeout: TimeAmount
  private var timeoutTask: Scheduled<Void>?
  /// The start of a frame the last read did not complete (header included); empty when none. Only these
  /// bytes are copied: whole frames are decrypted straight out of the socket's buffer.
  private var partial = ByteBuffer()
  /// Plaintext buffers, reused once the streams released the data they carried.
  private var plaintextBuffers = BufferRecycler(count: 2)
  /// Ciphertext buffers, reused once the socket wrote them.
  private var ciphertextBuffers = BufferRecycler(count: 4)
  /// Plaintext written since the last flush; sealed into as few full-size frames as possible at the flush.
  private var pendingPlaintext: [ByteBuffer] = []
  private var pendingBytes = 0
  private var pendingPromise: EventLoopPromise<Void>?
  /// Pending plaintext is sealed early once this much accumulated without a flush.
  static let maxPendingBytes = 1 << 20
  private var queuedWrites: [(ByteBuffer, EventLoopPromise<Void>?)] = []
  private var flushQueued = false
  private var started = false
  private var finished = false
  private let onComplete: (NoiseHandshakeResult, ChannelHandlerContext) throws -> Void
  private let onFailure: (any Error) -> Void

  init(
    isInitiator: Bool, identity: PrivateKey, expectedPeer: PeerID?, timeout: TimeAmount = .minutes(1),
    staticKey: Curve25519.KeyAgreement.PrivateKey = .init(),
    onComplete: @escaping (NoiseHandshakeResult, ChannelHandlerContext) throws -> Void,
    onFailure: @escaping (any Error) -> Void
  ) {
    self.state = .handshaking(NoiseXXHandshake(role: isInitiator ? .initiator : .responder, staticKey: staticKey))
    self.identity = identity
    self.expectedPeer = expectedPeer
    self.timeout = timeout
    self.onComplete = onComplete
    self.onFailure = onFailure
  }

  func handlerAdded(context: ChannelHandlerContext) {
    let loop = context.eventLoop.assumeIsolated()
    timeoutTask = loop.scheduleTask(in: timeout) { [self] in
      self.fail(context: context, NoiseError.handshakeTimeout)
    }
    if context.channel.isActive { start(context: context) }
  }

  func handlerRemoved(context: ChannelHandlerContext) {
    timeoutTask?.cancel()
  }

  func channelActive(context: ChannelHandlerContext) {
    start(context: context)
    context.fireChannelActive()
  }

  private func start(context: ChannelHandlerContext) {
    guard !started else { return }
    started = true
    guard case .handshaking(var hs) = state, hs.role == .initiator else { return }
    do {
      let message = try hs.writeMessage(payload: [])
      state = .handshaking(hs)
      writeFrame(context: context, message)
      context.flush()
    } catch {
      fail(context: context, error)
    }
  }

  private func writeFrame(context: ChannelHandlerContext, _ bytes: [UInt8]) {
    var out = context.channel.allocator.buffer(capacity: bytes.count + 2)
    out.writeInteger(UInt16(bytes.count))
    out.writeBytes(bytes)
    context.write(wrapOutboundOut(out), promise: nil)
  }

  private func localPayload(_ hs: NoiseXXHandshake) throws -> [UInt8] {
    try NoiseHandshakePayload(signing: hs.localStaticPublicKey, with: identity).encoded
  }

  // MARK: inbound

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    var incoming = unwrapInboundIn(data)
    if case .failed = state { return }
    do {
      try processInbound(context: context, &incoming)
    } catch {
      fail(context: context, error)
    }
  }

  /// Takes one whole frame's payload off the front of `buffer`, or returns nil (nothing consumed).
  private static func takeFrame(_ buffer: inout ByteBuffer) -> ByteBuffer? {
    guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self),
      buffer.readableBytes >= 2 + Int(length)
    else { return nil }
    buffer.moveReaderIndex(forwardBy: 2)
    return buffer.readSlice(length: Int(length))
  }

  private static func hasFrame(_ buffer: ByteBuffer) -> Bool {
    guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) else { return false }
    return buffer.readableBytes >= 2 + Int(length)
  }

  /// Moves bytes from `incoming` into ``partial`` until its frame is complete; returns that frame's payload
  /// (then ``partial`` is empty again), or nil when `incoming` ran out first.
  private func completePartial(_ incoming: inout ByteBuffer) -> ByteBuffer? {
    guard partial.readableBytes > 0 else { return nil }
    if partial.readableBytes < 2 {
      var head = incoming.readSlice(length: min(2 - partial.readableBytes, incoming.readableBytes))!
      partial.writeBuffer(&head)
    }
    if let length = partial.getInteger(at: partial.readerIndex, as: UInt16.self) {
      let missing = 2 + Int(length) - partial.readableBytes
      var body = incoming.readSlice(length: min(missing, incoming.readableBytes))!
      partial.writeBuffer(&body)
    }
    return Self.takeFrame(&partial)
  }

  private func processInbound(context: ChannelHandlerContext, _ incoming: inout ByteBuffer) throws {
    var completed = completePartial(&incoming)
    while case .handshaking(var hs) = state {
      guard let frame = completed ?? Self.takeFrame(&incoming) else { break }
      completed = nil
      let payloadBytes = try hs.readMessage(Array(frame.readableBytesView))
      var result: NoiseHandshakeResult?
      // Message 1 carries no identity; messages 2 (read by the initiator) and 3 (by the responder) do.
      if hs.messageIndex >= 2 {
        result = try verify(payloadBytes, hs: hs)
      }
      if hs.isMyTurnToWrite {
        let reply = try hs.writeMessage(payload: try localPayload(hs))
        writeFrame(context: context, reply)
        context.flush()
      }
      state = .handshaking(hs)
      if hs.isComplete {
        let (send, receive) = try hs.transportCiphers()
        state = .transport(send: send, receive: receive)
        guard let result else { throw NoiseError.invalidState("no remote identity after handshake") }
        try complete(context: context, result: result)
      }
    }
    if case .transport(_, let receive) = state {
      let available = (completed?.readableBytes ?? 0) + incoming.readableBytes
      if completed != nil || Self.hasFrame(incoming) {
        // Every complete frame of this read is opened into one plaintext buffer.
        let (plaintext, _) = try plaintextBuffers.withBuffer(
          capacity: available, allocator: context.channel.allocator
        ) { (out: inout ByteBuffer) throws -> Void in
          if let frame = completed { try Self.open(frame, with: receive, into: &out) }
          while let frame = Self.takeFrame(&incoming) { try Self.open(frame, with: receive, into: &out) }
        }
        if plaintext.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(plaintext)) }
      }
    }
    completed = nil
    if case .failed = state { return }
    if incoming.readableBytes > 0 {
      if partial.readableBytes == 0 { partial.clear() }
      partial.writeBuffer(&incoming)
    }
  }

  /// Decrypts one transport frame and appends its plaintext to `out`.
  private static func open(_ frame: ByteBuffer, with cipher: NoiseTransportCipher, into out: inout ByteBuffer)
    throws(NoiseError)
  {
    let plainLength = frame.readableBytes - NoiseTransportCipher.tagLength
    guard plainLength >= 0 else {
      throw NoiseError.truncatedMessage(expected: NoiseTransportCipher.tagLength, got: frame.readableBytes)
    }
    try frame.withUnsafeReadableBytes { input throws(NoiseError) in
      _ = try out.writeWithUnsafeMutableBytes(minimumWritableBytes: plainLength) { output throws(NoiseError) in
        try cipher.open(input, into: output)
      }
    }
  }

  private func verify(_ payloadBytes: [UInt8], hs: NoiseXXHandshake) throws -> NoiseHandshakeResult {
    guard let remoteStatic = hs.remoteStatic else { throw NoiseError.invalidState("no remote static key") }
    let payload = try NoiseHandshakePayload(decoding: payloadBytes)
    let (key, peer) = try payload.verify(staticKey: Array(remoteStatic.rawRepresentation))
    if let expectedPeer, expectedPeer != peer {
      throw NoiseError.peerIDMismatch(expected: expectedPeer.description, actual: peer.description)
    }
    return NoiseHandshakeResult(remotePeer: peer, remoteKey: key)
  }

  private func complete(context: ChannelHandlerContext, result: NoiseHandshakeResult) throws {
    timeoutTask?.cancel()
    timeoutTask = nil
    finished = true
    try onComplete(result, context)
    let writes = queuedWrites
    queuedWrites = []
    for (buffer, promise) in writes { enqueue(context: context, buffer, promise: promise) }
    if flushQueued || !writes.isEmpty {
      sealPending(context: context)
      context.flush()
    }
  }

  private func fail(context: ChannelHandlerContext, _ error: any Error) {
    if case .failed = state { return }
    state = .failed
    timeoutTask?.cancel()
    partial = ByteBuffer()
    let writes = queuedWrites
    queuedWrites = []
    for (_, promise) in writes { promise?.fail(error) }
    failPending(error)
    if !finished {
      finished = true
      onFailure(error)
    }
    context.fireErrorCaught(error)
    context.close(promise: nil)
  }

  func channelInactive(context: ChannelHandlerContext) {
    if !finished {
      finished = true
      state = .failed
      timeoutTask?.cancel()
      onFailure(NoiseError.truncatedMessage(expected: 1, got: 0))
    }
    let writes = queuedWrites
    queuedWrites = []
    for (_, promise) in writes { promise?.fail(ChannelError.ioOnClosedChannel) }
    failPending(ChannelError.ioOnClosedChannel)
    context.fireChannelInactive()
  }

  // MARK: outbound

  func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
    let buffer = unwrapOutboundIn(data)
    switch state {
    case .handshaking:
      queuedWrites.append((buffer, promise))
    case .transport:
      enqueue(context: context, buffer, promise: promise)
    case .failed:
      promise?.fail(ChannelError.ioOnClosedChannel)
    }
  }

  func flush(context: ChannelHandlerContext) {
    if case .handshaking = state {
      flushQueued = true
      return
    }
    sealPending(context: context)
    context.flush()
  }

  /// Adds plaintext to the data sealed at the next flush.
  private func enqueue(context: ChannelHandlerContext, _ buffer: ByteBuffer, promise: EventLoopPromise<Void>?) {
    if let promise {
      if let pending = pendingPromise {
        pending.futureResult.cascade(to: promise)
      } else {
        pendingPromise = promise
      }
    }
    if buffer.readableBytes > 0 {
      pendingPlaintext.append(buffer)
      pendingBytes += buffer.readableBytes
    }
    if pendingBytes >= Self.maxPendingBytes { sealPending(context: context) }
  }

  private func failPending(_ error: any Error) {
    pendingPlaintext = []
    pendingBytes = 0
    let promise = pendingPromise
    pendingPromise = nil
    promise?.fail(error)
  }

  /// Seals all pending plaintext into full-size transport frames (the last one shorter) in one buffer and
  /// writes it; small writes (muxer headers) share frames with the data around them.
  private func sealPending(context: ChannelHandlerContext) {
    guard case .transport(let send, _) = state else { return }
    let promise = pendingPromise
    pendingPromise = nil
    let total = pendingBytes
    guard total > 0 else {
      if let promise { context.write(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)), promise: promise) }
      return
    }
    let pieces = pendingPlaintext
    pendingPlaintext.removeAll(keepingCapacity: true)
    pendingBytes = 0
    let maxPlain = Self.maxPlaintextPerFrame
    let tagLength = NoiseTransportCipher.tagLength
    let frames = (total + maxPlain - 1) / maxPlain
    do {
      let (out, _) = try ciphertextBuffers.withBuffer(
        capacity: total + frames * (2 + tagLength), allocator: context.channel.allocator
      ) { (out: inout ByteBuffer) throws -> Void in
        var left = total
        var frameLeft = 0
        for piece in pieces {
          try piece.withUnsafeReadableBytes { raw in
            var offset = 0
            while offset < raw.count {
              if frameLeft == 0 {
                frameLeft = min(maxPlain, left)
                out.writeInteger(UInt16(frameLeft + tagLength))
                try send.sealBegin()
              }
              let n = min(frameLeft, raw.count - offset)
              try out.writeWithUnsafeMutableBytes(minimumWritableBytes: n) { output in
                try send.sealUpdate(UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + n)]), into: output)
                return n
              }
              offset += n
              frameLeft -= n
              left -= n
              if frameLeft == 0 {
                try out.writeWithUnsafeMutableBytes(minimumWritableBytes: tagLength) { output in
                  try send.sealFinish(tag: output)
                  return tagLength
                }
              }
            }
          }
        }
      }
      context.write(wrapOutboundOut(out), promise: promise)
    } catch {
      promise?.fail(error)
      fail(context: context, error)
    }
  }
}
