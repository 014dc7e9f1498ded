import CodexNode
import CodexStore
import Foundation
import Hummingbird
import LibP2P
import Multiformats

/// `/space`, `/peerid`, `/spr`, `/connect`, `/debug/info`, the log level and the OpenAPI document.
struct NodeRoutes {
  let node: CodexNode
  let setLogLevel: CodexAPI.LogLevelSetter?

  func register(on api: RouterGroup<CodexRequestContext>) {
    api.get("space") { _, _ in try CodexAPI.json(try await node.space()) }
    // nim-codex answers 503 while its DHT record is not ready; this node has no DHT yet, so never has one.
    // Returned, not thrown: an expected state, not a failure to log at error level on every call.
    api.get("spr") { _, _ -> Response in
      CodexAPI.text("This node has no DHT record (SPR): it does not run the DHT yet", status: .serviceUnavailable)
    }
    api.post("debug/chronicles/loglevel") { request, _ in
      guard let setLogLevel else {
        throw APIError(.serviceUnavailable, "The log level cannot be changed in this process")
      }
      guard let spec = request.uri.queryParameters.get("level"), !spec.isEmpty else {
        throw APIError(.badRequest, "Missing log level")
      }
      // nim-codex answers 500 for a level it cannot parse; bad input is a 4xx here.
      do { try setLogLevel(spec) } catch { throw APIError(.badRequest, "\(error)") }
      return Response(status: .ok)
    }
    api.get("peerid") { request, _ in
      let id = node.network.peerID.description
      if request.headers[.accept]?.contains("text/plain") == true { return CodexAPI.text(id) }
      return try CodexAPI.json(["id": id])
    }
    api.get("connect/:peerId") { request, context in
      let text = context.parameters.get("peerId") ?? ""
      guard let peer = try? PeerID(string: text) else { throw APIError(.badRequest, "Invalid peer id '\(text)'") }
      guard peer != node.network.peerID else {
        throw APIError(.badRequest, "Unable to dial peer: \(HostError.dialSelf)")
      }
      let addrs = request.uri.queryParameters.getAll("addrs").map { String($0) }
      guard !addrs.isEmpty else {
        throw APIError(.badRequest, "Unable to find Peer! (no addrs given; DHT lookup is not available yet)")
      }
      var parsed: [Multiaddr] = []
      for a in addrs {
        guard let m = try? Multiaddr(string: a) else { throw APIError(.badRequest, "Invalid multiaddr '\(a)'") }
        parsed.append(m)
      }
      do { try await node.connect(peer: peer, addresses: parsed) } catch {
        throw APIError(.badRequest, "Unable to dial peer: \(error)")
      }
      return CodexAPI.text("Successfully connected to peer")
    }
    api.get("debug/info") { _, _ in
      let info = DebugInfo(
        id: node.network.peerID.description, addrs: node.network.listenAddresses.map(\.description),
        repo: node.config.repoDir, spr: "",
        announceAddresses: node.network.announceAddresses.map(\.description),
        table: .init(localNode: nil, nodes: []),
        codex: .init(version: CodexAPI.version, revision: "", contracts: ""),
        blockExchange: BlockExchangeInfo(
          receivedBlocksByPeer: Dictionary(
            uniqueKeysWithValues: await node.exchange.engine.receivedBlocksByPeer.map { ($0.key.description, $0.value) }
          )),
        marketplace: await node.marketplace?.status())
      return try CodexAPI.json(info, pretty: true)
    }
    api.get("openapi.yaml") { _, _ in
      var headers = HTTPFields()
      headers[.contentType] = "application/yaml"
      return Response(
        status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: CodexAPI.openAPIDocument)))
    }
  }
}
