import ArgumentParser
import AsyncHTTPClient
import CodexClient
import Foundation
import NIOCore

/// `codex verifiable CID`: builds the verifiable manifest of a protected dataset stored on a running node
/// (`POST /data/{cid}/verifiable`) and prints its CID.
struct VerifiableCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "verifiable",
    abstract: "Build the verifiable manifest (slot roots, verify root) of a protected dataset and print its CID.",
    discussion: """
      CID must be a protected manifest (see `codex protect`). The node cuts the dataset into K + M slots, hashes \
      every block with Poseidon2 and stores the slot trees; this takes a while for large datasets.
      """)

  @Option(
    name: .customLong("api"),
    help: ArgumentHelp(
      "The node's REST API address (default: $CODEX_API_URL, else \(CodexAPIURL.defaultOrigin)).",
      valueName: "url"))
  var api: String?

  @Flag(name: .customLong("verbose"), help: "Log HTTP requests to stderr.")
  var verbose = false

  @Argument(help: ArgumentHelp("The protected dataset's manifest CID.", valueName: "cid"))
  var cid: String

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
      result = .success(try await Self.verifiable(cid: cid, api: api, http: http, verbose: verbose))
    } catch {
      result = .failure(error)
    }
    try? await http.shutdown()
    switch result {
    case .success(let verifiable): print(verifiable)
    case .failure(let error): Self.fail(error)
    }
  }

  /// Prints `codex: error: <message>` to stderr and exits with the error's status.
  static func fail(_ error: CodexClientError) -> Never {
    FileHandle.standardError.write(Data("codex: error: \(error.description)\n".utf8))
    Foundation.exit(error.exitCode)
  }

  /// Sends the request and returns the verifiable manifest CID.
  static func verifiable(cid: String, api: CodexAPIURL, http: HTTPClient, verbose: Bool)
    async throws(CodexClientError) -> String
  {
    let url = api.url(.dataItem(cid: cid)) + "/verifiable"
    if verbose { FileHandle.standardError.write(Data("POST \(url)\n".utf8)) }
    var request = HTTPClientRequest(url: url)
    request.method = .POST
    let response: HTTPClientResponse
    var body: ByteBuffer
    do {
      // Hashing a large dataset takes a while: no deadline.
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
      throw .http(status: Int(response.status.code), reason: response.status.reasonPhrase, message: text, url: url)
    }
    let verifiable = text.trimmingCharacters(in: .whitespacesAndNewlines)
    guard !verifiable.isEmpty, verifiable.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
      throw .invalidResponse("expected a CID from \(url), got '\(text.prefix(200))'")
    }
    return verifiable
  }
}
