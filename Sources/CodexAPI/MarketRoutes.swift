import CodexNode
import Hummingbird

/// The marketplace endpoints (`rest-and-cli.md` §4). Without the `persistence` subcommand every one answers
/// 503 "Persistence is not enabled", as nim-codex. With it, `GET /sales/slots` reads the host's active slots through
/// the contract binding; the endpoints that need the sales and purchasing state machines (availabilities,
/// reservations, slot agents, storage requests, purchases) answer 501 until those are built.
struct MarketRoutes {
  let node: CodexNode

  static let notEnabled = "Persistence is not enabled"

  /// The 503 answer without persistence (returned, not thrown: an expected condition, not logged as a failure).
  static func unavailable() -> Response { CodexAPI.text(notEnabled, status: .serviceUnavailable) }

  /// The 501 answer for an endpoint whose state machine is not built yet.
  static func notBuilt(_ endpoint: String) -> Response {
    let component = endpoint.contains("/storage/") ? "purchasing state machine" : "sales state machine"
    return CodexAPI.text(
      "\(endpoint) is not implemented by this node yet (the \(component) is not built)", status: .notImplemented)
  }

  func register(on api: RouterGroup<CodexRequestContext>) {
    let node = self.node
    api.get("sales/slots") { _, _ in
      guard let m = node.marketplace else { return Self.unavailable() }
      return try CodexAPI.json(try await m.activeSlots())
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
        node.marketplace == nil ? Self.unavailable() : Self.notBuilt(name)
      }
    }
  }
}
