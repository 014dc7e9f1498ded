import ArgumentParser

/// The `codex` command: a node daemon (default) and client subcommands that talk to a running node's REST API.
@main
struct Codex: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "codex",
    abstract: "Codex: a decentralized durability engine (Swift implementation, compatible with nim-codex).",
    subcommands: [
      DaemonCommand.self, UploadCommand.self, DownloadCommand.self, FetchCommand.self, ListCommand.self,
      DeleteCommand.self, SpaceCommand.self, InfoCommand.self, ConnectCommand.self, ProtectCommand.self,
      VerifiableCommand.self, VerifyRepoCommand.self,
    ],
    defaultSubcommand: DaemonCommand.self)
}
