import CodexNode
import Foundation
import Testing

@testable import codex

/// Config files with mistakes: an error that names the problem, never a crash, never a silently ignored value.
@Suite struct ConfigFileTests {
  /// Writes `text` to a fresh config file and resolves the daemon's options from it alone.
  func resolve(_ text: String) throws -> NodeConfig {
    let dir = try TempDir()
    defer { dir.remove() }
    let path = try dir.file("codex.toml", text)
    let command = try #require(try Codex.parseAsRoot(["--config-file", path]) as? DaemonCommand)
    return try command.options.resolve(environment: [:])
  }

  func message(_ text: String) -> String? {
    do {
      _ = try resolve(text)
      return nil
    } catch {
      return "\(error)"
    }
  }

  @Test("table headers without a name are refused with their line (TOMLKit's parser aborted the process on them)")
  func namelessHeaders() throws {
    for text in ["[", "[[", "[[[", "[.]", "[[ [", "api-port = 8081\n\n[", "a = [\n  1,\n]\n[ #"] {
      let m = try #require(message(text), "\(text)")
      #expect(m.contains("is not valid TOML (line"), "\(text): \(m)")
      #expect(m.contains("a [table] header needs a name"), "\(text): \(m)")
    }
    #expect(message("api-port = 8081\n\n[")?.contains("line 3") == true)
  }

  @Test("brackets inside strings, comments and multi-line arrays are not taken for headers")
  func bracketsElsewhere() throws {
    let text = """
      # [ not a header
      agent-string = "[x" # [
      api-cors-origin = '['
      listen-addrs = [
        "/ip4/127.0.0.1/tcp/0", # [
      ]
      net-privkey = \"\"\"
      [
      \"\"\"
      """
    let c = try resolve(text)
    #expect(c.agentString == "[x")
    #expect(c.apiCorsOrigin == "[")
    #expect(c.listenAddresses == ["/ip4/127.0.0.1/tcp/0"])
    #expect(c.netPrivKeyFile == "[\n")
  }

  @Test("the scan finds headers and skips what is not one")
  func scanner() {
    // `[]` has no name either, but TOMLKit refuses it without crashing: left to it.
    #expect(TOMLHeaderCheck.firstNamelessHeader(in: "[a]\nb = 1\n[[c]]\n['d']\n[\"e\"]\n[]") == nil)
    #expect(TOMLHeaderCheck.firstNamelessHeader(in: "a = [[1], [2]]\n  [ ") == 2)
    #expect(TOMLHeaderCheck.firstNamelessHeader(in: "a = [\n [1],\n [2],\n]") == nil)
    #expect(TOMLHeaderCheck.firstNamelessHeader(in: "a = \"unterminated\n[") == 2)
    #expect(TOMLHeaderCheck.firstNamelessHeader(in: "a = '''\n[\n'''\n[.]") == 4)
    // A line-ending backslash and an escaped quote inside a multi-line basic string.
    #expect(TOMLHeaderCheck.firstNamelessHeader(in: "a = \"\"\"x \\\n[ \\\"\"\"\n[ ]\n\"\"\"\n[.]") == 5)
    #expect(TOMLHeaderCheck.firstNamelessHeader(in: "") == nil)
  }

  @Test("a value of the wrong type is an error naming the option, not ignored")
  func wrongTypes() throws {
    let cases: [(String, String)] = [
      ("block-ttl = [1, 2]", "'block-ttl' takes one value, not a list"),
      ("api-port = { a = 1 }", "'api-port' takes one value, not a table"),
      ("metrics = [true]", "'metrics' takes true or false, not a list"),
      ("listen-addrs = { a = 1 }", "'listen-addrs' takes a value or a list of values, not a table"),
      ("bootstrap-node = [[\"x\"]]", "'bootstrap-node' takes a list of values, not a list"),
    ]
    for (text, expected) in cases {
      let m = try #require(message(text), "\(text)")
      #expect(m.contains(expected), "\(text): \(m)")
    }
    // The right types still work.
    let c = try resolve("api-port = 8090\nmetrics = true\nlisten-addrs = \"/ip4/127.0.0.1/tcp/0\"\nblock-ttl = \"2d\"")
    #expect(c.apiPort == 8090)
    #expect(c.metricsEnabled)
    #expect(c.listenAddresses == ["/ip4/127.0.0.1/tcp/0"])
    #expect(c.blockTTL == .seconds(2 * 86_400))
  }
}
