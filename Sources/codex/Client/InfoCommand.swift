import ArgumentParser
import CodexClient
import Foundation

/// `codex info`: the node's peer id and the addresses other nodes connect to (`GET /debug/info`).
struct InfoCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "info", abstract: "Show a running node's peer id, addresses, repo and version.")

  @OptionGroup var client: ClientOptions

  @Flag(help: "Print the fields as JSON.")
  var json = false

  func run() async throws {
    let info = try await ClientSession.run(client) { api, _ throws(CodexClientError) in try await api.info() }
    if json {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
      ClientSession.printLine(String(decoding: try encoder.encode(info), as: UTF8.self))
      return
    }
    var lines = ["peer id    \(info.id)"]
    for (i, address) in info.addrs.enumerated() { lines.append((i == 0 ? "listening  " : "           ") + address) }
    if let announced = info.announceAddresses, announced != info.addrs {
      for (i, address) in announced.enumerated() { lines.append((i == 0 ? "announcing " : "           ") + address) }
    }
    if let repo = info.repo { lines.append("repo       \(repo)") }
    if let version = info.codex?.version { lines.append("version    \(version)") }
    if let first = info.dialAddresses.first {
      lines += [
        "", "Another node connects to this one with:", "  codex connect \(first)",
        "or starts with it as a bootstrap node:", "  codex --bootstrap-node \(first) ...",
      ]
    }
    ClientSession.printLine(lines.joined(separator: "\n"))
  }
}
