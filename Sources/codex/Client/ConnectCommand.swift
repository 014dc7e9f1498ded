import ArgumentParser
import CodexClient

/// `codex connect ADDRESS...`: has the node dial a peer (`GET /connect/{peerId}?addrs=...`).
struct ConnectCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "connect",
    abstract: "Connect a running node to a peer.",
    discussion: """
      Give the peer's address as `codex info` prints it on that node (/ip4/<ip>/tcp/<port>/p2p/<peer id>; \
      several addresses of one peer may be given), or its peer id with --addr <multiaddr>. Connected nodes \
      fetch datasets from each other (codex download --network, codex fetch).
      """)

  @OptionGroup var client: ClientOptions

  @Argument(help: ArgumentHelp("Multiaddrs ending in /p2p/<peer id>, or a peer id.", valueName: "address"))
  var targets: [String]

  @Option(
    name: .customLong("addr"), help: ArgumentHelp("A multiaddr of the peer (repeatable).", valueName: "multiaddr"))
  var addresses: [String] = []

  func run() async throws {
    let target: ConnectTarget
    do {
      target = try ConnectTarget.parse(targets, addresses: addresses)
    } catch {
      ClientSession.fail(error)
    }
    try await ClientSession.run(client) { api, _ throws(CodexClientError) in
      try await api.connect(peerID: target.peerID, addresses: target.addresses)
    }
    ClientSession.printLine("connected to \(target.peerID)")
  }
}
