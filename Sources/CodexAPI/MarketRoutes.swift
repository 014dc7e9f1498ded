import CodexNode
import Hummingbird

/// The marketplace endpoints (`rest-and-cli.md` §4). Without the `persistence` subcommand every one answers
/// 503 "Persistence is not enabled", as nim-codex. With it, `GET /sales/slots` reads the host's active slots through
/// the contract binding; the endpoints that need the sales and purchasing state machines (availabilities,
/// reservations, slot agents, storage requests, purchases) answer 501 until those are built.
struct MarketRoutes {
  let node: CodexNode

  static let notEnabled = "Persistence is not enabled"

  /// The node's marketplace, or the 503 answer.
  static func enabled(_ node: CodexNode) throws -> NodeMarketplace {
    guard let m = node.marketplace else { throw APIError(.serviceUnavailable, notEnabled) }
    return m
  }

  /// The 501 answer for an endpoint whose state machine is not built yet.
  static func notBuilt(_ endpoint: String) -> APIError {
    let component = endpoint.contains("/storage/") ? "purchasing state machine" : "sales state machine"
    return APIError(.notImplemented, "\(endpoint) is not implemented by this node yet (the \(component) is not built)")
  }

  func register(on api: RouterGroup<BasicRequestContext>) {
    let node = self.node
    api.get("sales/slots") { _, _ in
      try CodexAPI.json(try await Self.enabled(node).activeSlots())
    }
    let unbuilt: [(HTTPRequest.Method, RouterPath, String)] = [
      (.get, "sales/slots/:slotId", "GET /sales/slots/{slotId}"),
      (.get, "sales/availability", "GET /sales/availability"),
      (.post, "sales/availability", "POST /sales/availability"),
      (.patch, "sales/availability/:id", "PATCH /sales/availability/{id}"),
      (.get, "sales/availability/:id/reservations", "GET /sales/availability/{id}/reservations"),
      (.post, "storage/request/:cid", "POST /storage/request/{cid}"),
      (.get, "storage/purchases", "GET /storage/purchases"),
      (.get, "storage/purchases/:id", "GET /storage/purchases/{id}"),
    ]
    for (method, path, name) in unbuilt {
      api.on(path, method: method) { _, _ -> Response in
        _ = try Self.enabled(node)
        throw Self.notBuilt(name)
      }
    }
  }
}
