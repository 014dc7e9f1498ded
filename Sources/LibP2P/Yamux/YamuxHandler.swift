import NIOCore

/// The yamux (`/yamux/1.0.0`) stream multiplexer as the last handler of a secured channel.
///
/// * Dialer streams are odd, listener streams even. New streams are announced with a window update
///   carrying SYN (and extra window beyond the 256 KiB default); accepted ones are answered with ACK.
/// * Flow control: writes wait for send window; received data beyond the granted window is a protocol
///   error. Window updates are sent as the consumer reads, so a slow reader throttles its sender.
/// * Pings are answered; go-away stops new streams; protocol errors send go-away and close.
final class YamuxHandler: ChannelDuplexHandler, StreamMuxerCore, ReadGatedMuxer {
  typealias InboundIn = ByteBuffer
  typealias OutboundIn = ByteBuffer
  typealias OutboundOut = ByteBuffer

  private struct StreamState {
    let stream: P2PStream
    var localClosed = false
    var remoteClosed = false
    var needsAck = false
    var sendWindow: UInt32 = YamuxHeader.initialWindow
    var receiveWindow: UInt32 = YamuxHeader.initialWindow
    var unacknowledgedConsumption: UInt32 = 0
    var pendingWrites = CircularBuffer<(ByteBuffer, EventLoopPromise<Void>)>()
    var pendingClose: EventLoopPromise<Void>?
    /// Data movement for the inactivity sweep.
    var activity = StreamActivity()
  }

  let muxerProtocol = YamuxHeader.protocolID
  private var connectionInfo: ConnectionInfo
  private let configuration: MuxerConfiguration
  private let onInboundStream: InboundStreamHandler
  private var context: ChannelHandlerContext?
  private var streams: [UInt32: StreamState] = [:]
  private var inboundCount = 0
  private var nextStreamID: UInt32
  /// Header bytes split across reads (fewer than 12).
  private var partialHeader = ByteBuffer()
  /// The data frame whose body is still arriving: data is passed on as it comes, never accumulated.
  private var currentFrame: (header: YamuxHeader, remaining: Int)?
  private var goAwayReceived = false
  private var goAwaySent = false
  private let receiveWindowTarget: UInt32
  /// Consumed bytes that trigger a window update: a quarter of the window, so the sender still has three
  /// quarters of it to send while the update travels (with half, one late wake-up on either side drained the
  /// pipe and single-stream throughput swung by 2x on a loaded machine).
  private var windowUpdateThreshold: UInt32 { receiveWindowTarget / 4 }
  /// Writers waiting for the channel to become writable again.
  private var writabilityWaiters = WritabilityWaiters()
  private let inactivitySweeper = InactivitySweeper()
  /// Pauses reading while all streams together buffer too much (each window bounds one stream only).
  private let readGate: ConnectionReadGate
  private var pendingRead = false
  let liveness = MuxerLiveness()
  /// The connection is gone (set once, by `shutdown(error:)`).
  private var closed: Bool { liveness.isClosed }
  /// Largest data frame we write.
  static let maxWriteFrame = 256 * 1024

  init(
    connectionInfo: ConnectionInfo, configuration: MuxerConfiguration, onInboundStream: @escaping InboundStreamHandler
  ) {
    self.connectionInfo = connectionInfo
    self.configuration = configuration
    self.onInboundStream = onInboundStream
    self.nextStreamID = connectionInfo.isInitiator ? 1 : 2
    self.receiveWindowTarget = max(configuration.yamuxReceiveWindow, YamuxHeader.initialWindow)
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

  // MARK: read back-pressure

  func read(context: ChannelHandlerContext) {
    if readGate.isPaused {
      pendingRead = true
    } else {
      context.read()
    }
  }

  func readGateOpened() {
    if pendingRead, !readGate.isPaused, let context {
      pendingRead = false
      context.read()
    }
  }

  // MARK: stream inactivity

  /// Resets streams that moved no data for `timeout` (like nim's channel inactivity timeout).
  private func sweepInactiveStreams(timeout: TimeAmount, now: NIODeadline) {
    var expired: [UInt32] = []
    for id in streams.keys where streams[id]!.activity.sweep(now: now, timeout: timeout) { expired.append(id) }
    for id in expired {
      guard let state = streams[id] else { continue }
      writeHeader(YamuxHeader(type: .windowUpdate, flags: .rst, streamID: id, length: 0), flush: true)
      state.stream.inbound.fail(.inactivityTimeout)
      for (_, p) in state.pendingWrites { p.fail(StreamError.inactivityTimeout) }
      state.pendingClose?.fail(StreamError.inactivityTimeout)
      remove(id)
    }
  }

  private func key(_ id: UInt32) -> MuxedStreamID {
    let localParity: UInt32 = connectionInfo.isInitiator ? 1 : 0
    return MuxedStreamID(number: UInt64(id), openedLocally: id % 2 == localParity)
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
          currentFrame = frame.remaining == n ? nil : (frame.header, frame.remaining - n)
          handleData(frame.header, body, last: frame.remaining == n)
          continue
        }
        guard let header = try nextHeader(&incoming) else { break }
        try handle(header, context: context)
        if closed { return }
        if header.type == .data && header.length > 0 { currentFrame = (header, Int(header.length)) }
      }
      context.flush()
    } catch {
      protocolError(context: context, error)
    }
  }

  /// The next frame header, from `incoming` and any header bytes kept from earlier reads; nil when
  /// `incoming` ran out first (its bytes are then kept).
  private func nextHeader(_ incoming: inout ByteBuffer) throws(YamuxError) -> YamuxHeader? {
    if partialHeader.readableBytes == 0 {
      if let header = try YamuxHeader.decode(&incoming) { return header }
    } else {
      var head = incoming.readSlice(
        length: min(YamuxHeader.length - partialHeader.readableBytes, incoming.readableBytes))!
      partialHeader.writeBuffer(&head)
      if let header = try YamuxHeader.decode(&partialHeader) {
        partialHeader.clear()
        return header
      }
    }
    partialHeader.writeBuffer(&incoming)
    return nil
  }

  private func protocolError(context: ChannelHandlerContext, _ error: any Error) {
    sendGoAway(code: YamuxHeader.goAwayProtocolError)
    context.flush()
    context.fireErrorCaught(error)
    shutdown(error: .connectionClosed)
    context.close(promise: nil)
  }

  /// Acts on a frame header; a data frame's body then arrives through ``handleData(_:_:last:)``.
  private func handle(_ h: YamuxHeader, context: ChannelHandlerContext) throws {
    switch h.type {
    case .ping:
      if h.flags.contains(.syn) {
        writeHeader(YamuxHeader(type: .ping, flags: .ack, streamID: 0, length: h.length), flush: false)
      }
      return
    case .goAway:
      goAwayReceived = true
      return
    case .data, .windowUpdate:
      break
    }
    let id = h.streamID
    if h.flags.contains(.syn) {
      guard streams[id] == nil, id != 0, !key(id).openedLocally else { throw YamuxError.invalidStreamID(id) }
      if goAwaySent || inboundCount >= configuration.maxInboundStreams {
        writeHeader(YamuxHeader(type: .windowUpdate, flags: .rst, streamID: id, length: 0), flush: false)
        return
      }
      let stream = P2PStream(
        id: key(id), connection: connectionInfo, inbound: StreamInbound(reportThreshold: Int(windowUpdateThreshold)),
        muxer: MuxerRef(core: self, eventLoop: context.eventLoop))
      var state = StreamState(stream: stream)
      // Accept right away, granting our larger receive window.
      let extra = receiveWindowTarget - YamuxHeader.initialWindow
      state.receiveWindow = receiveWindowTarget
      writeHeader(YamuxHeader(type: .windowUpdate, flags: .ack, streamID: id, length: extra), flush: false)
      streams[id] = state
      inboundCount += 1
      onInboundStream(stream)
    }
    guard var state = streams[id] else {
      return  // unknown or already closed stream: skip (data was consumed with the frame)
    }
    if h.flags.contains(.rst) {
      state.stream.inbound.fail(.reset)
      for (_, p) in state.pendingWrites { p.fail(StreamError.reset) }
      state.pendingClose?.fail(StreamError.reset)
      remove(id)
      return
    }
    if h.type == .data {
      guard h.length <= state.receiveWindow else {
        throw YamuxError.windowExceeded(stream: id, length: h.length, window: state.receiveWindow)
      }
      state.receiveWindow -= h.length
    } else {
      state.sendWindow = state.sendWindow &+ h.length
    }
    // A data frame's FIN takes effect after its body (see handleData).
    let finNow = !(h.type == .data && h.length > 0)
    if finNow && h.flags.contains(.fin) && !state.remoteClosed {
      state.remoteClosed = true
      state.stream.inbound.finish()
    }
    streams[id] = state
    if h.type == .windowUpdate { drainWrites(id) }
    if let s = streams[id], s.remoteClosed, s.localClosed, s.pendingWrites.isEmpty { remove(id) }
  }

  /// Passes (part of) a data frame's body to its stream; after the last part applies the frame's FIN.
  private func handleData(_ h: YamuxHeader, _ data: ByteBuffer, last: Bool) {
    guard var state = streams[h.streamID] else { return }
    state.activity.active = true
    streams[h.streamID]!.activity.active = true
    if !state.remoteClosed {
      state.stream.inbound.deliver(data)
      if let context { readGate.delivered(data.readableBytes, eventLoop: context.eventLoop) }
    }
    guard last, h.flags.contains(.fin), !state.remoteClosed else { return }
    state.remoteClosed = true
    state.stream.inbound.finish()
    streams[h.streamID] = state
    if state.localClosed, state.pendingWrites.isEmpty, state.pendingClose == nil { remove(h.streamID) }
  }

  private func remove(_ id: UInt32) {
    guard streams.removeValue(forKey: id) != nil else { return }
    if !key(id).openedLocally { inboundCount -= 1 }
  }

  func channelInactive(context: ChannelHandlerContext) {
    shutdown(error: .connectionClosed)
    context.fireChannelInactive()
  }

  private func shutdown(error: StreamError) {
    liveness.markClosed()
    inactivitySweeper.stop()
    readGate.stop()
    writabilityWaiters.failAll(error)
    let all = streams
    streams.removeAll()
    inboundCount = 0
    for (_, s) in all {
      s.stream.inbound.finish(error: error)  // queued data stays readable
      for (_, p) in s.pendingWrites { p.fail(error) }
      s.pendingClose?.fail(error)
    }
  }

  func streamConsumed(_ id: MuxedStreamID, bytes: Int) {
    let wireID = UInt32(truncatingIfNeeded: id.number)
    guard var state = streams[wireID], !state.remoteClosed else { return }
    state.unacknowledgedConsumption &+= UInt32(clamping: bytes)
    if state.unacknowledgedConsumption >= windowUpdateThreshold {
      let delta = state.unacknowledgedConsumption
      state.unacknowledgedConsumption = 0
      state.receiveWindow &+= delta
      streams[wireID] = state
      writeHeader(YamuxHeader(type: .windowUpdate, flags: [], streamID: wireID, length: delta), flush: true)
    } else {
      streams[wireID] = state
    }
  }

  // MARK: outbound

  private func writeHeader(_ header: YamuxHeader, flush: Bool, promise: EventLoopPromise<Void>? = nil) {
    guard let context, !closed else {
      promise?.fail(StreamError.connectionClosed)
      return
    }
    var out = context.channel.allocator.buffer(capacity: YamuxHeader.length)
    header.encode(into: &out)
    context.write(wrapOutboundOut(out), promise: promise)
    if flush { context.flush() }
  }

  private func writeData(streamID: UInt32, flags: YamuxHeader.Flags, data: ByteBuffer, promise: EventLoopPromise<Void>?)
  {
    guard let context else {
      promise?.fail(StreamError.connectionClosed)
      return
    }
    let header = YamuxHeader(type: .data, flags: flags, streamID: streamID, length: UInt32(data.readableBytes))
    if data.readableBytes <= 65536 {
      var out = context.channel.allocator.buffer(capacity: data.readableBytes + YamuxHeader.length)
      header.encode(into: &out)
      var d = data
      out.writeBuffer(&d)
      context.write(wrapOutboundOut(out), promise: promise)
    } else {
      var out = context.channel.allocator.buffer(capacity: YamuxHeader.length)
      header.encode(into: &out)
      context.write(wrapOutboundOut(out), promise: nil)
      context.write(wrapOutboundOut(data), promise: promise)
    }
  }

  /// Sends as much queued data of stream `id` as its window allows.
  private func drainWrites(_ id: UInt32) {
    guard var state = streams[id], let context, !closed else { return }
    var wrote = false
    while state.sendWindow > 0, case (var buffer, let promise)? = state.pendingWrites.first {
      let n = min(Int(state.sendWindow), buffer.readableBytes, Self.maxWriteFrame)
      let chunk = buffer.readSlice(length: n)!
      state.sendWindow -= UInt32(n)
      var flags: YamuxHeader.Flags = []
      if state.needsAck {
        flags.insert(.ack)
        state.needsAck = false
      }
      wrote = true
      if buffer.readableBytes == 0 {
        state.pendingWrites.removeFirst()
        writeData(streamID: id, flags: flags, data: chunk, promise: nil)
        completeWhenWritable(promise)
      } else {
        state.pendingWrites[state.pendingWrites.startIndex] = (buffer, promise)
        writeData(streamID: id, flags: flags, data: chunk, promise: nil)
      }
    }
    if state.pendingWrites.isEmpty, let closePromise = state.pendingClose {
      state.pendingClose = nil
      writeHeader(
        YamuxHeader(type: .windowUpdate, flags: .fin, streamID: id, length: 0), flush: false, promise: closePromise)
      wrote = true
    }
    streams[id] = state
    if wrote { context.flush() }
    if state.localClosed, state.remoteClosed, state.pendingWrites.isEmpty, state.pendingClose == nil { remove(id) }
  }

  private func completeWhenWritable(_ promise: EventLoopPromise<Void>) {
    writabilityWaiters.complete(promise, channel: context?.channel, closed: closed)
  }

  func channelWritabilityChanged(context: ChannelHandlerContext) {
    if context.channel.isWritable { writabilityWaiters.channelBecameWritable() }
    context.fireChannelWritabilityChanged()
  }

  func streamWrite(_ id: MuxedStreamID, _ data: ByteBuffer, promise: EventLoopPromise<Void>) {
    let wireID = UInt32(truncatingIfNeeded: id.number)
    guard var state = streams[wireID] else {
      promise.fail(closed ? StreamError.connectionClosed : StreamError.closed)
      return
    }
    guard !state.localClosed else {
      promise.fail(StreamError.closed)
      return
    }
    state.pendingWrites.append((data, promise))
    state.activity.active = true
    streams[wireID] = state
    drainWrites(wireID)
  }

  func streamCloseWrite(_ id: MuxedStreamID, promise: EventLoopPromise<Void>) {
    let wireID = UInt32(truncatingIfNeeded: id.number)
    guard var state = streams[wireID], !state.localClosed else {
      promise.succeed(())
      return
    }
    state.localClosed = true
    state.pendingClose = promise
    streams[wireID] = state
    drainWrites(wireID)
  }

  func streamReset(_ id: MuxedStreamID) {
    let wireID = UInt32(truncatingIfNeeded: id.number)
    guard let state = streams[wireID] else { return }
    writeHeader(YamuxHeader(type: .windowUpdate, flags: .rst, streamID: wireID, length: 0), flush: true)
    state.stream.inbound.fail(.closed)
    for (_, p) in state.pendingWrites { p.fail(StreamError.closed) }
    state.pendingClose?.fail(StreamError.closed)
    remove(wireID)
  }

  func openStream(promise: EventLoopPromise<P2PStream>) {
    guard let context, !closed else {
      promise.fail(StreamError.connectionClosed)
      return
    }
    guard !goAwayReceived, !goAwaySent else {
      promise.fail(YamuxError.goAway(YamuxHeader.goAwayNormal))
      return
    }
    guard streams.count - inboundCount < configuration.maxOutboundStreams, nextStreamID < UInt32.max - 2 else {
      promise.fail(StreamError.tooManyStreams)
      return
    }
    let id = nextStreamID
    nextStreamID += 2
    let stream = P2PStream(
      id: key(id), connection: connectionInfo, inbound: StreamInbound(reportThreshold: Int(windowUpdateThreshold)),
      muxer: MuxerRef(core: self, eventLoop: context.eventLoop))
    var state = StreamState(stream: stream)
    state.receiveWindow = receiveWindowTarget
    streams[id] = state
    writeHeader(
      YamuxHeader(
        type: .windowUpdate, flags: .syn, streamID: id, length: receiveWindowTarget - YamuxHeader.initialWindow),
      flush: true)
    promise.succeed(stream)
  }

  private func sendGoAway(code: UInt32) {
    guard !goAwaySent else { return }
    goAwaySent = true
    writeHeader(YamuxHeader(type: .goAway, flags: [], streamID: 0, length: code), flush: false)
  }

  func closeConnection(promise: EventLoopPromise<Void>?) {
    guard let context else {
      promise?.succeed(())
      return
    }
    if !closed {
      sendGoAway(code: YamuxHeader.goAwayNormal)
      context.flush()
    }
    context.close(promise: promise)
  }
}
