import ArgumentParser
import CodexClient

/// Options shared by the client subcommands (`upload`, `download`, `fetch`, `list`, `delete`, `space`, `info`, ...).
struct ClientOptions: ParsableArguments {
  @Option(
    name: .customLong("api"),
    help: ArgumentHelp(
      "The node's REST API address (default: $CODEX_API_URL, else \(CodexAPIURL.defaultOrigin)).",
      valueName: "url"))
  var api: String?

  @Flag(name: .customLong("verbose"), help: "Log HTTP requests to stderr.")
  var verbose = false
}
