import NIOCore

/// The mplex (`/mplex/6.7.0`) stream multiplexer as the last handler of a secured channel.
///
/// * Streams are keyed by (id, who opened it); our ids start at 1.
/// * Frames over 1 MiB, unknown flags or malformed headers close the connection. Frames for unknown
///   streams are skipped. More than `maxInboundStreams` remote streams: the new one is reset.
/// * Back-pressure: when a stream has more than `maxBufferedPerStream` unread bytes the handler stops
///   reading from the socket until the consumer catches up (mplex itself has no flow control).
final class MplexHandler: ChannelDuplexHandler, StreamMuxerCore, ReadGatedMuxer {
  typealias InboundIn = ByteBuffer
  typealias OutboundIn = ByteBuffer
  typealias OutboundOut = ByteBuffer

  private struct StreamState {
    let stream: P2PStream
    var localClosed = false
    var remoteClosed = false
    /// Data movement for the inactivity sweep.
    var activity = StreamActivity()
  }

  let muxerProtocol = MplexFrame.protocolID
  private var connectionInfo: ConnectionInfo
  private let configuration: MuxerConfiguration
  private let onInboundStream: InboundStreamHandler
  private var context: ChannelHandlerContext?
  private var streams: [MuxedStreamID: StreamState] = [:]
  private var inboundCount = 0
  private var nextStreamNumber: UInt64 = 1
  /// Header bytes split across reads (at most 20).
  private var partialHeader = ByteBuffer()
  /// The frame whose data is still arriving: data is passed on as it comes, never accumulated.
  private var currentFrame: (streamID: UInt64, flag: MplexFrame.Flag, remaining: Int)?
  private var congested = Set<MuxedStreamID>()
  private var pendingRead = false
  /// Pauses reading while all streams together buffer too much.
  private let readGate: ConnectionReadGate
  /// Writers waiting for the channel to become writable again.
  private var writabilityWaiters = WritabilityWaiters()
  private let inactivitySweeper = InactivitySweeper()
  let liveness = MuxerLiveness()
  /// The connection is gone (set once, by `shutdown(error:)`).
  private var closed: Bool { liveness.isClosed }

  init(
    connectionInfo: ConnectionInfo, configuration: MuxerConfiguration, onInboundStream: @escaping InboundStreamHandler
  ) {
    self.connectionInfo = connectionInfo
    self.configuration = configuration
    self.onInboundStream = onInboundStream
    self.readGate = ConnectionReadGate(limit: configuration.maxBufferedPerConnection)
    readGate.muxer = self
  }

  var openStreamCount: Int { streams.count }

  var unreadBytes: Int { streams.values.reduce(0) { $0 + $1.stream.inbound.bufferedBytes } }

  func handlerAdded(context: ChannelHandlerContext) {
    self.context = context
    inactivitySweeper.start(timeout: configuration.streamInactivityTimeout, context: context) { [self] timeout, now in
      self.sweepInactiveStreams(timeout: timeout, now: now)
    }
  }

  func handlerRemoved(context: ChannelHandlerContext) {
    self.context = nil
    inactivitySweeper.stop()
    readGate.stop()
  }

  // MARK: stream inactivity

  /// Resets streams that moved no data for `timeout` (nim's mplex channel timeout).
  private func sweepInactiveStreams(timeout: TimeAmount, now: NIODeadline) {
    var expired: [MuxedStreamID] = []
    for id in streams.keys where streams[id]!.activity.sweep(now: now, timeout: timeout) { expired.append(id) }
    for id in expired {
      guard let state = streams[id] else { continue }
      writeFrame(streamID: id.number, flag: flag(for: id, .resetInitiator), data: nil, promise: nil, flush: true)
      state.stream.inbound.fail(.inactivityTimeout)
      remove(id)
    }
  }

  // MARK: inbound

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    var incoming = unwrapInboundIn(data)
    guard !closed else { return }
    do {
      while incoming.readableBytes > 0 {
        if let frame = currentFrame {
          let n = min(frame.remaining, incoming.readableBytes)
          let body = incoming.readSlice(length: n)!
          currentFrame = frame.remaining == n ? nil : (frame.streamID, frame.flag, frame.remaining - n)
          handleData(streamID: frame.streamID, flag: frame.flag, body)
          continue
        }
        guard let header = try nextHeader(&incoming) else { break }
        handleHeader(streamID: header.streamID, flag: header.flag, context: context)
        if closed { return }
        if header.length > 0 {
          currentFrame = (header.streamID, header.flag, header.length)
        } else {
          handleData(streamID: header.streamID, flag: header.flag, ByteBuffer())
        }
      }
    } catch {
      context.fireErrorCaught(error)
      shutdown(error: .connectionClosed)
      context.close(promise: nil)
    }
  }

  /// The next frame header, taking bytes from `incoming` (and any partial header kept from earlier reads);
  /// nil when `incoming` ran out first (the bytes are then kept).
  private func nextHeader(_ incoming: inout ByteBuffer) throws(MplexError) -> (
    streamID: UInt64, flag: MplexFrame.Flag, length: Int
  )? {
    if partialHeader.readableBytes == 0, let header = try MplexFrame.decodeHeader(&incoming) { return header }
    // The header is split across reads: combine the kept bytes with the start of this read.
    let kept = partialHeader.readableBytes
    var combined = partialHeader
    var head = incoming.getSlice(at: incoming.readerIndex, length: min(incoming.readableBytes, 20))!
    combined.writeBuffer(&head)
    let before = combined.readableBytes
    if let header = try MplexFrame.decodeHeader(&combined) {
      incoming.moveReaderIndex(forwardBy: before - combined.readableBytes - kept)
      partialHeader.clear()
      return header
    }
    guard combined.readableBytes < 20 else { throw .invalidHeader }
    partialHeader.writeBuffer(&incoming)
    return nil
  }

  /// Acts on a frame as soon as its header arrived (the data of non-message frames is ignored).
  private func handleHeader(streamID: UInt64, flag: MplexFrame.Flag, context: ChannelHandlerContext) {
    let id = MuxedStreamID(number: streamID, openedLocally: !flag.senderOpenedStream)
    switch flag {
    case .newStream:
      guard streams[id] == nil else { return }
      guard inboundCount < configuration.maxInboundStreams else {
        writeFrame(streamID: streamID, flag: .resetReceiver, data: nil, promise: nil, flush: true)
        return
      }
      let stream = makeStream(id)
      streams[id] = StreamState(stream: stream)
      inboundCount += 1
      onInboundStream(stream)
    case .messageReceiver, .messageInitiator:
      return
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

  /// Passes (part of) a message frame's data to its stream.
  private func handleData(streamID: UInt64, flag: MplexFrame.Flag, _ data: ByteBuffer) {
    guard flag == .messageReceiver || flag == .messageInitiator, data.readableBytes > 0 else { return }
    let id = MuxedStreamID(number: streamID, openedLocally: !flag.senderOpenedStream)
    guard let state = streams[id], !state.remoteClosed else { return }
    streams[id]!.activity.active = true
    let buffered = state.stream.inbound.deliver(data)
    if buffered > configuration.maxBufferedPerStream { congested.insert(id) }
    if let context { readGate.delivered(data.readableBytes, eventLoop: context.eventLoop) }
  }

  private func makeStream(_ id: MuxedStreamID) -> P2PStream {
    P2PStream(
      id: id, connection: connectionInfo, inbound: StreamInbound(pauseLimit: configuration.maxBufferedPerStream),
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
    liveness.markClosed()
    inactivitySweeper.stop()
    readGate.stop()
    writabilityWaiters.failAll(error)
    let all = streams
    streams.removeAll()
    inboundCount = 0
    // Queued data stays readable; streams the remote had not closed then end with `error`.
    for (_, s) in all { s.stream.inbound.finish(error: error) }
  }

  // MARK: read back-pressure

  func read(context: ChannelHandlerContext) {
    if congested.isEmpty && !readGate.isPaused {
      context.read()
    } else {
      pendingRead = true
    }
  }

  func readGateOpened() { resumeIfPossible() }

  private func resumeIfPossible() {
    if congested.isEmpty && !readGate.isPaused && pendingRead, let context {
      pendingRead = false
      context.read()
    }
  }

  /// The consumer drained a paused stream to half its limit (see ``StreamInbound/isPaused``).
  ///
  /// Decides by the queue's pause flag, not by its current size: data that arrived after the report but
  /// stayed under the limit does not re-pause the queue, so no further report would come and keeping the
  /// stream congested would stop the connection for good. If the queue went over the limit again it is paused
  /// again and will report again.
  func streamConsumed(_ id: MuxedStreamID, bytes: Int) {
    guard congested.contains(id) else { return }
    if let s = streams[id], s.stream.inbound.isPaused { return }
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
    streams[id]!.activity.active = true
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
