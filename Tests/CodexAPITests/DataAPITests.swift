import CodexAPI
import CodexFormats
import CodexNode
import CodexStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

let base = "/api/codex/v1"

@Suite struct UploadDownloadTests {
  @Test func someFileContentsGivesNimCodexCid() async throws {
    let t = try TestNode()
    try await t.live { client in
      let r = try await client.execute(
        uri: "\(base)/data", method: .post, body: ByteBuffer(string: "some file contents"))
      #expect(r.status == .ok)
      #expect(r.text == "zDvZRwzmC3Q7e7NLkfsPmtgSCfectUc1ssn5xK2rzC9yRz1yeZuK")
      let list = try await client.execute(uri: "\(base)/data", method: .get)
      let json = try JSONSerialization.jsonObject(with: Data(list.bytes)) as! [String: Any]
      let items = json["content"] as! [[String: Any]]
      #expect(items.count == 1)
      let m = items[0]["manifest"] as! [String: Any]
      #expect(m["treeCid"] as? String == "zDzSvJTezk7bJNQqFq8k1iHXY84psNuUfZVusA5bBQQUSuyzDSVL")
      #expect(m["datasetSize"] as? Int == 18)
      #expect(m["blockSize"] as? Int == 65536)
      #expect(m["protected"] as? Bool == false)
      #expect(m.keys.contains("filename") && m["filename"] is NSNull)
      let space = try decode(SpaceJSON.self, try await client.execute(uri: "\(base)/space", method: .get))
      #expect(space.totalBlocks == 2)
      #expect(space.quotaUsedBytes == 65592)
      let get = try await client.execute(uri: "\(base)/data/\(r.text)", method: .get)
      #expect(get.status == .ok)
      #expect(get.text == "some file contents")
      #expect(get.headers[.contentLength] == "18")
      #expect(get.headers[.contentType] == "application/octet-stream")
      #expect(get.headers[.contentDisposition] == "attachment")
    }
  }

  @Test func roundTripsAtBlockBoundaries() async throws {
    let t = try TestNode()
    try await t.live { client in
      for (i, size) in [1, 65535, 65536, 65537, 10 * 1024 * 1024].enumerated() {
        let data = randomBytes(size, seed: UInt64(i))
        let up = try await client.execute(uri: "\(base)/data", method: .post, body: ByteBuffer(bytes: data))
        #expect(up.status == .ok, "upload of \(size) bytes")
        let down = try await client.execute(uri: "\(base)/data/\(up.text)", method: .get)
        #expect(down.status == .ok)
        #expect(down.headers[.contentLength] == "\(size)")
        #expect(down.bytes == data, "round trip of \(size) bytes")
      }
    }
  }

  @Test func filenameAndMimetypeAreStoredAndChangeTheCid() async throws {
    let t = try TestNode()
    try await t.live { client in
      let plain = try await client.execute(uri: "\(base)/data", method: .post, body: ByteBuffer(string: "hello"))
      let typed = try await client.execute(
        uri: "\(base)/data", method: .post,
        headers: [.contentType: "text/plain", .contentDisposition: "attachment; filename=\"hello.txt\""],
        body: ByteBuffer(string: "hello"))
      #expect(typed.status == .ok)
      #expect(typed.text != plain.text)
      let get = try await client.execute(uri: "\(base)/data/\(typed.text)", method: .get)
      #expect(get.headers[.contentType] == "text/plain")
      #expect(get.headers[.contentDisposition] == "attachment; filename=\"hello.txt\"")
      #expect(get.text == "hello")
    }
  }

  @Test func rangeRequestsReturnExactlyTheAskedBytes() async throws {
    let t = try TestNode()
    let data = randomBytes(3 * 65536 + 123, seed: 42)
    try await t.live { client in
      let up = try await client.execute(uri: "\(base)/data", method: .post, body: ByteBuffer(bytes: data))
      let cid = up.text
      let cases: [(String, Range<Int>)] = [
        ("bytes=0-0", 0..<1), ("bytes=10-99", 10..<100), ("bytes=65530-65545", 65530..<65546),
        ("bytes=100000-", 100_000..<data.count), ("bytes=-200", (data.count - 200)..<data.count),
        ("bytes=0-999999999", 0..<data.count),
      ]
      for (header, range) in cases {
        let r = try await client.execute(uri: "\(base)/data/\(cid)", method: .get, headers: [.range: header])
        #expect(r.status == .partialContent, "\(header)")
        #expect(r.bytes == Array(data[range]), "\(header)")
        #expect(r.headers[.contentRange] == "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(data.count)")
      }
      let bad = try await client.execute(uri: "\(base)/data/\(cid)", method: .get, headers: [.range: "bytes=999999-"])
      #expect(bad.status == .rangeNotSatisfiable)
    }
  }
}

@Suite struct DeleteAndQuotaTests {
  @Test func deletingOneOfTwoDatasetsThatShareBlocksKeepsTheOther() async throws {
    let t = try TestNode()
    let shared = randomBytes(4 * 65536, seed: 7)
    try await t.live { client in
      // Same first four blocks; the second dataset has one more block.
      let a = try await client.execute(uri: "\(base)/data", method: .post, body: ByteBuffer(bytes: shared))
      let bBytes = shared + randomBytes(1000, seed: 8)
      let b = try await client.execute(uri: "\(base)/data", method: .post, body: ByteBuffer(bytes: bBytes))
      let before = try decode(SpaceJSON.self, try await client.execute(uri: "\(base)/space", method: .get))
      #expect(before.totalBlocks == 4 + 1 + 2)
      let del = try await client.execute(uri: "\(base)/data/\(a.text)", method: .delete)
      #expect(del.status == .noContent)
      let gone = try await client.execute(uri: "\(base)/data/\(a.text)", method: .get)
      #expect(gone.status == .notFound)
      let still = try await client.execute(uri: "\(base)/data/\(b.text)", method: .get)
      #expect(still.bytes == bBytes)
      let after = try decode(SpaceJSON.self, try await client.execute(uri: "\(base)/space", method: .get))
      #expect(after.totalBlocks == 4 + 1 + 1)
      // Deleting again, or something never stored, succeeds.
      #expect(try await client.execute(uri: "\(base)/data/\(a.text)", method: .delete).status == .noContent)
      _ = try await client.execute(uri: "\(base)/data/\(b.text)", method: .delete)
      let empty = try decode(SpaceJSON.self, try await client.execute(uri: "\(base)/space", method: .get))
      #expect(empty.totalBlocks == 0)
      #expect(empty.quotaUsedBytes == 0)
    }
  }

  @Test func uploadOverQuotaIsRefusedAndLeavesNoTrace() async throws {
    let t = try TestNode(quota: 10 * 65536)
    try await t.live { client in
      let ok = try await client.execute(
        uri: "\(base)/data", method: .post, body: ByteBuffer(bytes: randomBytes(65536, seed: 1)))
      #expect(ok.status == .ok)
      let before = try decode(SpaceJSON.self, try await client.execute(uri: "\(base)/space", method: .get))
      // With Content-Length (refused up front) ...
      let big = try await client.execute(
        uri: "\(base)/data", method: .post, body: ByteBuffer(bytes: randomBytes(20 * 65536, seed: 2)))
      #expect(big.status == .contentTooLarge)
      #expect(big.text.contains("quota"))
      // ... and streamed without a length (refused when the repo fills).
      let chunks = (0..<20).map { ByteBuffer(bytes: randomBytes(65536, seed: 100 + UInt64($0))) }
      let streamed = try await client.execute(
        uri: "\(base)/data", method: .post, headers: [.transferEncoding: "chunked"],
        body: chunks.reduce(into: ByteBuffer()) { acc, b in
          var b = b; acc.writeBuffer(&b)
        })
      #expect(streamed.status.code >= 400 && streamed.status.code < 500)
      let after = try decode(SpaceJSON.self, try await client.execute(uri: "\(base)/space", method: .get))
      #expect(after == before)
      let list = try await client.execute(uri: "\(base)/data", method: .get)
      let content = (try JSONSerialization.jsonObject(with: Data(list.bytes)) as! [String: Any])["content"] as! [Any]
      #expect(content.count == 1)
    }
  }

  @Test func uploadOfBlocksAlreadyStoredFitsAFullQuota() async throws {
    let t = try TestNode(quota: 12 * 65536)
    try await t.live { client in
      let first = randomBytes(8 * 65536, seed: 7)
      let stored = try await client.execute(uri: "\(base)/data", method: .post, body: ByteBuffer(bytes: first))
      #expect(stored.status == .ok)
      // 8 blocks take more than the quota has left, but they are all here already: the same file again is stored.
      let again = try await client.execute(uri: "\(base)/data", method: .post, body: ByteBuffer(bytes: first))
      #expect(again.status == .ok)
      #expect(again.text == stored.text)
      // 7 shared blocks and 2 new ones fit the 3 free blocks' worth.
      let grown = Array(first.prefix(7 * 65536)) + randomBytes(2 * 65536, seed: 8)
      let other = try await client.execute(uri: "\(base)/data", method: .post, body: ByteBuffer(bytes: grown))
      #expect(other.status == .ok)
      let before = try decode(SpaceJSON.self, try await client.execute(uri: "\(base)/space", method: .get))
      #expect(before.totalBlocks == 8 + 2 + 2)  // the blocks and the two manifests
      // The quota is still a hard limit: 4 new blocks among 4 stored ones do not fit the 2 free blocks' worth. The
      // refusal names the file's size.
      let tooMany = Array(first.prefix(4 * 65536)) + randomBytes(4 * 65536, seed: 9)
      let refused = try await client.execute(uri: "\(base)/data", method: .post, body: ByteBuffer(bytes: tooMany))
      #expect(refused.status == .contentTooLarge)
      #expect(refused.text.contains("\(8 * 65536) bytes needed"))
      let after = try decode(SpaceJSON.self, try await client.execute(uri: "\(base)/space", method: .get))
      #expect(after == before)
      #expect(after.quotaUsedBytes <= after.quotaMaxBytes)
    }
  }
}

@Suite struct BadInputTests {
  @Test func malformedCidsAre400() async throws {
    let t = try TestNode()
    try await t.live { client in
      for bad in ["notacid", "zzzzzz", "Qm", "z", "bafy!!"] {
        let r = try await client.execute(uri: "\(base)/data/\(bad)", method: .get)
        #expect(r.status == .badRequest, "GET \(bad)")
        #expect(!r.text.isEmpty)
        #expect(try await client.execute(uri: "\(base)/data/\(bad)", method: .delete).status == .badRequest)
        #expect(try await client.execute(uri: "\(base)/data/\(bad)/exists", method: .get).status == .badRequest)
      }
    }
  }

  @Test func unknownCidsAndRoutes() async throws {
    let t = try TestNode()
    try await t.live { client in
      let absent = "zDvZRwzmC3Q7e7NLkfsPmtgSCfectUc1ssn5xK2rzC9yRz1yeZuK"
      let r = try await client.execute(uri: "\(base)/data/\(absent)", method: .get)
      #expect(r.status == .notFound)
      #expect(r.text.contains("could not be retrieved"))
      let ex = try await client.execute(uri: "\(base)/data/\(absent)/exists", method: .get)
      #expect(ex.text == "{\"\(absent)\":false}")
      #expect(try await client.execute(uri: "\(base)/nope", method: .get).status == .notFound)
      #expect(try await client.execute(uri: "/", method: .get).status == .notFound)
      #expect(try await client.execute(uri: "\(base)/data/\(absent)/nope", method: .get).status == .notFound)
    }
  }

  @Test func aServedPathWithAnotherMethodIs405WithAllow() async throws {
    let t = try TestNode()
    try await t.live { client in
      // `curl -T file URL` sends PUT.
      let put = try await client.execute(uri: "\(base)/data", method: .put, body: ByteBuffer(string: "x"))
      #expect(put.status == .methodNotAllowed)
      #expect(put.headers[.allow] == "GET, POST")
      #expect(put.text == "PUT is not allowed on \(base)/data; it takes GET, POST (curl -T sends PUT: add -X POST)")
      let cid = "zDvZRwzmC3Q7e7NLkfsPmtgSCfectUc1ssn5xK2rzC9yRz1yeZuK"
      let patch = try await client.execute(uri: "\(base)/data/\(cid)", method: .patch)
      #expect(patch.status == .methodNotAllowed)
      #expect(patch.headers[.allow] == "DELETE, GET, HEAD")
      let del = try await client.execute(uri: "\(base)/space", method: .delete)
      #expect(del.status == .methodNotAllowed)
      #expect(del.headers[.allow] == "GET")
      // Nothing was stored by the refused PUT.
      let space = try decode(SpaceJSON.self, try await client.execute(uri: "\(base)/space", method: .get))
      #expect(space.totalBlocks == 0)
    }
  }

  @Test func manifestWhoseBlocksAreMissingIs404() async throws {
    let t = try TestNode()
    // A manifest for a tree that was never stored.
    let tree = try CodexTree(leaves: [SHA256Hashing.digest([1, 2, 3])])
    let manifest = Manifest(treeCid: tree.rootCid, datasetSize: 3)
    try await t.node.repo.putBlock(manifest.block, ttl: nil)
    try await t.live { client in
      let r = try await client.execute(uri: "\(base)/data/\(manifest.cid)", method: .get)
      #expect(r.status == .notFound)
      #expect(r.text.contains("a block of dataset tree \(tree.rootCid) is not stored on this node"))
      #expect(r.text.contains("no peer is connected"))
    }
  }

  @Test func badHeadersAndEmptyUploadsAre422AndStoreNothing() async throws {
    let t = try TestNode()
    try await t.live { client in
      let badName = try await client.execute(
        uri: "\(base)/data", method: .post, headers: [.contentDisposition: "attachment; filename=\"unterminated"],
        body: ByteBuffer(string: "x"))
      #expect(badName.status == .unprocessableContent)
      #expect(badName.text == "The filename is not valid.")
      let badMime = try await client.execute(
        uri: "\(base)/data", method: .post, headers: [.contentType: "hello/world"], body: ByteBuffer(string: "x"))
      #expect(badMime.status == .unprocessableContent)
      #expect(badMime.text == "The MIME type 'hello/world' is not valid.")
      // Headers with no type before their parameters (a header of only ';' once crashed the node).
      for header in [";", ";;;;", " ; charset=utf-8", ";text/plain"] {
        let r = try await client.execute(
          uri: "\(base)/data", method: .post, headers: [.contentType: header], body: ByteBuffer(string: "x"))
        #expect(r.status == .unprocessableContent, "Content-Type \(header)")
        #expect(r.text.hasPrefix("The MIME type '"), "Content-Type \(header)")
      }
      let withCharset = try await client.execute(
        uri: "\(base)/data", method: .post, headers: [.contentType: "text/plain; charset=utf-8"],
        body: ByteBuffer(string: "x"))
      #expect(withCharset.status == .ok)
      let deleted = try await client.execute(uri: "\(base)/data/\(withCharset.text)", method: .delete)
      #expect(deleted.status == .noContent)
      let empty = try await client.execute(uri: "\(base)/data", method: .post, body: ByteBuffer())
      #expect(empty.status == .unprocessableContent)
      let space = try decode(SpaceJSON.self, try await client.execute(uri: "\(base)/space", method: .get))
      #expect(space.totalBlocks == 0)
      #expect(space.quotaUsedBytes == 0)
    }
  }
}

@Suite struct NodeRouteTests {
  @Test func sprIs503WithAMessageWhileTheNodeHasNoDHTRecord() async throws {
    let t = try TestNode()
    try await t.live { client in
      let r = try await client.execute(uri: "\(base)/spr", method: .get)
      #expect(r.status == .serviceUnavailable)
      #expect(r.headers[.contentType] == "text/plain; charset=utf-8")
      #expect(r.text == "This node has no DHT record (SPR): it does not run the DHT yet")
    }
  }
}

@Suite struct ProtectBodyTests {
  @Test func aProtectBodyOverItsLimitIs413WithAMessage() async throws {
    let t = try TestNode()
    try await t.live { client in
      let cid = "zDvZRwzmC3Q7e7NLkfsPmtgSCfectUc1ssn5xK2rzC9yRz1yeZuK"
      let r = try await client.execute(
        uri: "\(base)/data/\(cid)/protect", method: .post, headers: [.contentType: "application/json"],
        body: ByteBuffer(string: String(repeating: "[", count: 100_000)))
      #expect(r.status == .contentTooLarge)
      #expect(r.text == "The request body is too large for this endpoint")
    }
  }
}

@Suite struct CORSTests {
  @Test func corsHeadersOnlyWhenConfigured() async throws {
    let t = try TestNode(cors: "*")
    try await t.live { client in
      let opt = try await client.execute(uri: "\(base)/data", method: .options)
      #expect(opt.status == .noContent)
      #expect(opt.headers[.accessControlAllowOrigin] == "*")
      #expect(opt.headers[.accessControlAllowHeaders] == "content-type, content-disposition")
      let space = try await client.execute(uri: "\(base)/space", method: .get)
      #expect(space.headers[.accessControlAllowOrigin] == "*")
      #expect(space.headers[.accessControlMaxAge] == "86400")
    }
    let plain = try TestNode()
    try await plain.live { client in
      let space = try await client.execute(uri: "\(base)/space", method: .get)
      #expect(space.headers[.accessControlAllowOrigin] == nil)
    }
  }
}

@Suite struct StoreErrorStatusTests {
  @Test func aFullDiskIs507AndOtherStorageFailuresAre500() {
    #expect(APIError.from(StoreError.diskFull("write failed")).status.code == 507)
    #expect(APIError.from(NodeError.store(.diskFull("write failed"))).status.code == 507)
    #expect(APIError.from(StoreError.io("read failed")).status.code == 500)
    #expect(APIError.from(StoreError.quotaExceeded(needed: 2, available: 1)).status.code == 413)
    #expect(
      APIError.from(StoreError.quotaHeld(needed: 2, available: 3, hold: QuotaHold(bytes: 2, downloads: 1))).status.code
        == 413)
    #expect(
      APIError.from(
        NodeError.wrap(StoreError.quotaHeld(needed: 2, available: 3, hold: QuotaHold(bytes: 2, downloads: 1)))
      ).status.code
        == 413)
  }
}
