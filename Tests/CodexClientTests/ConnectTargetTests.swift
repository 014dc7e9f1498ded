import Testing

@testable import CodexClient

/// `codex connect`'s arguments: addresses as `codex info` prints them, or a peer id with `--addr`.
@Suite struct ConnectTargetTests {
  @Test func addressesEndingInP2P() throws {
    let t = try ConnectTarget.parse(
      ["/ip4/127.0.0.1/tcp/4000/p2p/16UiuA", "/ip4/10.0.0.1/tcp/4001/p2p/16UiuA"], addresses: [])
    #expect(t == ConnectTarget(peerID: "16UiuA", addresses: ["/ip4/127.0.0.1/tcp/4000", "/ip4/10.0.0.1/tcp/4001"]))
    // The legacy /ipfs/ name and surrounding whitespace.
    let legacy = try ConnectTarget.parse([" /ip4/1.2.3.4/tcp/5/ipfs/16UiuB\n"], addresses: [])
    #expect(legacy == ConnectTarget(peerID: "16UiuB", addresses: ["/ip4/1.2.3.4/tcp/5"]))
  }

  @Test func peerIDWithAddrOptions() throws {
    let t = try ConnectTarget.parse(["16UiuA"], addresses: ["/ip4/1.2.3.4/tcp/5", " "])
    #expect(t == ConnectTarget(peerID: "16UiuA", addresses: ["/ip4/1.2.3.4/tcp/5"]))
    // A multiaddr without /p2p/ next to a bare peer id, and a bare /p2p/ address.
    let mixed = try ConnectTarget.parse(["/ip4/1.2.3.4/tcp/5", "16UiuA"], addresses: [])
    #expect(mixed == ConnectTarget(peerID: "16UiuA", addresses: ["/ip4/1.2.3.4/tcp/5"]))
    let bare = try ConnectTarget.parse(["/p2p/16UiuA"], addresses: [])
    #expect(bare == ConnectTarget(peerID: "16UiuA", addresses: []))
    // A peer id alone: the node is asked to find it.
    #expect(try ConnectTarget.parse(["16UiuA"], addresses: []) == ConnectTarget(peerID: "16UiuA", addresses: []))
  }

  @Test(arguments: [
    (["/ip4/1.2.3.4/tcp/5"], "no peer id"),
    ([], "no peer id"),
    (["/ip4/1.2.3.4/tcp/5/p2p/16UiuA", "/ip4/1.2.3.4/tcp/6/p2p/16UiuB"], "two peers"),
    (["16UiuA", "16UiuB"], "two peers"),
    (["foo bar"], "neither a multiaddr"),
    (["16Uiu-A"], "neither a multiaddr"),
  ])
  func rejected(arguments: [String], why: String) {
    do throws(CodexClientError) {
      let t = try ConnectTarget.parse(arguments, addresses: [])
      Issue.record("accepted \(arguments) as \(t)")
    } catch {
      #expect(error.description.contains(why), "\(error)")
      #expect(error.exitCode == 64)
    }
  }
}
