import NIOCore

/// The mplex (`/mplex/6.7.0`) stream multiplexer as the last handler of a secured channel.
///
/// * Streams are keyed by (id, who opened it); our ids start at 1.
/// * Frames over 1 MiB, unknown flags or malformed headers close the connection. Frames for unknown
///   streams are skipped. More than `maxInboundStreams` remote streams: the new one is reset.
/// * Back-pressure: when a stream has more than `maxBufferedPerStream` unread bytes the handler stops
///   reading from the socket until the consumer catches up (mplex itself has no flow control).
final class MplexHandler: ChannelDuplexHandler, StreamMuxerCore {
  typealias InboundIn = ByteBuffer
  typealias OutboundIn = ByteBuffer
  typealias OutboundOut = ByteBuffer

  private struct StreamState {
    let stream: P2PStream
    var localClosed = false
    var remoteClosed = false
  }

  let muxerProtocol = MplexFrame.protocolID
  private var connectionInfo: ConnectionInfo
  private let configuration: MuxerConfiguration
  private let onInboundStream: InboundStreamHandler
  private var context: ChannelHandlerContext?
  private var streams: [MuxedStreamID: StreamState] = [:]
  private var inboundCount = 0
  private var nextStreamNumber: UInt64 = 1
  private var cumulation: ByteBuffer?
  private var congested = Set<MuxedStreamID>()
  private var pendingRead = false
  private var closed = false
  /// Writers waiting for the channel to become writable again.
  private var writabilityWaiters = WritabilityWaiters()

  init(
    connectionInfo: ConnectionInfo, configuration: MuxerConfiguration, onInboundStream: @escaping InboundStreamHandler
  ) {
    self.connectionInfo = connectionInfo
    self.configuration = configuration
    self.onInboundStream = onInboundStream
  }

  var openStreamCount: Int { streams.count }

  func handlerAdded(context: ChannelHandlerContext) { self.context = context }

  func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

  // MARK: inbound

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    var incoming = unwrapInboundIn(data)
    guard !closed else { return }
    if cumulation == nil || cumulation!.readableBytes == 0 {
      cumulation = incoming
    } else {
      cumulation!.writeBuffer(&incoming)
    }
    do {
      while cumulation != nil, let frame = try MplexFrame.decode(&cumulation!) {
        handle(frame, context: context)
        if closed { return }
      }
    } catch {
      context.fireErrorCaught(error)
      shutdown(error: .connectionClosed)
      context.close(promise: nil)
      return
    }
    if let c = cumulation {
      if c.readableBytes == 0 {
        cumulation = nil
      } else if c.readerIndex > 0 {
        var rest = context.channel.allocator.buffer(capacity: c.readableBytes)
        var copy = c
        rest.writeBuffer(&copy)
        cumulation = rest
      }
    }
  }

  private func handle(_ frame: MplexFrame, context: ChannelHandlerContext) {
    let id = MuxedStreamID(number: frame.streamID, openedLocally: !frame.flag.senderOpenedStream)
    switch frame.flag {
    case .newStream:
      guard streams[id] == nil else { return }
      guard inboundCount < configuration.maxInboundStreams else {
        writeFrame(streamID: frame.streamID, flag: .resetReceiver, data: nil, promise: nil, flush: true)
        return
      }
      let stream = makeStream(id)
      streams[id] = StreamState(stream: stream)
      inboundCount += 1
      onInboundStream(stream)
    case .messageReceiver, .messageInitiator:
      guard let state = streams[id], !state.remoteClosed else { return }
      let buffered = state.stream.inbound.deliver(frame.data)
      if buffered > configuration.maxBufferedPerStream { congested.insert(id) }
    case .closeReceiver, .closeInitiator:
      guard var state = streams[id] else { return }
      state.remoteClosed = true
      state.stream.inbound.finish()
      if state.localClosed { remove(id) } else { streams[id] = state }
    case .resetReceiver, .resetInitiator:
      guard let state = streams[id] else { return }
      state.stream.inbound.fail(.reset)
      remove(id)
    }
  }

  private func makeStream(_ id: MuxedStreamID) -> P2PStream {
    P2PStream(
      id: id, connection: connectionInfo, inbound: StreamInbound(),
      muxer: MuxerRef(core: self, eventLoop: context!.eventLoop))
  }

  private func remove(_ id: MuxedStreamID) {
    guard streams.removeValue(forKey: id) != nil else { return }
    if !id.openedLocally { inboundCount -= 1 }
    if congested.remove(id) != nil { resumeIfPossible() }
  }

  func channelInactive(context: ChannelHandlerContext) {
    shutdown(error: .connectionClosed)
    context.fireChannelInactive()
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    context.fireErrorCaught(error)
  }

  private func shutdown(error: StreamError) {
    closed = true
    writabilityWaiters.failAll(error)
    let all = streams
    streams.removeAll()
    inboundCount = 0
    // Queued data stays readable; streams the remote had not closed then end with `error`.
    for (_, s) in all { s.stream.inbound.finish(error: error) }
  }

  // MARK: read back-pressure

  func read(context: ChannelHandlerContext) {
    if congested.isEmpty {
      context.read()
    } else {
      pendingRead = true
    }
  }

  private func resumeIfPossible() {
    if congested.isEmpty && pendingRead, let context {
      pendingRead = false
      context.read()
    }
  }

  func streamConsumed(_ id: MuxedStreamID, bytes: Int) {
    guard congested.contains(id) else { return }
    if let s = streams[id], s.stream.inbound.bufferedBytes > configuration.maxBufferedPerStream / 2 { return }
    congested.remove(id)
    resumeIfPossible()
  }

  // MARK: outbound

  private func flag(for id: MuxedStreamID, _ kind: MplexFrame.Flag) -> MplexFrame.Flag {
    // Our frames for streams we opened use the even "initiator" flags.
    switch kind {
    case .messageInitiator, .messageReceiver: return id.openedLocally ? .messageInitiator : .messageReceiver
    case .closeInitiator, .closeReceiver: return id.openedLocally ? .closeInitiator : .closeReceiver
    case .resetInitiator, .resetReceiver: return id.openedLocally ? .resetInitiator : .resetReceiver
    case .newStream: return .newStream
    }
  }

  private func writeFrame(
    streamID: UInt64, flag: MplexFrame.Flag, data: ByteBuffer?, promise: EventLoopPromise<Void>?, flush: Bool
  ) {
    guard let context, !closed else {
      promise?.fail(StreamError.connectionClosed)
      return
    }
    let length = data?.readableBytes ?? 0
    if length <= 65536 {
      var out = context.channel.allocator.buffer(capacity: length + 20)
      MplexFrame.writeHeader(streamID: streamID, flag: flag, length: length, into: &out)
      if var d = data { out.writeBuffer(&d) }
      context.write(wrapOutboundOut(out), promise: promise)
    } else {
      var header = context.channel.allocator.buffer(capacity: 20)
      MplexFrame.writeHeader(streamID: streamID, flag: flag, length: length, into: &header)
      context.write(wrapOutboundOut(header), promise: nil)
      context.write(wrapOutboundOut(data!), promise: promise)
    }
    if flush { context.flush() }
  }

  func streamWrite(_ id: MuxedStreamID, _ data: ByteBuffer, promise: EventLoopPromise<Void>) {
    guard let state = streams[id] else {
      promise.fail(closed ? StreamError.connectionClosed : StreamError.closed)
      return
    }
    guard !state.localClosed else {
      promise.fail(StreamError.closed)
      return
    }
    var rest = data
    let f = flag(for: id, .messageInitiator)
    while rest.readableBytes > MplexFrame.writeChunkSize {
      let chunk = rest.readSlice(length: MplexFrame.writeChunkSize)!
      writeFrame(streamID: id.number, flag: f, data: chunk, promise: nil, flush: false)
    }
    writeFrame(streamID: id.number, flag: f, data: rest, promise: nil, flush: true)
    // Back-pressure by channel writability: the writer may continue while the socket queue is below
    // its high watermark, and waits otherwise.
    completeWhenWritable(promise)
  }

  private func completeWhenWritable(_ promise: EventLoopPromise<Void>) {
    writabilityWaiters.complete(promise, channel: context?.channel, closed: closed)
  }

  func channelWritabilityChanged(context: ChannelHandlerContext) {
    if context.channel.isWritable { writabilityWaiters.channelBecameWritable() }
    context.fireChannelWritabilityChanged()
  }

  func streamCloseWrite(_ id: MuxedStreamID, promise: EventLoopPromise<Void>) {
    guard var state = streams[id] else {
      promise.succeed(())
      return
    }
    guard !state.localClosed else {
      promise.succeed(())
      return
    }
    state.localClosed = true
    writeFrame(streamID: id.number, flag: flag(for: id, .closeInitiator), data: nil, promise: promise, flush: true)
    if state.remoteClosed { remove(id) } else { streams[id] = state }
  }

  func streamReset(_ id: MuxedStreamID) {
    guard let state = streams[id] else { return }
    writeFrame(streamID: id.number, flag: flag(for: id, .resetInitiator), data: nil, promise: nil, flush: true)
    state.stream.inbound.fail(.closed)
    remove(id)
  }

  func openStream(promise: EventLoopPromise<P2PStream>) {
    guard context != nil, !closed else {
      promise.fail(StreamError.connectionClosed)
      return
    }
    guard streams.count - inboundCount < configuration.maxOutboundStreams else {
      promise.fail(StreamError.tooManyStreams)
      return
    }
    let id = MuxedStreamID(number: nextStreamNumber, openedLocally: true)
    nextStreamNumber += 1
    let stream = makeStream(id)
    streams[id] = StreamState(stream: stream)
    var name = ByteBuffer()
    name.writeString(String(id.number))
    writeFrame(streamID: id.number, flag: .newStream, data: name, promise: nil, flush: true)
    promise.succeed(stream)
  }

  func closeConnection(promise: EventLoopPromise<Void>?) {
    guard let context else {
      promise?.succeed(())
      return
    }
    context.close(promise: promise)
  }
}
