import NIOCore

/// Lets the API's connections read up to `maximum` bytes per socket read (NIO's default stops at 64 KiB), so a
/// large upload body arrives in fewer, bigger parts: fewer `read` calls, window-update ACKs, pipeline passes and
/// task hand-offs per byte. The allocator is adaptive, so a small request still gets a small buffer. It passes
/// every inbound event on untouched (NIO wants a handler to be inbound or outbound).
final class ReceiveBufferSizing: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = NIOAny
  let maximum: Int

  init(maximum: Int) {
    self.maximum = maximum
  }

  func handlerAdded(context: ChannelHandlerContext) {
    let allocator = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: maximum)
    try? context.channel.syncOptions?.setOption(ChannelOptions.recvAllocator, value: allocator)
  }
}
