/// An error from talking to a Codex node's REST API, or from the local files a client command reads and writes.
///
/// `description` is a complete message a person can act on; `exitCode` is the process exit status a command
/// line tool should use for it (never 0).
public enum CodexClientError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The `--api` value (or `CODEX_API_URL`) is not a usable http(s) URL.
  case invalidAPIURL(String, reason: String)
  /// No HTTP response was received from the node (connection refused, timeout, DNS failure, ...).
  case nodeUnreachable(url: String, reason: String)
  /// The node answered with a non-success status; `message` is its plain-text error body (possibly empty).
  case http(status: Int, reason: String, message: String, url: String)
  /// The node answered with a success status but a body this client cannot understand.
  case invalidResponse(String)
  /// The connection broke, or the byte count did not match `Content-Length`, after the transfer started.
  case transferFailed(String)
  /// A local file could not be opened, read or written.
  case file(path: String, reason: String)
  /// A command-line argument was rejected before contacting the node.
  case invalidArgument(String)

  public var description: String {
    switch self {
    case .invalidAPIURL(let text, let reason):
      return "invalid API URL '\(text)': \(reason) (expected something like http://127.0.0.1:8080)"
    case .nodeUnreachable(let url, let reason):
      return
        "cannot reach the Codex node at \(url) (\(reason)). Is the node running? Start one with "
        + "`codex --data-dir <dir>` or point the client at it with --api URL / CODEX_API_URL."
    case .http(let status, let reason, let message, let url):
      let detail = message.trimmingWhitespace()
      let head = "the node answered \(status) \(reason) for \(url)"
      return detail.isEmpty ? head : "\(head): \(detail)"
    case .invalidResponse(let message):
      return "unexpected response from the node: \(message)"
    case .transferFailed(let message):
      return "transfer failed: \(message)"
    case .file(let path, let reason):
      return "\(path): \(reason)"
    case .invalidArgument(let message):
      return message
    }
  }

  /// The exit status for this error: 64 usage, 69 node unavailable, 1 HTTP error (2 for 404), 74 local I/O,
  /// 76 protocol (bad response or broken transfer).
  public var exitCode: Int32 {
    switch self {
    case .invalidAPIURL, .invalidArgument: return 64
    case .nodeUnreachable: return 69
    case .http(let status, _, _, _): return status == 404 ? 2 : 1
    case .file: return 74
    case .invalidResponse, .transferFailed: return 76
    }
  }
}

extension String {
  /// The string without leading and trailing spaces, tabs, CR and LF (Foundation-free).
  func trimmingWhitespace() -> String {
    let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
    guard let first = self.firstIndex(where: { !isSpace($0) }) else { return "" }
    let last = self.lastIndex(where: { !isSpace($0) })!
    return String(self[first...last])
  }
}
