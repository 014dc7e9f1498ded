import AsyncHTTPClient
import Logging
import Testing

@testable import CodexClient

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The HTTP client against ``FakeNode``: streaming upload and download, headers, JSON answers, error mapping.
@Suite(.serialized) struct CodexAPIClientTests {
  static func withClient(_ body: (CodexAPIClient, FakeNode) async throws -> Void) async throws {
    let node = try await FakeNode.start()
    let http = CodexAPIClient.makeHTTPClient()
    var client = CodexAPIClient(api: try CodexAPIURL(node.url), httpClient: http, logger: Logger(label: "test"))
    client.uploadChunkSize = 4096 + 3  // odd size: many chunks, boundaries not aligned to anything
    do {
      try await body(client, node)
    } catch {
      try? await http.shutdown()
      try? await node.stop()
      throw error
    }
    try await http.shutdown()
    try await node.stop()
  }

  static func tempPath(_ name: String) -> String {
    "/tmp/codex-client-test-\(getpid())-\(name)"
  }

  static func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    #expect(fd >= 0)
    defer { close(fd) }
    let rc = bytes.withUnsafeBytes { Terminal.writeAll(fd: fd, $0) }
    #expect(rc == 0)
  }

  static func readFile(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
      let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, 65536) }
      if n <= 0 { break }
      out += chunk[0..<n]
    }
    return out
  }

  @Test(arguments: [0, 1, 4099, 65535, 65536, 65537, 300_001])
  func uploadStreamsTheWholeFileWithHeaders(size: Int) async throws {
    let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
    let path = Self.tempPath("up-\(size)")
    try Self.writeFile(path, bytes)
    defer { unlink(path) }
    try await Self.withClient { client, node in
      let cid = try await client.upload(path: path, mimetype: "text/plain", filename: "f \(size).bin")
      let sum = bytes.reduce(UInt32(0)) { $0 &+ UInt32($1) }
      #expect(cid == "z\(size)x\(sum)")
      let headers = node.recorder.lastHeaders
      #expect(headers["content-length"] == "\(size)")
      #expect(headers["transfer-encoding"] == nil)
      #expect(headers["content-type"] == "text/plain")
      #expect(headers["content-disposition"] == "attachment; filename=\"f \(size).bin\"")
    }
  }

  @Test func uploadWithoutOptionalHeaders() async throws {
    let path = Self.tempPath("up-plain")
    try Self.writeFile(path, Array("some file contents".utf8))
    defer { unlink(path) }
    try await Self.withClient { client, node in
      _ = try await client.upload(path: path, mimetype: nil, filename: nil)
      #expect(node.recorder.lastHeaders["content-type"] == nil)
      #expect(node.recorder.lastHeaders["content-disposition"] == nil)
    }
  }

  @Test func uploadRejectedByTheNodeReportsStatusAndMessage() async throws {
    let path = Self.tempPath("up-bad")
    try Self.writeFile(path, [1, 2, 3])
    defer { unlink(path) }
    try await Self.withClient { client, _ in
      await #expect(
        throws: CodexClientError.http(
          status: 422, reason: "Unprocessable Entity",
          message: "The MIME type 'bad/type' is not valid.", url: client.api.url(.data))
      ) {
        _ = try await client.upload(path: path, mimetype: "bad/type", filename: nil)
      }
    }
  }

  @Test func uploadOfMissingFileFailsBeforeContactingTheNode() async throws {
    try await Self.withClient { client, _ in
      await #expect(throws: CodexClientError.file(path: "/nonexistent/x", reason: "No such file or directory")) {
        _ = try await client.upload(path: "/nonexistent/x", mimetype: nil, filename: nil)
      }
      await #expect(throws: CodexClientError.file(path: "/tmp", reason: "is a directory")) {
        _ = try await client.upload(path: "/tmp", mimetype: nil, filename: nil)
      }
    }
  }

  @Test(arguments: [0, 1, 65535, 65536, 65537, 1_000_003])
  func downloadToFileIsByteExact(size: Int) async throws {
    let path = Self.tempPath("down-\(size)")
    defer { unlink(path) }
    try await Self.withClient { client, _ in
      let n = try await client.download(cid: "zSize\(size)", network: false, to: .file(path))
      #expect(n == Int64(size))
    }
    let got = try #require(Self.readFile(path))
    #expect(got.count == size)
    #expect(got == (0..<size).map(FakeNode.pattern))
    #expect(Self.readFile(OpenedOutput.temporaryName(for: path, pid: getpid())) == nil)
  }

  @Test func networkDownloadUsesTheStreamEndpoint() async throws {
    let path = Self.tempPath("down-net")
    defer { unlink(path) }
    try await Self.withClient { client, _ in
      let n = try await client.download(cid: "zSize1000", network: true, to: .file(path))
      #expect(n == 1000)
      await #expect(throws: CodexClientError.self) {
        try await client.download(cid: "zMissing", network: true, to: .file(path))
      }
    }
  }

  @Test func downloadToDevNullWritesInPlace() async throws {
    try await Self.withClient { client, _ in
      let n = try await client.download(cid: "zSize70000", network: false, to: .file("/dev/null"))
      #expect(n == 70000)
    }
  }

  @Test func truncatedDownloadFailsAndLeavesNoFile() async throws {
    let path = Self.tempPath("down-short")
    try Self.writeFile(path, [9, 9, 9])  // an older file under the name must survive a failed download
    defer { unlink(path) }
    try await Self.withClient { client, _ in
      await #expect(throws: CodexClientError.self) {
        try await client.download(cid: "zShort5000", network: false, to: .file(path))
      }
    }
    #expect(Self.readFile(path) == [9, 9, 9])
    #expect(Self.readFile(OpenedOutput.temporaryName(for: path, pid: getpid())) == nil)
  }

  @Test func missingCIDGives404WithTheNodesMessage() async throws {
    let path = Self.tempPath("down-missing")
    defer { unlink(path) }
    try await Self.withClient { client, _ in
      do throws(CodexClientError) {
        try await client.download(cid: "zNope", network: false, to: .file(path))
        Issue.record("expected an error")
      } catch {
        #expect(error.exitCode == 2)
        #expect(error.description.contains("404"))
        #expect(error.description.contains("The requested CID could not be retrieved (zNope)."))
      }
    }
    #expect(Self.readFile(path) == nil)
  }

  @Test func listSpaceExistsDelete() async throws {
    try await Self.withClient { client, _ in
      let items = try await client.list()
      #expect(items.map(\.cid) == ["zA"])
      #expect(items.first?.manifest.filename == "a.txt")
      let space = try await client.space()
      #expect(space == SpaceInfo(totalBlocks: 2, quotaMaxBytes: 1000, quotaUsedBytes: 600, quotaReservedBytes: 100))
      let yes = try await client.exists(cid: "zSize5")
      let no = try await client.exists(cid: "zOther")
      #expect(yes)
      #expect(!no)
      try await client.delete(cid: "zA")
    }
  }

  @Test func fetchFollowsTheDownloadToItsEnd() async throws {
    try await Self.withClient { client, node in
      let status = try await client.fetch(cid: "zDone1", progress: nil, pollInterval: .milliseconds(1))
      #expect(status.isCompleted)
      #expect(status.doneBlocks == 4 && status.totalBlocks == 4)
      #expect(node.recorder.poll("zDone1") == 3)  // three polls: running, running, completed
    }
  }

  @Test func fetchReportsTheNodesReasonWhenTheDownloadFails() async throws {
    try await Self.withClient { client, _ in
      do throws(CodexClientError) {
        _ = try await client.fetch(cid: "zFail1", progress: nil, pollInterval: .milliseconds(1))
        Issue.record("expected an error")
      } catch {
        guard case .transferFailed(let message) = error else {
          Issue.record("unexpected \(error)")
          return
        }
        #expect(message.contains("failed after 1 of 4 blocks: cancelled: the dataset was deleted"))
        #expect(error.exitCode != 0)
      }
      do throws(CodexClientError) {
        _ = try await client.fetch(cid: "zMissing1", progress: nil)
        Issue.record("expected an error")
      } catch {
        #expect(error.exitCode == 2)
        #expect(error.description.contains("could not be retrieved"))
      }
    }
  }

  @Test func infoAndConnect() async throws {
    try await Self.withClient { client, node in
      let info = try await client.info()
      #expect(info.id == "16UiuSelf")
      #expect(info.repo == "/d/repo" && info.codex?.version == "0.1.0")
      // Peers are told the announce addresses.
      #expect(info.dialAddresses == ["/ip4/10.0.0.1/tcp/4000/p2p/16UiuSelf"])
      try await client.connect(peerID: "16UiuGood", addresses: ["/ip4/1.2.3.4/tcp/5", "/ip4/1.2.3.4/udp/6/quic"])
      #expect(
        node.recorder.lastURI
          == "/api/codex/v1/connect/16UiuGood?addrs=%2Fip4%2F1.2.3.4%2Ftcp%2F5&addrs=%2Fip4%2F1.2.3.4%2Fudp%2F6%2Fquic")
      do throws(CodexClientError) {
        try await client.connect(peerID: "16UiuBad", addresses: [])
        Issue.record("expected an error")
      } catch {
        #expect(error.description.contains("Unable to dial peer"))
        #expect(node.recorder.lastURI == "/api/codex/v1/connect/16UiuBad")
      }
    }
  }

  @Test func unreachableNodeIsReportedWithItsURL() async throws {
    // Bind and close a server to get a port that is very likely closed.
    let node = try await FakeNode.start()
    let port = node.port
    try await node.stop()
    let http = CodexAPIClient.makeHTTPClient(connectTimeout: .seconds(2))
    let client = CodexAPIClient(
      api: try CodexAPIURL("127.0.0.1:\(port)"), httpClient: http, logger: Logger(label: "test"))
    do throws(CodexClientError) {
      _ = try await client.space()
      Issue.record("expected an error")
    } catch {
      guard case .nodeUnreachable(let url, _) = error else {
        Issue.record("unexpected \(error)")
        try await http.shutdown()
        return
      }
      #expect(url == "http://127.0.0.1:\(port)/api/codex/v1")
      #expect(error.exitCode == 69)
    }
    try await http.shutdown()
  }
}
