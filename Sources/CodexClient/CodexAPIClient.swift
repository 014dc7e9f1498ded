import Foundation
import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1

/// A client of a Codex node's REST API (rest-and-cli.md §2): upload, download, list, delete, exists, space.
///
/// Every method throws only ``CodexClientError``. Uploads and downloads stream: memory use does not depend on
/// the data size. The caller owns the `HTTPClient` and shuts it down.
public struct CodexAPIClient: Sendable {
  /// Where the node's API is.
  public let api: CodexAPIURL
  private let http: HTTPClient
  private let logger: Logger
  /// Size of the chunks read from an upload's input file.
  public var uploadChunkSize = 1 << 20

  public init(api: CodexAPIURL, httpClient: HTTPClient, logger: Logger) {
    self.api = api
    self.http = httpClient
    self.logger = logger
  }

  /// An `HTTPClient` configured for a command-line client: short connect timeout, no read timeout (network
  /// downloads may pause while blocks are fetched), no connection retries, no redirects, no decompression. Shut it down when done.
  public static func makeHTTPClient(connectTimeout: TimeAmount = .seconds(5)) -> HTTPClient {
    var configuration = HTTPClient.Configuration()
    configuration.timeout = .init(connect: connectTimeout, read: nil)
    configuration.redirectConfiguration = .disallow
    configuration.httpVersion = .http1Only
    // Fail at once on "connection refused" instead of retrying until the connect timeout.
    configuration.connectionPool.retryConnectionEstablishment = false
    return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
  }

  // MARK: data

  /// Uploads the file at `path` (`-` = standard input, sent chunked) with `POST /data` and returns the
  /// manifest CID. `mimetype` and `filename` become the `Content-Type` and `Content-Disposition` headers.
  public func upload(
    path: String, mimetype: String?, filename: String?, progress: ProgressReporter? = nil
  ) async throws(CodexClientError) -> String {
    var headers = HTTPHeaders()
    if let mimetype { headers.add(name: "Content-Type", value: try UploadHeaders.checkMimetype(mimetype)) }
    if let filename {
      headers.add(name: "Content-Disposition", value: try UploadHeaders.contentDisposition(filename: filename))
    }
    let input = try OpenedInput(path: path)
    let chunks = FileChunks(
      fd: input.fd, path: path == "-" ? "<stdin>" : path, seekable: input.size != nil,
      chunkSize: uploadChunkSize, progress: progress)
    let url = api.url(.data)
    var request = HTTPClientRequest(url: url)
    request.method = .POST
    request.headers = headers
    request.body = .stream(chunks, length: input.size.map { .known($0) } ?? .unknown)
    progress?.start(total: input.size)
    let response = try await send(request, url: url)
    let body = try await collect(response, url: url)
    guard (200..<300).contains(response.status.code) else {
      throw httpError(response, body: body, url: url)
    }
    progress?.finish()
    _ = consume input
    return try ResponseParser.uploadedCID(body)
  }

  /// Downloads a dataset into `target` with `GET /data/{cid}` (local) or `GET /data/{cid}/network/stream`
  /// (`network: true`, fetching missing blocks from peers). Returns the number of bytes written.
  /// - Throws: `.transferFailed` if the connection breaks or the length differs from `Content-Length`; the
  ///   partial file is then removed.
  @discardableResult
  public func download(
    cid: String, network: Bool, to target: DownloadTarget, progress: ProgressReporter? = nil
  ) async throws(CodexClientError) -> Int64 {
    let url = api.url(network ? .networkStream(cid: cid) : .dataItem(cid: cid))
    var request = HTTPClientRequest(url: url)
    request.method = .GET
    let response = try await send(request, url: url)
    guard response.status == .ok else {
      let body = try await collect(response, url: url)
      throw httpError(response, body: body, url: url)
    }
    let expected = response.headers.first(name: "Content-Length").flatMap { Int64($0) }
    var output = try OpenedOutput(target)
    progress?.start(total: expected)
    var received: Int64 = 0
    do {
      for try await buffer in response.body {
        try buffer.withUnsafeReadableBytes { raw throws(CodexClientError) in try output.write(raw) }
        received += Int64(buffer.readableBytes)
        progress?.advance(by: buffer.readableBytes)
      }
    } catch let error as CodexClientError {
      throw error
    } catch {
      throw .transferFailed("download from \(url) broke after \(received) bytes: \(Self.describe(error))")
    }
    if let expected, expected != received {
      throw .transferFailed("received \(received) bytes from \(url) but Content-Length was \(expected)")
    }
    try output.commit()
    progress?.finish()
    return received
  }

  /// `GET /data`: every dataset stored on the node.
  public func list() async throws(CodexClientError) -> [DataItem] {
    try ResponseParser.dataList(try await getJSON(.data))
  }

  /// `DELETE /data/{cid}` (204 also when nothing was stored).
  public func delete(cid: String) async throws(CodexClientError) {
    let url = api.url(.dataItem(cid: cid))
    var request = HTTPClientRequest(url: url)
    request.method = .DELETE
    let response = try await send(request, url: url)
    let body = try await collect(response, url: url)
    guard (200..<300).contains(response.status.code) else { throw httpError(response, body: body, url: url) }
  }

  /// `GET /data/{cid}/exists`: whether the node stores the CID locally.
  public func exists(cid: String) async throws(CodexClientError) -> Bool {
    try ResponseParser.exists(try await getJSON(.exists(cid: cid)), cid: cid)
  }

  /// `GET /space`: block count and quota figures.
  public func space() async throws(CodexClientError) -> SpaceInfo {
    try ResponseParser.space(try await getJSON(.space))
  }

  /// `POST /data/{cid}/network`: fetches the manifest and starts downloading the dataset in the background.
  public func fetchInBackground(cid: String) async throws(CodexClientError) -> DataItem {
    let url = api.url(.network(cid: cid))
    var request = HTTPClientRequest(url: url)
    request.method = .POST
    let response = try await send(request, url: url)
    let body = try await collect(response, url: url)
    guard response.status == .ok else { throw httpError(response, body: body, url: url) }
    return try ResponseParser.dataItem(body)
  }

  /// `GET /data/{cid}/network/download`: the progress of the background download of `cid`.
  public func downloadStatus(cid: String) async throws(CodexClientError) -> DownloadStatus {
    try ResponseParser.downloadStatus(try await getJSON(.networkDownload(cid: cid)))
  }

  /// `POST /data/{cid}/network`, then follows the background download (`GET /data/{cid}/network/download` every
  /// `pollInterval`) until it ends, reporting the stored blocks' bytes to `progress`.
  /// - Returns: the final status (completed).
  /// - Throws: `CodexClientError.transferFailed` with the node's reason when the download failed; the errors of
  ///   the requests (a 404 when no peer has the manifest, a 413 when it does not fit the quota, ...).
  public func fetch(
    cid: String, progress: ProgressReporter?, pollInterval: Duration = .milliseconds(250)
  ) async throws(CodexClientError) -> DownloadStatus {
    let item = try await fetchInBackground(cid: cid)
    let blockSize = max(1, item.manifest.blockSize)
    var shown: Int64 = 0
    var started = false
    do throws(CodexClientError) {
      while true {
        let status = try await downloadStatus(cid: cid)
        if !started {
          progress?.start(total: Int64(status.totalBlocks) * blockSize)
          started = true
        }
        let done = Int64(status.doneBlocks) * blockSize
        if done > shown {
          progress?.advance(by: Int(done - shown))
          shown = done
        }
        if status.isCompleted {
          progress?.finish()
          return status
        }
        guard status.isRunning else {
          throw .transferFailed(
            "the node's download of \(cid) \(status.state) after \(status.doneBlocks) of \(status.totalBlocks) "
              + "blocks" + (status.error.map { ": \($0)" } ?? ""))
        }
        try? await Task.sleep(for: pollInterval)
      }
    } catch {
      progress?.abandon()
      throw error
    }
  }

  /// `GET /debug/info`: the node's peer id, addresses, repo and version.
  public func info() async throws(CodexClientError) -> NodeInfo {
    try ResponseParser.nodeInfo(try await getJSON(.debugInfo))
  }

  /// `GET /connect/{peerId}?addrs=...`: has the node dial `peerID` at `addresses` (multiaddr texts).
  public func connect(peerID: String, addresses: [String]) async throws(CodexClientError) {
    let url = api.url(.connect(peerID: peerID, addresses: addresses))
    var request = HTTPClientRequest(url: url)
    request.method = .GET
    let response = try await send(request, url: url)
    let body = try await collect(response, url: url)
    guard response.status == .ok else { throw httpError(response, body: body, url: url) }
  }

  /// `POST /data/{cid}/protect`: erasure-codes a stored dataset; returns the protected manifest CID.
  public func protect(cid: String, nodes: Int, tolerance: Int) async throws(CodexClientError) -> String {
    try await postForCid(
      api.url(.dataItem(cid: cid)) + "/protect", json: "{\"nodes\": \(nodes), \"tolerance\": \(tolerance)}")
  }

  /// `POST /data/{cid}/verifiable`: builds the slot trees of a protected dataset; returns the verifiable manifest CID.
  public func makeVerifiable(cid: String) async throws(CodexClientError) -> String {
    try await postForCid(api.url(.dataItem(cid: cid)) + "/verifiable", json: nil)
  }

  // MARK: plumbing

  /// POSTs (optionally with a JSON body) to a route that answers 200 with a CID as text, and returns the CID.
  /// No deadline: protecting or hashing a large dataset takes a while.
  private func postForCid(_ url: String, json: String?) async throws(CodexClientError) -> String {
    var request = HTTPClientRequest(url: url)
    request.method = .POST
    if let json {
      request.headers.add(name: "Content-Type", value: "application/json")
      request.body = .bytes(ByteBuffer(string: json))
    }
    let response = try await send(request, url: url)
    let body = try await collect(response, url: url)
    guard response.status == .ok else { throw httpError(response, body: body, url: url) }
    let text = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    guard !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
      throw .invalidResponse("expected a CID from \(url), got '\(text.prefix(200))'")
    }
    return text
  }

  private func getJSON(_ endpoint: CodexEndpoint) async throws(CodexClientError) -> [UInt8] {
    let url = api.url(endpoint)
    var request = HTTPClientRequest(url: url)
    request.method = .GET
    request.headers.add(name: "Accept", value: "application/json")
    let response = try await send(request, url: url)
    let body = try await collect(response, url: url)
    guard response.status == .ok else { throw httpError(response, body: body, url: url) }
    return body
  }

  /// Sends a request; any failure before a response head arrives means the node could not be reached
  /// (except errors from reading the upload's input file, which are passed on).
  private func send(_ request: HTTPClientRequest, url: String) async throws(CodexClientError) -> HTTPClientResponse {
    logger.debug("request", metadata: ["method": "\(request.method.rawValue)", "url": "\(url)"])
    do {
      return try await http.execute(request, deadline: .distantFuture, logger: logger)
    } catch let error as CodexClientError {
      throw error
    } catch {
      logger.debug("request failed", metadata: ["error": "\(String(reflecting: error))"])
      throw .nodeUnreachable(url: api.base, reason: Self.describe(error))
    }
  }

  /// Reads a (small) response body, at most 4 MiB.
  private func collect(_ response: HTTPClientResponse, url: String) async throws(CodexClientError) -> [UInt8] {
    do {
      var buffer = try await response.body.collect(upTo: 4 << 20)
      return buffer.readBytes(length: buffer.readableBytes) ?? []
    } catch {
      throw .transferFailed("reading the answer from \(url): \(Self.describe(error))")
    }
  }

  private func httpError(_ response: HTTPClientResponse, body: [UInt8], url: String) -> CodexClientError {
    .http(
      status: Int(response.status.code), reason: response.status.reasonPhrase,
      message: ResponseParser.errorMessage(body), url: url)
  }

  /// A short reason for a transport error ("connection refused", "connect timed out", ...).
  static func describe(_ error: any Error) -> String {
    if let error = error as? HTTPClientError {
      switch error {
      case .connectTimeout: return "connect timed out"
      case .remoteConnectionClosed: return "the node closed the connection"
      case .readTimeout: return "read timed out"
      case .bodyLengthMismatch: return "body length does not match Content-Length"
      case .cancelled: return "cancelled"
      default: return "\(error)"
      }
    }
    let text = String(describing: error)
    for (needle, short) in [
      ("Connection refused", "connection refused"), ("ECONNREFUSED", "connection refused"),
      ("Connection reset", "connection reset by the node"), ("No route to host", "no route to host"),
      ("Network is unreachable", "network is unreachable"),
    ] where text.contains(needle) {
      return short
    }
    if text.contains("NIOConnectionError") || text.contains("dnsAError") {
      return "could not connect (\(text.prefix(200)))"
    }
    return String(text.prefix(300))
  }
}
