import Hummingbird
import Synchronization

/// The paths the router serves and the methods each takes, so a request for a known path with another method gets
/// 405 with `Allow` (and a hint) instead of Hummingbird's 404. The common case: `curl -T file URL` sends PUT.
final class RouteMethods: Sendable {
  private let table = Mutex<[(segments: [Substring], methods: [String])]>([])

  /// Records the router's routes (call once, after every route is registered).
  func fill(_ routes: [(path: String, method: String)]) {
    var byPath: [String: [String]] = [:]
    for r in routes { byPath[r.path, default: []].append(r.method) }
    table.withLock { t in
      t = byPath.map { (path, methods) in (path.split(separator: "/"), methods.sorted()) }
    }
  }

  /// The methods served at `path` (a request path without query), or nil when no route has that path. A route
  /// segment `{name}` (or `:name`) matches any one segment.
  func methods(at path: String) -> [String]? {
    let parts = path.split(separator: "/")
    let matching = table.withLock { t in
      t.filter { route in
        route.segments.count == parts.count
          && zip(route.segments, parts).allSatisfy { pattern, part in
            pattern.hasPrefix("{") || pattern.hasPrefix(":") || pattern == part
          }
      }
    }
    guard !matching.isEmpty else { return nil }
    return Set(matching.flatMap(\.methods)).sorted()
  }

  /// The 405 answer for `method` at `path`, or nil when the path is not served at all (a real 404) or the method
  /// is served there.
  func notAllowed(_ method: String, at path: String) -> APIError? {
    guard let methods = methods(at: path), !methods.contains(method) else { return nil }
    let allow = methods.joined(separator: ", ")
    var message = "\(method) is not allowed on \(path); it takes \(allow)"
    if method == "PUT" && methods.contains("POST") { message += " (curl -T sends PUT: add -X POST)" }
    var headers = HTTPFields()
    headers[.allow] = allow
    return APIError(.methodNotAllowed, message, headers: headers)
  }
}
