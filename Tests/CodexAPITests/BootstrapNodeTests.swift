import CodexNode
import LibP2P
import Multiformats
import Testing

/// `--bootstrap-node` takes an `spr:` record or a multiaddr ending in `/p2p/<peer id>`.
@Suite struct BootstrapNodeTests {
  @Test func signedPeerRecord() throws {
    let key = PrivateKey.generateSecp256k1()
    let tcp = try Multiaddr(string: "/ip4/10.0.0.7/tcp/8070")
    let record = try SignedPeerRecord.seal(key: key, seq: 3, addresses: [tcp])
    let node = try BootstrapNode(text: record.text)
    #expect(node.peerID == key.publicKey.peerID)
    #expect(node.addresses == [tcp])
  }

  @Test func multiaddrWithPeerID() throws {
    let id = PrivateKey.generateSecp256k1().publicKey.peerID
    let node = try BootstrapNode(text: " /ip4/127.0.0.1/tcp/4001/p2p/\(id)\n")
    #expect(node.peerID == id)
    #expect(node.addresses == [try Multiaddr(string: "/ip4/127.0.0.1/tcp/4001")])
  }

  @Test(arguments: [
    ("node-a:8070", "neither an spr: record nor a multiaddr"),
    ("/ip4/127.0.0.1/tcp/8070", "does not end in /p2p/<peer id>"),
    ("/ip4/999.0.0.1/tcp/8070/p2p/x", "not a valid multiaddr"),
    ("spr:AAAA", "not a valid spr: record"),
  ])
  func rejected(text: String, why: String) {
    #expect {
      _ = try BootstrapNode(text: text)
    } throws: { error in
      "\(error)".contains(why)
    }
  }
}
