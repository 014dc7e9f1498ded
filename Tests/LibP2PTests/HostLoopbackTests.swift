import Multiformats
import NIOCore
import Testing

@testable import LibP2P

@Suite("Host Swift↔Swift on loopback")
struct HostLoopbackTests {
  @Test(
    "echo, identify and ping over noise+mplex and noise+yamux",
    arguments: [
      MplexFrame.protocolID, YamuxHeader.protocolID,
    ])
  func echoIdentifyPing(muxer: String) async throws {
    let server = try await HostTestSupport.makeHost(muxers: [muxer])
    let client = try await HostTestSupport.makeHost(muxers: [muxer])
    HostTestSupport.mountEcho(server)
    let addr = try #require(server.listenAddresses.first)
    let conn = try await client.connect(to: addr.appending(peerID: server.peerID))
    #expect(conn.remotePeer == server.peerID)
    #expect(conn.info.muxer == muxer)

    let stream = try await conn.newStream(protocols: ["/nope/1.0.0", "/test/echo/1.0.0"])
    #expect(stream.protocolID == "/test/echo/1.0.0")
    let data = HostTestSupport.pattern(700_000, seed: 7)
    let back = try await HostTestSupport.echoRoundTrip(stream, data)
    #expect(back == data)

    let info = try await client.identify(conn)
    #expect(info.peerID == server.peerID)
    #expect(info.protocols.contains("/test/echo/1.0.0"))
    #expect(info.agentVersion == "swift-codex")
    #expect(info.signedPeerRecord?.peerID == server.peerID)
    #expect(info.signedPeerRecordError == nil)
    #expect(info.listenAddresses == server.listenAddresses)

    let serverSide = await server.waitForIdentify(client.peerID)
    #expect(serverSide?.peerID == client.peerID)

    _ = try await client.ping(server.peerID)
    await client.shutdown()
    await server.shutdown()
  }

  @Test("muxer negotiation falls back from mplex to yamux")
  func muxerFallback() async throws {
    let server = try await HostTestSupport.makeHost(muxers: [YamuxHeader.protocolID])
    let client = try await HostTestSupport.makeHost(muxers: [MplexFrame.protocolID, YamuxHeader.protocolID])
    let conn = try await client.connect(to: try #require(server.listenAddresses.first))
    #expect(conn.info.muxer == YamuxHeader.protocolID)
    await client.shutdown()
    await server.shutdown()
  }

  @Test("dialing with the wrong expected peer id fails the Noise handshake")
  func wrongPeer() async throws {
    let server = try await HostTestSupport.makeHost()
    let client = try await HostTestSupport.makeHost()
    let other = PeerID(publicKey: PrivateKey.generateSecp256k1().publicKey)
    await #expect(throws: NoiseError.self) {
      try await client.connect(to: try #require(server.listenAddresses.first), peer: other)
    }
    #expect(client.connections.isEmpty)
    await client.shutdown()
    await server.shutdown()
  }

  @Test("a host does not connect to itself: by its peer id, or by one of its own addresses without one")
  func dialSelf() async throws {
    let host = try await HostTestSupport.makeHost()
    let own = try #require(host.listenAddresses.first)
    await #expect(throws: HostError.dialSelf) { try await host.connect(to: own, peer: host.peerID) }
    await #expect(throws: HostError.dialSelf) { try await host.connect(to: own.appending(peerID: host.peerID)) }
    // Only the handshake can tell that the bare address is ours; then neither end may stay registered.
    await #expect(throws: HostError.dialSelf) { try await host.connect(to: own) }
    try await Task.sleep(for: .milliseconds(300))
    #expect(host.connections.isEmpty)
    #expect(host.connection(to: host.peerID) == nil)
    // It still dials others.
    let other = try await HostTestSupport.makeHost()
    let conn = try await host.connect(to: try #require(other.listenAddresses.first))
    #expect(conn.remotePeer == other.peerID)
    await other.shutdown()
    await host.shutdown()
  }

  @Test("unsupported protocol gets na; stream refused")
  func unsupportedProtocol() async throws {
    let server = try await HostTestSupport.makeHost()
    let client = try await HostTestSupport.makeHost()
    let conn = try await client.connect(to: try #require(server.listenAddresses.first))
    await #expect(throws: MultistreamError.noProtocolAccepted(["/codex/blockexc/1.0.0"])) {
      _ = try await conn.newStream(protocols: ["/codex/blockexc/1.0.0"])
    }
    await client.shutdown()
    await server.shutdown()
  }

  @Test("connection manager: max connections rejects extra inbound; idle connections are closed")
  func connectionManager() async throws {
    let server = try await HostTestSupport.makeHost { $0.maxConnections = 1 }
    let first = try await HostTestSupport.makeHost()
    let second = try await HostTestSupport.makeHost()
    let address = try #require(server.listenAddresses.first)
    _ = try await first.connect(to: address)
    await #expect(throws: (any Error).self) { _ = try await second.connect(to: address) }
    #expect(server.connections.count == 1)
    await first.shutdown()
    await second.shutdown()
    await server.shutdown()

    let idleServer = try await HostTestSupport.makeHost { $0.idleTimeout = .milliseconds(200) }
    let client = try await HostTestSupport.makeHost { $0.identifyOnConnect = false }
    let conn = try await client.connect(to: try #require(idleServer.listenAddresses.first))
    let closed = TimerFlag()
    conn.closeFuture.whenComplete { _ in closed.set() }
    // Returns as soon as the idle timeout closes the connection; the bound only matters on a loaded machine.
    for _ in 0..<500 where !closed.isSet { try await Task.sleep(for: .milliseconds(20)) }
    #expect(closed.isSet)
    await client.shutdown()
    await idleServer.shutdown()
  }
}
