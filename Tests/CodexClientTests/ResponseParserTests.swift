import CodexTestSupport
import Testing

@testable import CodexClient

@Suite struct ResponseParserTests {
  static let cid = "zDvZRwzm2mK8t5EqXK7hUfhxGhcuFNQgvUkeXGWGgp8qh3DmNhAa"
  static let tree = "zDzSvJTezk7bJNQqFq8hQJUxnTdagNnBqD38dtYo7dwaNcnqV6ZF"

  @Test func dataList() throws {
    let json = """
      {"content":[{"cid":"\(Self.cid)","manifest":{"treeCid":"\(Self.tree)","datasetSize":18,"blockSize":65536,\
      "filename":"hello.txt","mimetype":"text/plain","protected":false}},
      {"cid":"zB","manifest":{"treeCid":"zT","datasetSize":131072,"blockSize":65536,"filename":null,\
      "mimetype":null,"protected":true,"verifiable":false}}]}
      """
    let items = try ResponseParser.dataList(Array(json.utf8))
    #expect(items.count == 2)
    #expect(
      items[0]
        == DataItem(
          cid: Self.cid,
          manifest: ManifestInfo(
            treeCid: Self.tree, datasetSize: 18, blockSize: 65536, filename: "hello.txt",
            mimetype: "text/plain", protected: false)))
    #expect(items[1].manifest.filename == nil)
    #expect(items[1].manifest.protected)
    #expect(items[1].manifest.verifiable == false)
    #expect(try ResponseParser.dataList(Array(#"{"content":[]}"#.utf8)).isEmpty)
    #expect(try ResponseParser.dataList(Array("{}".utf8)).isEmpty)
  }

  @Test func dataListErrorsNameTheProblem() {
    func message(_ json: String) -> String {
      do {
        _ = try ResponseParser.dataList(Array(json.utf8))
        return "no error"
      } catch {
        return error.description
      }
    }
    #expect(message(#"{"content":[{"cid":"x"}]}"#).contains("missing key 'manifest'"))
    #expect(
      message(#"{"content":[{"cid":"x","manifest":{"treeCid":"t","datasetSize":"big","blockSize":1}}]}"#)
        .contains("wrong type"))
    #expect(message("not json").contains("unexpected response"))
  }

  @Test func downloadStatusAndNodeInfoRejectGarbage() throws {
    let status = try ResponseParser.downloadStatus(
      Array(#"{"cid":"z1","state":"failed","error":"why","totalBlocks":4,"doneBlocks":1,"fetchedBlocks":1}"#.utf8))
    #expect(status == DownloadStatus(cid: "z1", state: "failed", error: "why", totalBlocks: 4, doneBlocks: 1))
    #expect(!status.isRunning && !status.isCompleted)
    for bad in [
      "", "not json", #"{"cid":"z1","state":"running"}"#, #"{"cid":"z1","state":1,"totalBlocks":1,"doneBlocks":0}"#,
    ] {
      #expect(throws: CodexClientError.self) { try ResponseParser.downloadStatus(Array(bad.utf8)) }
    }
    for _ in 0..<200 {
      let junk = (0..<Int.random(in: 0...64)).map { _ in UInt8.random(in: 0...255) }
      _ = try? ResponseParser.downloadStatus(junk)  // never traps
      _ = try? ResponseParser.nodeInfo(junk)
    }
    let info = try ResponseParser.nodeInfo(Array(#"{"id":"16UiuX","addrs":["/ip4/1.2.3.4/tcp/5"]}"#.utf8))
    #expect(info.dialAddresses == ["/ip4/1.2.3.4/tcp/5/p2p/16UiuX"])
    for bad in ["[]", #"{"addrs":[]}"#, #"{"id":"x","addrs":"one"}"#] {
      #expect(throws: CodexClientError.self) { try ResponseParser.nodeInfo(Array(bad.utf8)) }
    }
  }

  @Test func space() throws {
    let json = #"{"totalBlocks":2,"quotaMaxBytes":21474836480,"quotaUsedBytes":65592,"quotaReservedBytes":0}"#
    let s = try ResponseParser.space(Array(json.utf8))
    #expect(s == SpaceInfo(totalBlocks: 2, quotaMaxBytes: 21_474_836_480, quotaUsedBytes: 65592, quotaReservedBytes: 0))
    #expect(s.quotaFreeBytes == 21_474_836_480 - 65592)
    #expect(throws: CodexClientError.self) { try ResponseParser.space(Array(#"{"totalBlocks":2}"#.utf8)) }
  }

  @Test func existsAcceptsBothShapes() throws {
    #expect(try ResponseParser.exists(Array(#"{"\#(Self.cid)":true}"#.utf8), cid: Self.cid))
    #expect(try !ResponseParser.exists(Array(#"{"\#(Self.cid)":false}"#.utf8), cid: Self.cid))
    #expect(try ResponseParser.exists(Array(#"{"has":true}"#.utf8), cid: Self.cid))
    #expect(try !ResponseParser.exists(Array(#"{"has":false}"#.utf8), cid: Self.cid))
    #expect(throws: CodexClientError.self) { try ResponseParser.exists(Array("{}".utf8), cid: Self.cid) }
    #expect(throws: CodexClientError.self) { try ResponseParser.exists(Array("[true]".utf8), cid: Self.cid) }
  }

  @Test func uploadedCID() throws {
    #expect(try ResponseParser.uploadedCID(Array("\(Self.cid)\n".utf8)) == Self.cid)
    #expect(try ResponseParser.uploadedCID(Array("  \(Self.cid)  ".utf8)) == Self.cid)
    for bad in ["", "  \n", "two words", "<html>", "zAb\nzCd", String(repeating: "z", count: 600)] {
      #expect(throws: CodexClientError.self) { try ResponseParser.uploadedCID(Array(bad.utf8)) }
    }
    #expect(throws: CodexClientError.self) { try ResponseParser.uploadedCID([0xFF, 0xFE]) }
  }

  @Test func errorMessageIsTrimmedAndBounded() {
    #expect(
      ResponseParser.errorMessage(Array("  The MIME type 'x' is not valid.\n".utf8))
        == "The MIME type 'x' is not valid.")
    #expect(ResponseParser.errorMessage([0x61, 0xFF, 0x62]) == "a\u{FFFD}b")
    #expect(ResponseParser.errorMessage(Array(repeating: 0x61, count: 5000)).count == 2003)
  }

  /// Random and mutated bodies never trap: every parser either succeeds or throws CodexClientError.
  @Test func fuzzParsersNeverTrap() {
    var rng = SplitMix64(seed: 0xC0DE)
    let seeds = [
      #"{"content":[{"cid":"zB","manifest":{"treeCid":"zT","datasetSize":1,"blockSize":65536,"protected":false}}]}"#,
      #"{"totalBlocks":2,"quotaMaxBytes":21474836480,"quotaUsedBytes":65592,"quotaReservedBytes":0}"#,
      #"{"zB":true}"#, "zDvZRwzm2mK8t5EqXK7hUfhxGhcuFNQgvUkeXGWGgp8qh3DmNhAa",
    ].map { Array($0.utf8) }
    for i in 0..<3000 {
      var bytes: [UInt8]
      if i % 3 == 0 {
        bytes = (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
      } else {
        bytes = seeds[i % seeds.count]
        for _ in 0..<(1 + Int(rng.next() % 4)) where !bytes.isEmpty {
          let at = Int(rng.next() % UInt64(bytes.count))
          switch rng.next() % 3 {
          case 0: bytes[at] = UInt8(truncatingIfNeeded: rng.next())
          case 1: bytes.remove(at: at)
          default: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)
          }
        }
      }
      _ = try? ResponseParser.dataList(bytes)
      _ = try? ResponseParser.space(bytes)
      _ = try? ResponseParser.exists(bytes, cid: "zB")
      _ = try? ResponseParser.dataItem(bytes)
      _ = try? ResponseParser.uploadedCID(bytes)
      _ = ResponseParser.errorMessage(bytes)
    }
  }
}
