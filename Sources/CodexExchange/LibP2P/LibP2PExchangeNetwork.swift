import LibP2P
import Logging
import Multiformats
import NIOCore
import Synchronization

/// The block-exchange transport over a libp2p host: mounts `/codex/blockexc/1.0.0`, reads length-prefixed messages
/// on every block-exchange stream (the ones peers open and the ones we open), and writes our messages to each peer
/// on one long-lived outbound stream, reopened after a failure (`blockexc.md` §1.1).
///
/// A message that fails to decode closes (resets) only the stream it came on, and is reported to the handler.
public final class LibP2PExchangeNetwork: ExchangeNetwork {
  /// The protocol id.
  public static let protocolID = "/codex/blockexc/1.0.0"
  /// Inbound block-exchange streams one peer may have open at once by default. nim-codex's `maxIncomingStreams`
  /// (100) is a libp2p per-connection protocol limit; peers open one long-lived stream each (a new one after a
  /// failure), and every open stream may hold a muxer buffer, so the default is lower. (It used to be one limit
  /// of 100 for all peers together: a node with more than 100 peers, or one peer opening 100 idle streams, had
  /// every further peer's stream reset, and so could not exchange blocks with them.)
  public static let defaultMaxInboundStreamsPerPeer = 16

  public let host: P2PHost
  private let logger: Logger
  private struct State {
    var handler: (any ExchangeNetworkHandler)?
    var known: Set<PeerID> = []
    var outbound: [PeerID: PeerOutbound] = [:]
    var inboundStreams: [PeerID: Int] = [:]
    var eventsTask: Task<Void, Never>?
    var stopped = false
  }
  private let state = Mutex(State())

  /// Memory for messages being received and handled (see `MessageBudget`).
  let budget: MessageBudget
  /// Inbound block-exchange streams one peer may have open at once; further ones are reset.
  let maxInboundStreamsPerPeer: Int

  /// Bytes of messages in progress one peer may hold by default: well over the largest messages peers send in
  /// practice (deliveries of ≤ 20 blocks of 64 KiB, want-lists of ≤ 1024 entries). A larger message (up to
  /// `Message.maxSize`) waits for the budget's one place for such a message.
  public static let defaultMessageBytesPerPeer = 8 << 20
  /// Bytes of messages in progress all peers together may hold by default (besides the one large message).
  public static let defaultMessageBytesTotal = 48 << 20

  /// - Parameters:
  ///   - maxMessageBytesPerPeer: bytes of messages being received or handled that one peer may hold; a larger
  ///     message waits for the one place for such a message (`MessageBudget`).
  ///   - maxMessageBytesTotal: the same for all peers together. Messages that do not fit wait, and their stream
  ///     is not read meanwhile.
  ///   - maxInboundStreamsPerPeer: block-exchange streams one peer may have open towards us at once.
  public init(
    host: P2PHost, logger: Logger, maxMessageBytesPerPeer: Int = defaultMessageBytesPerPeer,
    maxMessageBytesTotal: Int = defaultMessageBytesTotal,
    maxInboundStreamsPerPeer: Int = defaultMaxInboundStreamsPerPeer
  ) {
    self.host = host
    self.logger = logger
    self.maxInboundStreamsPerPeer = maxInboundStreamsPerPeer
    self.budget = MessageBudget(perPeer: maxMessageBytesPerPeer, total: maxMessageBytesTotal)
  }

  public var localPeer: PeerID { host.peerID }

  public func start(handler: any ExchangeNetworkHandler) async throws {
    let events = host.events()
    state.withLock { $0.handler = handler }
    host.registry.register(Self.protocolID) { [weak self] stream in
      guard let self else { return stream.reset() }
      try await self.serveInbound(stream)
    }
    let task = Task { [weak self] in
      for await event in events {
        guard let self else { return }
        switch event {
        case .connected(let c): await self.noteConnected(c.remotePeer)
        case .disconnected(let info): await self.noteDisconnected(info.remotePeer)
        case .identified: break
        }
      }
    }
    state.withLock { $0.eventsTask = task }
    for c in host.connections { await noteConnected(c.remotePeer) }
  }

  public func stop() async {
    let (task, outs) = state.withLock { s -> (Task<Void, Never>?, [PeerOutbound]) in
      s.stopped = true
      s.handler = nil
      defer {
        s.outbound = [:]
        s.eventsTask = nil
      }
      return (s.eventsTask, Array(s.outbound.values))
    }
    host.registry.unregister(Self.protocolID)
    budget.close()
    task?.cancel()
    for o in outs { await o.close() }
  }

  private var handler: (any ExchangeNetworkHandler)? { state.withLock { $0.handler } }

  private func noteConnected(_ peer: PeerID) async {
    let isNew = state.withLock { s in !s.stopped && s.known.insert(peer).inserted }
    if isNew { await handler?.peerConnected(peer) }
  }

  private func noteDisconnected(_ peer: PeerID) async {
    guard host.connection(to: peer) == nil else { return }
    let (wasKnown, out) = state.withLock { s in (s.known.remove(peer) != nil, s.outbound.removeValue(forKey: peer)) }
    await out?.close()
    if wasKnown { await handler?.peerDisconnected(peer) }
  }

  // MARK: reading

  private func serveInbound(_ stream: P2PStream) async throws {
    let peer = stream.connection.remotePeer
    let limit = maxInboundStreamsPerPeer
    let admitted = state.withLock { s -> Bool in
      guard !s.stopped, s.inboundStreams[peer, default: 0] < limit else { return false }
      s.inboundStreams[peer, default: 0] += 1
      return true
    }
    guard admitted else {
      logger.debug(
        "refusing block-exchange stream: too many open", metadata: ["remote": "\(peer)", "limit": "\(limit)"])
      return stream.reset()
    }
    defer {
      state.withLock { s in
        let left = s.inboundStreams[peer, default: 0] - 1
        s.inboundStreams[peer] = left > 0 ? left : nil
      }
    }
    await noteConnected(stream.connection.remotePeer)
    await readLoop(stream)
  }

  /// Reads messages until the stream ends; a bad message resets the stream. Each message's length is taken from
  /// `budget` before its body is read and given back once it was handled.
  func readLoop(_ stream: P2PStream) async {
    let peer = stream.connection.remotePeer
    let budget = self.budget
    var held = 0
    defer { if held > 0 { budget.release(held, for: peer) } }
    do {
      while let bytes = try await stream.readLengthPrefixedBytes(
        maxLength: Message.maxSize,
        admit: { n in
          try await budget.acquire(n, for: peer)
          held = n
        })
      {
        defer {
          budget.release(held, for: peer)
          held = 0
        }
        guard let handler else { return stream.reset() }
        // A message still buffered when the peer's connection closed would make the engine add the peer again
        // after it heard `peerDisconnected`, and then ask a dead peer for blocks: drop it.
        guard state.withLock({ $0.known.contains(peer) }) else { return stream.reset() }
        let message: Message
        do {
          message = try Message(encoded: bytes)
        } catch {
          logger.debug(
            "closing block-exchange stream: bad message", metadata: ["remote": "\(peer)", "error": "\(error)"])
          stream.reset()
          await handler.receivedMalformed(from: peer, error: error)
          return
        }
        logger.trace("block-exchange message in", metadata: ["remote": "\(peer)", "bytes": "\(bytes.count)"])
        await handler.received(message, from: peer)
      }
      try? await stream.closeWrite()
    } catch let e as StreamError {
      if case .messageTooLarge(let n, let limit) = e {
        await handler?.receivedMalformed(from: peer, error: .tooLarge(n, limit: limit))
      }
      stream.reset()
    } catch {
      stream.reset()
    }
  }

  // MARK: writing

  private func outbound(for peer: PeerID) -> PeerOutbound? {
    state.withLock { s in
      if s.stopped { return nil }
      if let o = s.outbound[peer] { return o }
      let o = PeerOutbound(peer: peer, network: self)
      s.outbound[peer] = o
      return o
    }
  }

  public func send(_ message: Message, to peer: PeerID) async throws {
    guard let out = outbound(for: peer) else { throw ExchangeError.stopped }
    try await out.send(MessageFraming.frameBuffer(message))
  }

  public func send(framed frame: ByteBuffer, to peer: PeerID) async throws {
    guard let out = outbound(for: peer) else { throw ExchangeError.stopped }
    try await out.send(frame)
  }

  func openStream(to peer: PeerID) async throws -> P2PStream {
    guard host.connection(to: peer) != nil else { throw ExchangeError.notConnected(peer) }
    logger.trace("opening block-exchange stream", metadata: ["remote": "\(peer)"])
    let stream = try await host.newStream(to: peer, protocols: [Self.protocolID])
    logger.trace("opened block-exchange stream", metadata: ["remote": "\(peer)"])
    Task { await self.readLoop(stream) }
    return stream
  }

  public func connect(_ provider: ProviderInfo) async throws {
    if host.connection(to: provider.peer) != nil { return }
    var lastError: (any Error)? = nil
    for address in provider.addresses {
      do {
        let a = address.peerID == nil ? address.appending(peerID: provider.peer) : address
        try await host.connect(to: a, peer: provider.peer)
        await noteConnected(provider.peer)
        return
      } catch {
        lastError = error
      }
    }
    throw lastError ?? ExchangeError.notConnected(provider.peer)
  }

  public func disconnect(_ peer: PeerID) async {
    await host.disconnect(peer)
  }
}

/// Our long-lived outbound block-exchange stream to one peer; writes are serialised.
actor PeerOutbound {
  let peer: PeerID
  let network: LibP2PExchangeNetwork
  var stream: P2PStream?
  var closed = false

  init(peer: PeerID, network: LibP2PExchangeNetwork) {
    self.peer = peer
    self.network = network
  }

  func send(_ frame: ByteBuffer) async throws {
    for attempt in 0..<2 {
      guard !closed else { throw ExchangeError.stopped }
      let s: P2PStream
      if let existing = stream {
        s = existing
      } else {
        s = try await network.openStream(to: peer)
        stream = s
      }
      do {
        try await s.write(frame)
        return
      } catch {
        s.reset()
        stream = nil
        if attempt == 1 { throw error }
      }
    }
  }

  func close() {
    closed = true
    stream?.reset()
    stream = nil
  }
}
