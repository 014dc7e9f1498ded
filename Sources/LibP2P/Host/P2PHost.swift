import Foundation
import Logging
import Multiformats
import NIOCore
import NIOPosix
import Synchronization

/// A libp2p host (named `P2PHost` to stay clear of Foundation's `Host`) on SwiftNIO TCP: listens and dials, upgrades every connection with multistream-select,
/// Noise XX and mplex or yamux, runs identify, answers ping, and dispatches inbound streams to the
/// handlers mounted in ``registry`` by protocol id.
///
/// Contract:
/// * Thread-safe; every method may be called from any task.
/// * ``start()`` binds the listen addresses; ``shutdown()`` closes listeners and connections (idempotent).
/// * At most `maxConnections` connections exist; extra inbound ones are closed right after accept,
///   extra dials throw ``HostError/tooManyConnections(_:)``.
/// * A connection that fails its upgrade (bad handshake, bad signature, oversized frame) is closed
///   without affecting other connections.
public final class P2PHost: Sendable {
  /// The configuration this host runs with.
  public let configuration: HostConfiguration
  /// This host's peer id.
  public let peerID: PeerID
  /// Protocol handlers for inbound streams.
  public let registry = ProtocolRegistry()
  let group: any EventLoopGroup
  private let ownsGroup: Bool
  let logger: Logger
  private let state = Mutex(State())

  private struct State {
    var running = false
    var stopped = false
    var listeners: [any Channel] = []
    var boundAddresses: [Multiaddr] = []
    var connections: [ObjectIdentifier: P2PConnection] = [:]
    var pendingInbound = 0
    var identified: [PeerID: IdentifyInfo] = [:]
    var signedRecord: SignedPeerRecord?
    var subscribers: [UUID: AsyncStream<HostEvent>.Continuation] = [:]
    var pushScheduled = false
  }

  /// Creates a host. Without `group` it runs its own `MultiThreadedEventLoopGroup` (one thread per core),
  /// shut down by ``shutdown()``.
  public init(configuration: HostConfiguration, group: (any EventLoopGroup)? = nil, logger: Logger) {
    self.configuration = configuration
    self.peerID = PeerID(publicKey: configuration.identity.publicKey)
    if let group {
      self.group = group
      ownsGroup = false
    } else {
      self.group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
      ownsGroup = true
    }
    var logger = logger
    logger[metadataKey: "local-peer"] = "\(peerID)"
    self.logger = logger
    let record = try? SignedPeerRecord.seal(
      key: configuration.identity, seq: UInt64(Date().timeIntervalSince1970),
      addresses: configuration.announceAddresses ?? [])
    state.withLock { $0.signedRecord = record }
    mountBuiltins()
    registry.onChange { [weak self] in self?.localInfoChanged() }
  }

  private func mountBuiltins() {
    registry.register(Identify.protocolID) { [weak self] stream in
      guard let self else { return }
      try await Identify.serve(self.identifyMessage(for: stream), on: stream)
    }
    if configuration.enableIdentifyPush {
      registry.register(Identify.pushProtocolID) { [weak self] stream in
        let info = try await Identify.read(from: stream)
        self?.store(info)
        try? await stream.closeWrite()
      }
    }
    if configuration.enablePing {
      registry.register(Ping.protocolID) { stream in try await Ping.serve(stream) }
    }
  }

  /// Socket reads start small (idle connections stay cheap) and grow up to 1 MiB for bulk transfers.
  static let receiveAllocator = AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 4096, maximum: 1 << 20)

  /// Stream writers continue while less than 4 MiB is queued for the socket.
  static let writeWaterMark = ChannelOptions.Types.WriteBufferWaterMark(low: 1 << 20, high: 4 << 20)

  // MARK: lifecycle

  /// Binds every listen address.
  ///
  /// - Throws: ``HostError/unsupportedAddress(_:)`` or the socket error of a failed bind.
  public func start() async throws {
    var bound: [any Channel] = []
    do {
      for address in configuration.listenAddresses {
        let socketAddress = try address.tcpSocketAddress()
        let channel = try await ServerBootstrap(group: group)
          .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
          .serverChannelOption(.backlog, value: 1024)
          .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
          .childChannelOption(.recvAllocator, value: Self.receiveAllocator)
          .childChannelOption(.writeBufferWaterMark, value: Self.writeWaterMark)
          .childChannelInitializer { [self] channel in self.acceptInbound(channel) }
          .bind(to: socketAddress).get()
        bound.append(channel)
      }
    } catch {
      for c in bound { try? await c.close() }
      throw error
    }
    let addresses = bound.compactMap { $0.localAddress }.flatMap { Self.expand($0) }
    let record = try? SignedPeerRecord.seal(
      key: configuration.identity, seq: UInt64(Date().timeIntervalSince1970),
      addresses: configuration.announceAddresses ?? addresses)
    let connected = state.withLock {
      $0.running = true
      $0.listeners += bound
      $0.boundAddresses += addresses
      $0.signedRecord = record
      return !$0.connections.isEmpty
    }
    if connected && configuration.announceAddresses == nil && !addresses.isEmpty { localInfoChanged() }
    logger.info("libp2p host listening", metadata: ["addrs": "\(addresses.map(\.description))"])
  }

  /// Bound addresses with wildcard IPs replaced by this machine's IPv4/IPv6 interface addresses.
  private static func expand(_ address: SocketAddress) -> [Multiaddr] {
    guard let ip = address.ipAddress, let port = address.port else { return [] }
    guard ip == "0.0.0.0" || ip == "::" else { return Multiaddr.tcp(address).map { [$0] } ?? [] }
    let wantV4 = ip == "0.0.0.0"
    var out: [Multiaddr] = []
    for device in (try? System.enumerateDevices()) ?? [] {
      guard let a = device.address, let devIP = a.ipAddress else { continue }
      switch a {
      case .v4 where wantV4, .v6 where !wantV4:
        if let m = Multiaddr.tcp(try! SocketAddress(ipAddress: devIP, port: port)), !out.contains(m) { out.append(m) }
      default: continue
      }
    }
    if out.isEmpty, let m = Multiaddr.tcp(address) { out.append(m) }
    return out
  }

  /// The addresses this host listens on (wildcards expanded); empty before ``start()``.
  public var listenAddresses: [Multiaddr] { state.withLock { $0.boundAddresses } }

  /// The addresses announced in identify and the peer record.
  public var announcedAddresses: [Multiaddr] {
    configuration.announceAddresses ?? listenAddresses
  }

  /// This host's current signed peer record (after ``start()``).
  public var signedPeerRecord: SignedPeerRecord? { state.withLock { $0.signedRecord } }

  /// Closes listeners and all connections, ends event streams, and stops the owned event loop group.
  public func shutdown() async {
    let (listeners, connections, subscribers) = state.withLock { s in
      s.stopped = true
      s.running = false
      defer {
        s.listeners = []
        s.subscribers = [:]
      }
      return (s.listeners, Array(s.connections.values), Array(s.subscribers.values))
    }
    for l in listeners { try? await l.close() }
    await withTaskGroup(of: Void.self) { group in
      for c in connections { group.addTask { await c.close() } }
    }
    for s in subscribers { s.finish() }
    if ownsGroup { try? await group.shutdownGracefully() }
  }

  // MARK: events

  /// A stream of connection events from now on; ends at ``shutdown()``.
  public func events() -> AsyncStream<HostEvent> {
    let (stream, continuation) = AsyncStream<HostEvent>.makeStream(bufferingPolicy: .bufferingNewest(1024))
    let id = UUID()
    state.withLock { $0.subscribers[id] = continuation }
    continuation.onTermination = { [weak self] _ in
      _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
    }
    return stream
  }

  private func emit(_ event: HostEvent) {
    let subs = state.withLock { Array($0.subscribers.values) }
    for s in subs { s.yield(event) }
  }

  // MARK: connections

  private var upgradeSettings: UpgradeSettings {
    UpgradeSettings(
      identity: configuration.identity, muxers: configuration.muxers,
      muxerConfiguration: configuration.muxerConfiguration, handshakeTimeout: configuration.handshakeTimeout)
  }

  private func acceptInbound(_ channel: any Channel) -> EventLoopFuture<Void> {
    let admitted = state.withLock { s -> Bool in
      guard !s.stopped, s.connections.count + s.pendingInbound < configuration.maxConnections else { return false }
      s.pendingInbound += 1
      return true
    }
    guard admitted else {
      logger.debug("rejecting inbound connection: limit reached")
      return channel.close()
    }
    let upgraded = ConnectionUpgrader.upgrade(
      channel: channel, isInitiator: false, settings: upgradeSettings, expectedPeer: nil,
      onInboundStream: { [weak self] stream in self?.dispatch(stream) })
    let timeout = channel.eventLoop.scheduleTask(in: configuration.upgradeTimeout) { channel.close(promise: nil) }
    upgraded.whenComplete { [self] result in
      timeout.cancel()
      state.withLock { $0.pendingInbound -= 1 }
      switch result {
      case .success(let connection) where connection.remotePeer == self.peerID:
        // Our own dial to one of our listeners (the dialling side refuses it too); never a peer of ourselves.
        self.logger.debug("closing inbound connection from this host itself")
        Task { await connection.close() }
      case .success(let connection):
        self.register(connection)
      case .failure(let error):
        self.logger.debug("inbound upgrade failed", metadata: ["error": "\(error)"])
        channel.close(promise: nil)
      }
    }
    return channel.eventLoop.makeSucceededVoidFuture()
  }

  /// Dials `address` (`/ip4|ip6/…/tcp/…`, optionally ending in `/p2p/<id>`) or returns an existing
  /// connection to that peer.
  ///
  /// - Parameter peer: the expected peer; the Noise identity must match it (defaults to the `/p2p/` part).
  /// - Throws: ``HostError`` (``HostError/dialSelf`` when `peer`, or whoever answers at `address`, is this host),
  ///   ``NoiseError/peerIDMismatch(expected:actual:)``, socket errors.
  @discardableResult
  public func connect(to address: Multiaddr, peer: PeerID? = nil) async throws -> P2PConnection {
    let expected = peer ?? address.peerID
    if expected == peerID { throw HostError.dialSelf }
    if let expected, let existing = connection(to: expected) { return existing }
    let admitted = state.withLock { s -> Bool in
      !s.stopped && s.connections.count + s.pendingInbound < configuration.maxConnections
    }
    guard admitted else {
      if state.withLock({ $0.stopped }) { throw HostError.notRunning }
      throw HostError.tooManyConnections(configuration.maxConnections)
    }
    let socketAddress = try address.withoutPeerID.tcpSocketAddress()
    let settings = upgradeSettings
    let loop = group.next()
    let promise = loop.makePromise(of: P2PConnection.self)
    // The upgrade handlers must be in place before the first byte can arrive.
    let channel: any Channel
    do {
      channel = try await ClientBootstrap(group: loop)
        .channelOption(.socketOption(.tcp_nodelay), value: 1)
        .channelOption(.recvAllocator, value: Self.receiveAllocator)
        .channelOption(.writeBufferWaterMark, value: Self.writeWaterMark)
        .connectTimeout(.seconds(10))
        .channelInitializer { [self] channel in
          ConnectionUpgrader.upgrade(
            channel: channel, isInitiator: true, settings: settings, expectedPeer: expected,
            onInboundStream: { [weak self] stream in self?.dispatch(stream) }
          ).cascade(to: promise)
          return channel.eventLoop.makeSucceededVoidFuture()
        }
        .connect(to: socketAddress).get()
    } catch {
      promise.fail(error)
      throw error
    }
    let upgraded = promise.futureResult
    let timeout = channel.eventLoop.scheduleTask(in: configuration.upgradeTimeout) { channel.close(promise: nil) }
    do {
      let connection = try await upgraded.get()
      timeout.cancel()
      // An address without /p2p/ that is one of our own listeners: the handshake proves it is us.
      if connection.remotePeer == peerID {
        await connection.close()
        throw HostError.dialSelf
      }
      register(connection)
      return connection
    } catch {
      timeout.cancel()
      try? await channel.close()
      throw error
    }
  }

  private func register(_ connection: P2PConnection) {
    let key = ObjectIdentifier(connection)
    let accepted = state.withLock { s -> Bool in
      guard !s.stopped else { return false }
      s.connections[key] = connection
      return true
    }
    guard accepted else {
      Task { await connection.close() }
      return
    }
    logger.debug(
      "connection up",
      metadata: [
        "peer": "\(connection.remotePeer)", "muxer": "\(connection.info.muxer)",
        "dir": "\(connection.info.isInitiator ? "out" : "in")",
      ])
    connection.closeFuture.whenComplete { [weak self] _ in
      guard let self else { return }
      let removed = self.state.withLock { $0.connections.removeValue(forKey: key) }
      if removed != nil { self.emit(.disconnected(connection.info)) }
    }
    if let idle = configuration.idleTimeout { connection.startIdleTimer(idle) }
    emit(.connected(connection))
    if configuration.identifyOnConnect {
      Task { [weak self] in
        guard let self else { return }
        do {
          _ = try await self.identify(connection)
        } catch {
          self.logger.debug("identify failed", metadata: ["peer": "\(connection.remotePeer)", "error": "\(error)"])
        }
      }
    }
  }

  /// All live connections.
  public var connections: [P2PConnection] { state.withLock { Array($0.connections.values) } }

  /// A live connection to `peer`, if any.
  public func connection(to peer: PeerID) -> P2PConnection? {
    state.withLock { s in s.connections.values.first { $0.remotePeer == peer && $0.isActive } }
  }

  /// Closes every connection to `peer`.
  public func disconnect(_ peer: PeerID) async {
    let conns = state.withLock { s in s.connections.values.filter { $0.remotePeer == peer } }
    for c in conns { await c.close() }
  }

  /// Opens a stream to a connected peer and negotiates the first accepted protocol of `protocols`.
  ///
  /// - Throws: ``HostError/notConnected(_:)``, ``MultistreamError``, ``StreamError``.
  public func newStream(to peer: PeerID, protocols: [String]) async throws -> P2PStream {
    guard let connection = connection(to: peer) else { throw HostError.notConnected(peer.description) }
    return try await connection.newStream(protocols: protocols)
  }

  // MARK: inbound streams

  private func dispatch(_ stream: P2PStream) {
    let registry = self.registry
    let logger = self.logger
    Task {
      do {
        let proto = try await MultistreamSelect.handle(
          stream, supported: { registry.handler(for: $0) != nil }, list: { registry.protocols })
        guard let handler = registry.handler(for: proto) else {
          stream.reset()
          return
        }
        try await handler(stream)
      } catch {
        logger.debug("inbound stream failed", metadata: ["stream": "\(stream)", "error": "\(error)"])
        stream.reset()
      }
    }
  }

  // MARK: identify and ping

  /// The identify message this host sends on `stream`.
  func identifyMessage(for stream: P2PStream) -> IdentifyMessage {
    var m = IdentifyMessage()
    m.publicKey = configuration.identity.publicKey.protobufEncoded
    m.listenAddresses = announcedAddresses.map(\.bytes)
    m.protocols = registry.protocols
    if let remote = stream.connection.remoteAddress { m.observedAddress = Multiaddr.tcp(remote)?.bytes }
    m.protocolVersion = configuration.protocolVersion
    m.agentVersion = configuration.agentVersion
    m.signedPeerRecord = signedPeerRecord?.bytes
    return m
  }

  private func store(_ info: IdentifyInfo) {
    state.withLock { $0.identified[info.peerID] = info }
    emit(.identified(info))
  }

  /// Runs identify on `connection` and remembers the result.
  ///
  /// - Throws: ``IdentifyError/notSupported`` when the remote answers `na`, other ``IdentifyError``s for
  ///   an invalid answer (then the connection is closed, as nim-libp2p does).
  @discardableResult
  public func identify(_ connection: P2PConnection) async throws -> IdentifyInfo {
    let stream: P2PStream
    do {
      stream = try await connection.newStream(protocols: [Identify.protocolID])
    } catch MultistreamError.noProtocolAccepted {
      throw IdentifyError.notSupported
    }
    do {
      let info = try await Identify.read(from: stream)
      try? await stream.closeWrite()
      store(info)
      return info
    } catch let error as IdentifyError {
      stream.reset()
      await connection.close()
      throw error
    } catch {
      stream.reset()
      throw error
    }
  }

  // MARK: identify push

  /// Our protocols or addresses changed: push identify to every connected peer after
  /// `identifyPushDelay` (changes in the meantime share the push).
  private func localInfoChanged() {
    guard configuration.sendIdentifyPush else { return }
    let schedule = state.withLock { s -> Bool in
      guard !s.stopped, !s.pushScheduled, !s.connections.isEmpty else { return false }
      s.pushScheduled = true
      return true
    }
    guard schedule else { return }
    let delay = configuration.identifyPushDelay
    Task { [weak self] in
      try? await Task.sleep(for: delay)
      guard let self else { return }
      self.state.withLock { $0.pushScheduled = false }
      await self.pushIdentify()
    }
  }

  /// Sends our current identify message on `/ipfs/id/push/1.0.0` to every connected peer. Peers that
  /// do not serve identify push (nim-codex) are skipped; failures are logged, never thrown.
  public func pushIdentify() async {
    let targets = connections.filter(\.isActive)
    await withTaskGroup(of: Void.self) { group in
      for connection in targets {
        group.addTask { [self] in
          do {
            let stream = try await connection.newStream(protocols: [Identify.pushProtocolID])
            try await Identify.serve(self.identifyMessage(for: stream), on: stream)
          } catch {
            self.logger.debug(
              "identify push not delivered", metadata: ["peer": "\(connection.remotePeer)", "error": "\(error)"])
          }
        }
      }
    }
  }

  /// What identify last told us about `peer`.
  public func peerInfo(_ peer: PeerID) -> IdentifyInfo? { state.withLock { $0.identified[peer] } }

  /// Waits until identify with `peer` succeeded (polling), up to `timeout`.
  public func waitForIdentify(_ peer: PeerID, timeout: Duration = .seconds(10)) async -> IdentifyInfo? {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
      if let info = peerInfo(peer) { return info }
      try? await Task.sleep(for: .milliseconds(20))
    }
    return peerInfo(peer)
  }

  /// One ping round trip to a connected peer.
  public func ping(_ peer: PeerID) async throws -> Duration {
    let stream = try await newStream(to: peer, protocols: [Ping.protocolID])
    defer { stream.reset() }
    let rtt = try await Ping.roundTrip(on: stream)
    try? await stream.closeWrite()
    return rtt
  }
}
