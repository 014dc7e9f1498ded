import Multiformats
import NIOCore
import Testing

@testable import LibP2P

/// Identify push (`/ipfs/id/push/1.0.0`): a host tells its connected peers when its protocols change.
@Suite("identify push")
struct IdentifyPushTests {
  /// Polls `condition` for up to 10 s.
  static func eventually(_ condition: () -> Bool) async -> Bool {
    for _ in 0..<500 {
      if condition() { return true }
      try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
  }

  @Test(
    "mounting and unmounting a protocol is pushed to a connected peer (mplex and yamux)",
    arguments: [
      MplexFrame.protocolID, YamuxHeader.protocolID,
    ])
  func protocolChangesArePushed(muxer: String) async throws {
    let a = try await HostTestSupport.makeHost(muxers: [muxer])
    let b = try await HostTestSupport.makeHost(muxers: [muxer])
    let c = try await HostTestSupport.makeHost(muxers: [muxer]) { $0.enableIdentifyPush = false }
    try await a.connect(to: b.listenAddresses[0])
    try await c.connect(to: b.listenAddresses[0])
    let first = try #require(await a.waitForIdentify(b.peerID))
    #expect(!first.protocols.contains("/test/pushed/1.0.0"))
    var events = a.events().makeAsyncIterator()
    b.registry.register("/test/pushed/1.0.0") { stream in stream.reset() }
    #expect(await Self.eventually { a.peerInfo(b.peerID)?.protocols.contains("/test/pushed/1.0.0") == true })
    var sawEvent = false
    while let event = await events.next() {
      if case .identified(let info) = event, info.peerID == b.peerID { sawEvent = true; break }
    }
    #expect(sawEvent)
    b.registry.unregister("/test/pushed/1.0.0")
    #expect(await Self.eventually { a.peerInfo(b.peerID)?.protocols.contains("/test/pushed/1.0.0") == false })
    // c does not serve push: b's push to it is refused (na) without harm; the connection stays up.
    #expect(b.connection(to: c.peerID)?.isActive == true)
    await a.shutdown()
    await b.shutdown()
    await c.shutdown()
  }

  @Test("sendIdentifyPush = false sends nothing; pushIdentify() pushes on demand")
  func disabledAndManual() async throws {
    let a = try await HostTestSupport.makeHost()
    let b = try await HostTestSupport.makeHost { $0.sendIdentifyPush = false }
    try await a.connect(to: b.listenAddresses[0])
    _ = try #require(await a.waitForIdentify(b.peerID))
    b.registry.register("/test/quiet/1.0.0") { stream in stream.reset() }
    try await Task.sleep(for: .milliseconds(400))
    #expect(a.peerInfo(b.peerID)?.protocols.contains("/test/quiet/1.0.0") == false)
    await b.pushIdentify()
    #expect(await Self.eventually { a.peerInfo(b.peerID)?.protocols.contains("/test/quiet/1.0.0") == true })
    await a.shutdown()
    await b.shutdown()
  }
}
