import CodexFormats
import Foundation
import LibP2P
import Logging
import Multiformats
import Testing

@testable import CodexExchange

/// A host on 127.0.0.1 with an `Exchange` over an in-memory store.
struct LiveNode {
  let host: P2PHost
  let store: MemoryBlockStore
  let exchange: Exchange

  static func start(config: ExchangeConfig = fastConfig()) async throws -> LiveNode {
    let cfg = HostConfiguration(
      identity: .generateSecp256k1(), listenAddresses: [try Multiaddr(string: "/ip4/127.0.0.1/tcp/0")])
    let host = P2PHost(configuration: cfg, logger: testLogger())
    try await host.start()
    let store = MemoryBlockStore()
    let exchange = Exchange(
      host: host, store: store, discovery: StaticDiscovery(), config: config, blockTimeout: .seconds(20),
      logger: testLogger())
    try await exchange.start()
    return LiveNode(host: host, store: store, exchange: exchange)
  }

  func shutdown() async {
    await exchange.stop()
    await host.shutdown()
  }
}

@Suite("Block exchange over libp2p on loopback")
struct LibP2PExchangeTests {
  @Test("a leecher fetches a dataset from a seeder over Noise + mplex")
  func fetchOverTCP() async throws {
    let seeder = try await LiveNode.start()
    let leecher = try await LiveNode.start()
    let ds = try TestDataset(count: 12, blockSize: 65536, seed: 21)
    try await seeder.store.add(ds)
    try await leecher.exchange.connect(peer: seeder.host.peerID, addresses: seeder.host.listenAddresses)
    var got: [Block] = []
    for try await b in leecher.exchange.networkStore.blocks(tree: ds.treeCid, indices: 0..<12, window: 6) {
      got.append(b)
    }
    #expect(got == ds.blocks)
    #expect(await leecher.store.leafCount(ds.treeCid) == 12)
    #expect(await eventually { await seeder.exchange.engine.stats.blocksSent == 12 })
    await leecher.shutdown()
    await seeder.shutdown()
  }

  @Test("a malformed message resets only that stream; the exchange keeps working")
  func malformedStream() async throws {
    let seeder = try await LiveNode.start()
    let client = try await LiveNode.start()
    let ds = try TestDataset(count: 2, seed: 22)
    try await seeder.store.add(ds)
    try await client.exchange.connect(peer: seeder.host.peerID, addresses: seeder.host.listenAddresses)
    let bad = try await client.host.newStream(to: seeder.host.peerID, protocols: [LibP2PExchangeNetwork.protocolID])
    try await bad.write([0x03, 0x0a, 0xff, 0xff])
    #expect(await eventually { await seeder.exchange.engine.stats.malformedMessages == 1 })
    let raw = try await client.host.newStream(to: seeder.host.peerID, protocols: [LibP2PExchangeNetwork.protocolID])
    let want = Message(
      wantList: WantList(entries: [WantListEntry(address: .cid(ds.blocks[0].cid), wantType: .wantHave)]))
    try await raw.write(MessageFraming.frame(want))
    #expect(await eventually { await seeder.exchange.engine.stats.messagesReceived == 1 })
    try await raw.write(MessageFraming.frame(want))
    try await raw.write(MessageFraming.frame(want))
    #expect(await eventually { await seeder.exchange.engine.stats.messagesReceived == 3 })
    let got = try #require(try await client.exchange.networkStore.getBlock(tree: ds.treeCid, index: 1))
    #expect(got.block == ds.blocks[1])
    await client.shutdown()
    await seeder.shutdown()
  }

  @Test("the advertise loop announces manifest and tree CIDs")
  func advertising() async throws {
    let node = try await LiveNode.start()
    let ds = try TestDataset(count: 2, seed: 23)
    let m = manifest(ds)
    node.exchange.startAdvertising(interval: .seconds(3600)) { [(m.cid, m)] }
    let discovery = try #require(node.exchange.discovery as? StaticDiscovery)
    #expect(await eventually { discovery.provided == [m.cid, ds.treeCid] })
    await node.shutdown()
  }

  /// Runs tests/blockexc-interop/py_blockexc_peer.py (py-libp2p 0.8.1) against a Swift seeder when
  /// BLOCKEXC_INTEROP_PYTHON points at that virtualenv's python (scripts/ci.d/25-blockexc.sh sets it).
  @Test(
    "py-libp2p asks the Swift node for leaf 0 with want-have and want-block",
    .enabled(if: ProcessInfo.processInfo.environment["BLOCKEXC_INTEROP_PYTHON"] != nil))
  func pyLibp2pInterop() async throws {
    let python = ProcessInfo.processInfo.environment["BLOCKEXC_INTEROP_PYTHON"]!
    let script = repoRoot().appendingPathComponent("tests/blockexc-interop/py_blockexc_peer.py").path
    let seeder = try await LiveNode.start()
    try await seeder.store.add(try TestDataset.someFileContents())
    let addr = try #require(seeder.host.listenAddresses.first).appending(peerID: seeder.host.peerID)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: python)
    p.arguments = [script, "--dial", addr.description]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let killer = Task {
      try await Task.sleep(for: .seconds(120))
      if p.isRunning { p.terminate() }
    }
    defer { killer.cancel() }
    // Read to EOF (the pipe closes when python exits) rather than waitUntilExit, which can hang.
    let data: Data = await withCheckedContinuation { c in
      DispatchQueue.global().async { c.resume(returning: out.fileHandleForReading.readDataToEndOfFile()) }
    }
    let text = String(decoding: data, as: UTF8.self)
    print(text)
    #expect(text.contains("\"event\": \"done\", \"ok\": true"), "python peer output: \(text)")
    #expect(!text.contains("\"ok\": false"))
    await seeder.shutdown()
  }
}

func repoRoot() -> URL {
  var url = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent()
  while url.path != "/" {
    if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path),
      FileManager.default.fileExists(atPath: url.appendingPathComponent("tests").path)
    {
      return url
    }
    url = url.deletingLastPathComponent()
  }
  return url
}
