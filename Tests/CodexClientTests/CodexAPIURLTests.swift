import Testing

@testable import CodexClient

@Suite struct CodexAPIURLTests {
  @Test(arguments: [
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/api/codex/v1"),
    ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/api/codex/v1"),
    ("127.0.0.1:8080", "http://127.0.0.1:8080/api/codex/v1"),
    ("localhost", "http://localhost/api/codex/v1"),
    ("HTTP://Node.Example:80//", "http://node.example:80/api/codex/v1"),
    ("https://node.example/api/codex/v1", "https://node.example/api/codex/v1"),
    ("https://node.example/api/codex/v1/", "https://node.example/api/codex/v1"),
    ("http://proxy:9000/codex", "http://proxy:9000/codex/api/codex/v1"),
    ("http://[::1]:8080", "http://[::1]:8080/api/codex/v1"),
    ("  http://h:1  ", "http://h:1/api/codex/v1"),
  ])
  func parses(text: String, base: String) throws {
    #expect(try CodexAPIURL(text).base == base)
  }

  @Test(arguments: [
    "", "   ", "ftp://h:21", "http://", "http://:8080", "http://h:0", "http://h:65536", "http://h:x",
    "http://u:p@h:1", "http://h:1/?a=b", "http://h:1/#x", "http://[::1", "http://[::1]x", "http://h 1",
  ])
  func rejects(text: String) {
    #expect(throws: CodexClientError.self) { try CodexAPIURL(text) }
    do {
      _ = try CodexAPIURL(text)
    } catch {
      #expect(error.exitCode == 64)
      #expect(error.description.contains("invalid API URL"))
    }
  }

  @Test func resolvePrefersFlagThenEnvironmentThenDefault() throws {
    let env = ["CODEX_API_URL": "http://10.0.0.1:9000"]
    #expect(try CodexAPIURL.resolve(flag: "http://h:1", environment: env).origin == "http://h:1")
    #expect(try CodexAPIURL.resolve(flag: nil, environment: env).origin == "http://10.0.0.1:9000")
    #expect(try CodexAPIURL.resolve(flag: nil, environment: [:]).origin == "http://127.0.0.1:8080")
    #expect(try CodexAPIURL.resolve(flag: nil, environment: ["CODEX_API_URL": " "]).origin == "http://127.0.0.1:8080")
    #expect(throws: CodexClientError.self) {
      try CodexAPIURL.resolve(flag: nil, environment: ["CODEX_API_URL": "gopher://x"])
    }
  }

  @Test func endpointURLs() throws {
    let api = try CodexAPIURL("http://127.0.0.1:8080")
    let cid = "zDvZRwzm2mK8t5EqXK7hUfhxGhcuFNQgvUkeXGWGgp8qh3DmNhAa"
    #expect(api.url(.data) == "http://127.0.0.1:8080/api/codex/v1/data")
    #expect(api.url(.space) == "http://127.0.0.1:8080/api/codex/v1/space")
    #expect(api.url(.dataItem(cid: cid)) == "http://127.0.0.1:8080/api/codex/v1/data/\(cid)")
    #expect(api.url(.exists(cid: cid)) == "http://127.0.0.1:8080/api/codex/v1/data/\(cid)/exists")
    #expect(api.url(.network(cid: cid)) == "http://127.0.0.1:8080/api/codex/v1/data/\(cid)/network")
    #expect(api.url(.networkStream(cid: cid)) == "http://127.0.0.1:8080/api/codex/v1/data/\(cid)/network/stream")
    #expect(api.url(.networkManifest(cid: cid)).hasSuffix("/network/manifest"))
  }

  @Test func cidSegmentIsPercentEncoded() {
    #expect(CodexEndpoint.dataItem(cid: "a/b c?#").path == "/data/a%2Fb%20c%3F%23")
    #expect(CodexEndpoint.dataItem(cid: "..").path == "/data/..")
    #expect(CodexEndpoint.exists(cid: "é").path == "/data/%C3%A9/exists")
    #expect(CodexEndpoint.segment("AZaz09-._~") == "AZaz09-._~")
  }
}
