import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Answers `Expect: 100-continue` (RFC 9110 §10.1.1) with an interim `100 Continue` as soon as the request head
/// arrives, so a client that waits for it before sending the body (curl does for bodies over 1 MiB) starts at
/// once instead of after its own timeout (curl's is 1 s). Hummingbird does not send it; without this, every large
/// `curl -T` upload stalled for a second first.
///
/// The expectation is then met, so the head goes on without the `Expect` field. A request whose answer is a final
/// status before the body (e.g. 413 for an upload over quota) still gets it: a client that sees the final answer
/// stops sending. Other expectations are passed on untouched (no route asks for them).
final class ExpectContinue: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = HTTPRequestPart
  typealias InboundOut = HTTPRequestPart
  typealias OutboundOut = HTTPResponsePart

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    guard case .head(var head) = unwrapInboundIn(data), let expect = head.headerFields[.expect],
      expect.lowercased() == "100-continue"
    else {
      context.fireChannelRead(data)
      return
    }
    head.headerFields[.expect] = nil
    context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
    context.fireChannelRead(wrapInboundOut(.head(head)))
  }
}
