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
  private var cumulation: ByteBuffer?
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
    if cumulation == nil || cumulation!.readableBytes == 0 {
      cumulation = incoming
    } else {
      cumulation!.writeBuffer(&incoming)
    }
    do {
      try processInbound(context: context)
    } catch {
      fail(context: context, error)
    }
  }

  private func processInbound(context: ChannelHandlerContext) throws {
    var plaintextOut: ByteBuffer?
    defer {
      if let out = plaintextOut, out.readableBytes > 0, case .transport = state {
        context.fireChannelRead(wrapInboundOut(out))
      }
    }
    while var buffer = cumulation, let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self),
      buffer.readableBytes >= 2 + Int(length)
    {
      buffer.moveReaderIndex(forwardBy: 2)
      let frame = buffer.readSlice(length: Int(length))!
      cumulation = buffer
      switch state {
      case .handshaking(var hs):
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
      case .transport(_, let receive):
        let plainLength = frame.readableBytes - NoiseTransportCipher.tagLength
        guard plainLength >= 0 else {
          throw NoiseError.truncatedMessage(expected: NoiseTransportCipher.tagLength, got: frame.readableBytes)
        }
        if plaintextOut == nil {
          plaintextOut = context.channel.allocator.buffer(
            capacity: max(plainLength, (cumulation?.readableBytes ?? 0) + plainLength))
        }
        try frame.withUnsafeReadableBytes { input throws(NoiseError) in
          _ = try plaintextOut!.writeWithUnsafeMutableBytes(minimumWritableBytes: plainLength) {
            output throws(NoiseError) in
            try receive.open(input, into: output)
          }
        }
      case .failed:
        return
      }
    }
    if let c = cumulation, c.readableBytes == 0 {
      cumulation = nil
    } else if cumulation != nil, cumulation!.readerIndex > 65536 {
      cumulation!.discardReadBytes()
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
    for (buffer, promise) in writes { encryptAndWrite(context: context, buffer, promise: promise) }
    if flushQueued || !writes.isEmpty { context.flush() }
  }

  private func fail(context: ChannelHandlerContext, _ error: any Error) {
    if case .failed = state { return }
    state = .failed
    timeoutTask?.cancel()
    cumulation = nil
    let writes = queuedWrites
    queuedWrites = []
    for (_, promise) in writes { promise?.fail(error) }
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
    context.fireChannelInactive()
  }

  // MARK: outbound

  func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
    let buffer = unwrapOutboundIn(data)
    switch state {
    case .handshaking:
      queuedWrites.append((buffer, promise))
    case .transport:
      encryptAndWrite(context: context, buffer, promise: promise)
    case .failed:
      promise?.fail(ChannelError.ioOnClosedChannel)
    }
  }

  func flush(context: ChannelHandlerContext) {
    if case .handshaking = state {
      flushQueued = true
      return
    }
    context.flush()
  }

  private func encryptAndWrite(context: ChannelHandlerContext, _ buffer: ByteBuffer, promise: EventLoopPromise<Void>?) {
    guard case .transport(let send, _) = state else {
      promise?.fail(ChannelError.ioOnClosedChannel)
      return
    }
    let total = buffer.readableBytes
    if total == 0 {
      context.write(wrapOutboundOut(buffer), promise: promise)
      return
    }
    let maxPlain = Self.maxPlaintextPerFrame
    let frames = (total + maxPlain - 1) / maxPlain
    var out = context.channel.allocator.buffer(capacity: total + frames * 18)
    do {
      try buffer.withUnsafeReadableBytes { raw throws(NoiseError) in
        var offset = 0
        while offset < total {
          let len = min(maxPlain, total - offset)
          out.writeInteger(UInt16(len + NoiseTransportCipher.tagLength))
          try out.writeWithUnsafeMutableBytes(minimumWritableBytes: len + NoiseTransportCipher.tagLength) {
            output throws(NoiseError) in
            try send.seal(UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + len)]), into: output)
            return len + NoiseTransportCipher.tagLength
          }
          offset += len
        }
      }
    } catch {
      promise?.fail(error)
      fail(context: context, error)
      return
    }
    context.write(wrapOutboundOut(out), promise: promise)
  }
}
