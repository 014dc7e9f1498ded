import NIOCore

/// Negotiates one protocol with multistream-select 1.0 on a channel (security and muxer selection),
/// then hands over: it calls `onSelected` on the event loop (which installs the next handlers after this
/// one), forwards any bytes that arrived after the negotiation, and removes itself.
///
/// As dialer it pipelines the header with the first proposal and moves to the next proposal on `na`. As
/// listener it answers `ls` with its protocol list and `na` to anything it does not support.
final class MultistreamNegotiationHandler: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = ByteBuffer
  typealias InboundOut = ByteBuffer
  typealias OutboundOut = ByteBuffer

  enum Role {
    case dialer(proposals: [String])
    case listener(supported: [String])
  }

  private enum State {
    case idle
    case awaitingHeader
    case awaitingResponse(index: Int)
    case awaitingProposal(count: Int)
    case done
    case failed
  }

  private let role: Role
  private var state: State = .idle
  private var cumulation: ByteBuffer?
  private let onSelected: (String, ChannelHandlerContext) throws -> Void
  private let onFailure: (any Error) -> Void
  static let maxProposals = 64

  /// - Parameters:
  ///   - onSelected: installs the handlers for the selected protocol after this handler.
  ///   - onFailure: told once when the negotiation fails (the channel is closed afterwards).
  init(
    role: Role, onSelected: @escaping (String, ChannelHandlerContext) throws -> Void,
    onFailure: @escaping (any Error) -> Void
  ) {
    self.role = role
    self.onSelected = onSelected
    self.onFailure = onFailure
  }

  func handlerAdded(context: ChannelHandlerContext) {
    if context.channel.isActive { start(context: context) }
  }

  func channelActive(context: ChannelHandlerContext) {
    start(context: context)
    context.fireChannelActive()
  }

  private func start(context: ChannelHandlerContext) {
    guard case .idle = state else { return }
    var out = context.channel.allocator.buffer(capacity: 64)
    MultistreamCodec.encode(MultistreamCodec.header, into: &out)
    switch role {
    case .dialer(let proposals):
      guard let first = proposals.first else {
        fail(context: context, MultistreamError.noProtocolAccepted([]))
        return
      }
      MultistreamCodec.encode(first, into: &out)
    case .listener:
      break
    }
    state = .awaitingHeader
    context.writeAndFlush(wrapOutboundOut(out), promise: nil)
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    var incoming = unwrapInboundIn(data)
    switch state {
    case .done:
      context.fireChannelRead(data)
      return
    case .failed:
      return
    default:
      break
    }
    if cumulation == nil {
      cumulation = incoming
    } else {
      cumulation!.writeBuffer(&incoming)
    }
    do {
      try process(context: context)
    } catch {
      fail(context: context, error)
    }
  }

  private func process(context: ChannelHandlerContext) throws {
    while case .some = cumulation, let message = try MultistreamCodec.decode(&cumulation!) {
      switch state {
      case .awaitingHeader:
        guard message == MultistreamCodec.header else { throw MultistreamError.unexpectedHeader(message) }
        switch role {
        case .dialer: state = .awaitingResponse(index: 0)
        case .listener: state = .awaitingProposal(count: 0)
        }
      case .awaitingResponse(let index):
        guard case .dialer(let proposals) = role else { return }
        if message == proposals[index] {
          try finish(context: context, selected: message)
          return
        } else if message == MultistreamCodec.na {
          let next = index + 1
          guard next < proposals.count else { throw MultistreamError.noProtocolAccepted(proposals) }
          state = .awaitingResponse(index: next)
          context.writeAndFlush(wrapOutboundOut(MultistreamCodec.encode(proposals[next])), promise: nil)
        } else {
          throw MultistreamError.unexpectedResponse(message)
        }
      case .awaitingProposal(let count):
        guard case .listener(let supported) = role else { return }
        guard count < Self.maxProposals else { throw MultistreamError.tooManyProposals }
        state = .awaitingProposal(count: count + 1)
        if supported.contains(message) {
          context.writeAndFlush(wrapOutboundOut(MultistreamCodec.encode(message)), promise: nil)
          try finish(context: context, selected: message)
          return
        } else if message == MultistreamCodec.ls {
          var out = context.channel.allocator.buffer(capacity: 256)
          MultistreamCodec.encodeList(supported, into: &out)
          context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        } else {
          context.writeAndFlush(wrapOutboundOut(MultistreamCodec.encode(MultistreamCodec.na)), promise: nil)
        }
      case .idle, .done, .failed:
        return
      }
    }
  }

  private func finish(context: ChannelHandlerContext, selected: String) throws {
    state = .done
    try onSelected(selected, context)
    if let rest = cumulation, rest.readableBytes > 0 {
      cumulation = nil
      context.fireChannelRead(wrapInboundOut(rest))
    }
    cumulation = nil
    context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
  }

  private func fail(context: ChannelHandlerContext, _ error: any Error) {
    guard !isTerminal else { return }
    state = .failed
    cumulation = nil
    onFailure(error)
    context.fireErrorCaught(error)
    context.close(promise: nil)
  }

  private var isTerminal: Bool {
    switch state {
    case .done, .failed: return true
    default: return false
    }
  }

  func channelInactive(context: ChannelHandlerContext) {
    if !isTerminal {
      state = .failed
      onFailure(MultistreamError.endOfStream)
    }
    context.fireChannelInactive()
  }
}
