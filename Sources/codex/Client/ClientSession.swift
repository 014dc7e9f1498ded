import ArgumentParser
import CodexClient
import Foundation
import Logging

/// Runs a client command: resolves the API address, creates and shuts down the HTTP client, and turns a
/// `CodexClientError` into a one-line message on stderr and a non-zero exit status.
enum ClientSession {
  static func run<T>(
    _ options: ClientOptions, _ body: (CodexAPIClient, [String: String]) async throws(CodexClientError) -> T
  ) async throws -> T {
    let environment = ProcessInfo.processInfo.environment
    let api: CodexAPIURL
    do {
      api = try CodexAPIURL.resolve(flag: options.api, environment: environment)
    } catch {
      fail(error)
    }
    var logger = Logger(label: "codex.client")
    logger.logLevel = options.verbose ? .debug : .warning
    let http = CodexAPIClient.makeHTTPClient()
    let client = CodexAPIClient(api: api, httpClient: http, logger: logger)
    let result: Result<T, CodexClientError>
    do {
      result = .success(try await body(client, environment))
    } catch {
      result = .failure(error)
    }
    try? await http.shutdown()
    switch result {
    case .success(let value): return value
    case .failure(let error): fail(error)
    }
  }

  /// Prints `codex: error: <message>` to stderr and exits with the error's status.
  static func fail(_ error: CodexClientError) -> Never {
    Terminal.write("codex: error: \(error.description)\n", to: 2)
    Foundation.exit(error.exitCode)
  }

  /// Writes `text` and a newline to stdout.
  static func printLine(_ text: String) {
    Terminal.write(text + "\n", to: 1)
  }
}
