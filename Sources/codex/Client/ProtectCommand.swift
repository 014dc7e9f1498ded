import ArgumentParser
import AsyncHTTPClient
import CodexClient
import Foundation
import NIOCore

/// `codex protect CID [--nodes N] [--tolerance T]`: erasure-codes a dataset stored on a running node
/// (`POST /data/{cid}/protect`) and prints the protected manifest CID.
struct ProtectCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "protect",
    abstract: "Erasure-code a dataset stored on a running node and print the protected manifest CID.",
    discussion: """
      Uses K = nodes - tolerance data blocks and M = tolerance parity blocks per group (Leopard Reed-Solomon, \
      nim-codex's stepped layout); Codex requires 1 < K >= M. Downloading the printed CID returns the original \
      bytes, recovering up to M lost blocks per group.
      """)

  @Option(
    name: .customLong("api"),
    help: ArgumentHelp(
      "The node's REST API address (default: $CODEX_API_URL, else \(CodexAPIURL.defaultOrigin)).",
      valueName: "url"))
  var api: String?

  @Flag(name: .customLong("verbose"), help: "Log HTTP requests to stderr.")
  var verbose = false

  @Argument(help: ArgumentHelp("The plain dataset's manifest CID.", valueName: "cid"))
  var cid: String

  @Option(help: "Number of nodes (K + M).")
  var nodes = 3

  @Option(help: "Number of blocks per group that may be lost (M).")
  var tolerance = 1

  func validate() throws {
    guard tolerance > 0 else { throw ValidationError("--tolerance must be positive") }
    let (k, overflow) = nodes.subtractingReportingOverflow(tolerance)
    guard !overflow, k > 1, k >= tolerance else {
      throw ValidationError("need 1 < nodes - tolerance >= tolerance, got nodes=\(nodes) tolerance=\(tolerance)")
    }
  }

  func run() async throws {
    let api: CodexAPIURL
    do {
      api = try CodexAPIURL.resolve(flag: self.api, environment: ProcessInfo.processInfo.environment)
    } catch {
      Self.fail(error)
    }
    let http = CodexAPIClient.makeHTTPClient()
    let result: Result<String, CodexClientError>
    do {
      result = .success(
        try await Self.protect(cid: cid, nodes: nodes, tolerance: tolerance, api: api, http: http, verbose: verbose))
    } catch {
      result = .failure(error)
    }
    try? await http.shutdown()
    switch result {
    case .success(let protected): print(protected)
    case .failure(let error): Self.fail(error)
    }
  }

  /// Prints `codex: error: <message>` to stderr and exits with the error's status.
  static func fail(_ error: CodexClientError) -> Never {
    FileHandle.standardError.write(Data("codex: error: \(error.description)\n".utf8))
    Foundation.exit(error.exitCode)
  }

  /// Sends the request and returns the protected manifest CID.
  static func protect(cid: String, nodes: Int, tolerance: Int, api: CodexAPIURL, http: HTTPClient, verbose: Bool)
    async throws(CodexClientError) -> String
  {
    let url = api.url(.dataItem(cid: cid)) + "/protect"
    if verbose { FileHandle.standardError.write(Data("POST \(url)\n".utf8)) }
    var request = HTTPClientRequest(url: url)
    request.method = .POST
    request.headers.add(name: "Content-Type", value: "application/json")
    request.body = .bytes(ByteBuffer(string: "{\"nodes\": \(nodes), \"tolerance\": \(tolerance)}"))
    let response: HTTPClientResponse
    var body: ByteBuffer
    do {
      // Protecting a large dataset takes a while: no deadline.
      response = try await http.execute(request, deadline: .distantFuture)
    } catch {
      throw .nodeUnreachable(url: api.base, reason: "\(error)")
    }
    do {
      body = try await response.body.collect(upTo: 1 << 20)
    } catch {
      throw .transferFailed("reading the answer from \(url): \(error)")
    }
    let text = body.readString(length: body.readableBytes) ?? ""
    guard response.status == .ok else {
      throw .http(
        status: Int(response.status.code), reason: response.status.reasonPhrase, message: text, url: url)
    }
    let protected = text.trimmingCharacters(in: .whitespacesAndNewlines)
    guard !protected.isEmpty, protected.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
      throw .invalidResponse("expected a CID from \(url), got '\(text.prefix(200))'")
    }
    return protected
  }
}
