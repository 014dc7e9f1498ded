import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A tiny HTTP/1.1 server on 127.0.0.1 imitating the node's data endpoints, for client tests.
///
/// - `POST /api/codex/v1/data`: reads the whole body; replies `z<byte count>x<checksum>` (checksum = sum of the
///   bytes mod 2^32), or 422 when Content-Type is `bad/type`. The last upload's headers are kept.
/// - `GET /api/codex/v1/data/zSize<N>`: N bytes of ``FakeNode/pattern(_:)`` with Content-Length, in 7 KiB writes.
/// - `GET /api/codex/v1/data/zShort<N>`: announces N + 10 bytes, sends N, then closes.
/// - `GET .../network/stream` of `zSize<N>`: same as local, header `X-Network: 1`.
/// - other `GET /data/<cid>`: 404 with upstream's message. `DELETE /data/<cid>`: 204.
/// - `GET /data`, `/space`, `/data/<cid>/exists`, `/debug/info`: canned JSON.
/// - `POST /data/<cid>/network`: a data item (404 for `zMissing...`); `GET /data/<cid>/network/download`: for
///   `zDone...` running (1 of 4 blocks), running (3), completed (4) on successive polls; for `zFail...` running (1),
///   then failed ("cancelled: the dataset was deleted").
/// - `GET /connect/<peer>`: 200 for peer `16UiuGood`, else 400 "Unable to dial peer"; the URI is recorded.
final class FakeNode: Sendable {
  let channel: any Channel
  let recorder: Recorder

  var port: Int { channel.localAddress!.port! }
  var url: String { "http://127.0.0.1:\(port)" }

  static func start() async throws -> FakeNode {
    let recorder = Recorder()
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelInitializer { channel in
        channel.pipeline.configureHTTPServerPipeline().flatMap {
          channel.pipeline.addHandler(FakeNodeHandler(recorder: recorder))
        }
      }
      .bind(host: "127.0.0.1", port: 0).get()
    return FakeNode(channel: channel, recorder: recorder)
  }

  private init(channel: any Channel, recorder: Recorder) {
    self.channel = channel
    self.recorder = recorder
  }

  func stop() async throws { try await channel.close() }

  /// The byte at offset `i` of every fake download.
  static func pattern(_ i: Int) -> UInt8 { UInt8(truncatingIfNeeded: (i &* 31) ^ (i >> 8)) }

  /// Headers of the last request, shared with the event loop.
  final class Recorder: Sendable {
    private let headers = Mutex<[String: String]>([:])
    private let uri = Mutex("")
    private let polls = Mutex<[String: Int]>([:])
    var lastHeaders: [String: String] { headers.withLock { $0 } }
    /// The last request's URI (path and query).
    var lastURI: String { uri.withLock { $0 } }
    func record(uri text: String) { uri.withLock { $0 = text } }
    /// Counts a status poll of `cid`'s download; returns how many came before it.
    func poll(_ cid: String) -> Int {
      polls.withLock { p in
        defer { p[cid, default: 0] += 1 }
        return p[cid, default: 0]
      }
    }
    func record(_ fields: HTTPHeaders) {
      var map: [String: String] = [:]
      for (name, value) in fields { map[name.lowercased()] = value }
      headers.withLock { $0 = map }
    }
  }
}

private final class FakeNodeHandler: ChannelInboundHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart

  let recorder: FakeNode.Recorder
  var head: HTTPRequestHead?
  var count = 0
  var checksum: UInt32 = 0

  init(recorder: FakeNode.Recorder) { self.recorder = recorder }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head(let h):
      head = h
      count = 0
      checksum = 0
      recorder.record(h.headers)
    case .body(let buffer):
      count += buffer.readableBytes
      buffer.withUnsafeReadableBytes { raw in
        for b in raw { checksum &+= UInt32(b) }
      }
    case .end:
      guard let head else { return }
      respond(context: context, head: head)
    }
  }

  private func send(
    _ context: ChannelHandlerContext, _ status: HTTPResponseStatus, _ body: String,
    type: String = "text/plain"
  ) {
    var headers = HTTPHeaders()
    headers.add(name: "Content-Type", value: type)
    headers.add(name: "Content-Length", value: "\(body.utf8.count)")
    context.write(
      wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
    if !body.isEmpty {
      context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
    }
    context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
  }

  private func stream(_ context: ChannelHandlerContext, size: Int, announce: Int, extra: HTTPHeaders = [:]) {
    var headers = extra
    headers.add(name: "Content-Type", value: "application/octet-stream")
    headers.add(name: "Content-Disposition", value: "attachment")
    headers.add(name: "Content-Length", value: "\(announce)")
    context.write(
      wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
    var offset = 0
    while offset < size {
      let n = min(7 * 1024, size - offset)
      var buffer = context.channel.allocator.buffer(capacity: n)
      for i in offset..<(offset + n) { buffer.writeInteger(FakeNode.pattern(i)) }
      context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
      offset += n
    }
    if announce == size {
      context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    } else {
      context.flush()
      context.close(promise: nil)
    }
  }

  private func respond(context: ChannelHandlerContext, head: HTTPRequestHead) {
    let prefix = "/api/codex/v1"
    guard head.uri.hasPrefix(prefix) else { return send(context, .notFound, "no route") }
    recorder.record(uri: head.uri)
    let path = String(head.uri.dropFirst(prefix.count).prefix { $0 != "?" })
    let parts = path.split(separator: "/").map(String.init)
    switch (head.method, parts.count) {
    case (.POST, 3) where parts[0] == "data" && parts[2] == "network":
      if parts[1].hasPrefix("zMissing") {
        return send(context, .notFound, "The requested CID could not be retrieved (\(parts[1])).")
      }
      send(
        context, .ok,
        #"{"cid":"\#(parts[1])","manifest":{"treeCid":"zT","datasetSize":262144,"blockSize":65536,"#
          + #""filename":null,"mimetype":null,"protected":false}}"#, type: "application/json")
    case (.GET, 4) where parts[0] == "data" && parts[2] == "network" && parts[3] == "download":
      let cid = parts[1]
      let n = recorder.poll(cid)
      let (state, done, error): (String, Int, String?) =
        cid.hasPrefix("zFail")
        ? (n == 0 ? ("running", 1, nil) : ("failed", 1, "cancelled: the dataset was deleted"))
        : (n < 2 ? ("running", n == 0 ? 1 : 3, nil) : ("completed", 4, nil))
      let errorJSON = error.map { ",\"error\":\"\($0)\"" } ?? ""
      send(
        context, .ok,
        "{\"cid\":\"\(cid)\",\"state\":\"\(state)\"\(errorJSON),\"totalBlocks\":4,\"doneBlocks\":\(done),"
          + "\"fetchedBlocks\":\(done),\"recoveredBlocks\":0,\"unavailableBlocks\":0,\"startedAt\":\"x\"}",
        type: "application/json")
    case (.GET, 2) where parts[0] == "debug" && parts[1] == "info":
      send(
        context, .ok,
        #"{"id":"16UiuSelf","addrs":["/ip4/127.0.0.1/tcp/4000"],"announceAddresses":["/ip4/10.0.0.1/tcp/4000"],"#
          + #""repo":"/d/repo","spr":"","table":{"nodes":[]},"codex":{"version":"0.1.0","revision":""}}"#,
        type: "application/json")
    case (.GET, 2) where parts[0] == "connect":
      if parts[1] == "16UiuGood" { return send(context, .ok, "Successfully connected to peer") }
      send(context, .badRequest, "Unable to dial peer: connection refused")
    case (.POST, 1) where parts[0] == "data":
      if head.headers.first(name: "Content-Type") == "bad/type" {
        return send(context, .unprocessableEntity, "The MIME type 'bad/type' is not valid.")
      }
      send(context, .ok, "z\(count)x\(checksum)")
    case (.GET, 1) where parts[0] == "data":
      send(
        context, .ok,
        #"{"content":[{"cid":"zA","manifest":{"treeCid":"zT","datasetSize":5,"blockSize":65536,"#
          + #""filename":"a.txt","mimetype":"text/plain","protected":false}}]}"#, type: "application/json")
    case (.GET, 1) where parts[0] == "space":
      send(
        context, .ok, #"{"totalBlocks":2,"quotaMaxBytes":1000,"quotaUsedBytes":600,"quotaReservedBytes":100}"#,
        type: "application/json")
    case (.DELETE, 2) where parts[0] == "data":
      send(context, .noContent, "")
    case (.GET, 3) where parts[0] == "data" && parts[2] == "exists":
      send(context, .ok, "{\"\(parts[1])\":\(parts[1].hasPrefix("zSize"))}", type: "application/json")
    case (.GET, 2) where parts[0] == "data", (.GET, 4) where parts[0] == "data" && parts[2] == "network":
      let cid = parts[1]
      let extra: HTTPHeaders = parts.count == 4 ? ["X-Network": "1"] : [:]
      if cid.hasPrefix("zSize"), let n = Int(cid.dropFirst(5)) {
        stream(context, size: n, announce: n, extra: extra)
      } else if cid.hasPrefix("zShort"), let n = Int(cid.dropFirst(6)) {
        stream(context, size: n, announce: n + 10)
      } else {
        send(context, .notFound, "The requested CID could not be retrieved (\(cid)).")
      }
    default:
      send(context, .notFound, "no route")
    }
  }
}
