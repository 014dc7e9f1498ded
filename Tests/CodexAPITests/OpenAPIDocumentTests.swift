import CodexAPI
import Foundation
import Hummingbird
import Testing
import Yams

/// `openapi.yaml` (served at `/openapi.yaml`) must be valid YAML and describe exactly the routes the router serves.
@Suite struct OpenAPIDocumentTests {
  /// "METHOD /path" of every operation in the document (paths as written there, `{param}` style).
  static func documentedOperations(_ yaml: String) throws -> Set<String> {
    let methods: Set<String> = ["get", "put", "post", "delete", "head", "options", "patch"]
    let document = try #require(try Yams.load(yaml: yaml) as? [String: Any], "openapi.yaml is not a YAML mapping")
    #expect((document["openapi"] as? String)?.hasPrefix("3.") == true)
    let paths = try #require(document["paths"] as? [String: Any], "openapi.yaml has no paths")
    var operations = Set<String>()
    for (path, item) in paths {
      let item = try #require(item as? [String: Any], "path \(path) is not a mapping")
      for (key, operation) in item where methods.contains(key) {
        let operation = try #require(operation as? [String: Any], "\(key) \(path) is not a mapping")
        #expect(operation["responses"] is [AnyHashable: Any], "\(key) \(path) has no responses")
        operations.insert("\(key.uppercased()) \(path)")
      }
    }
    return operations
  }

  @Test func everyServedRouteIsDocumentedAndNothingElse() async throws {
    let test = try TestNode()
    defer { try? FileManager.default.removeItem(atPath: test.dir) }
    let router = CodexAPI.router(node: test.node, corsOrigin: nil)
    let prefix = "/api/codex/v1"
    let served = Set(
      router.routes.map { route -> String in
        // Hummingbird prints parameters as `:name`; the document writes `{name}`.
        let parts = "\(route.path)".split(separator: "/").map { part -> String in
          part.hasPrefix(":") ? "{\(part.dropFirst())}" : String(part)
        }
        let full = "/" + parts.joined(separator: "/")
        #expect(full.hasPrefix(prefix), "route \(full) is outside \(prefix)")
        return "\(route.method) \(full.dropFirst(prefix.count))"
      })
    let documented = try Self.documentedOperations(CodexAPI.openAPIDocument)
    #expect(served.count > 20)
    #expect(served.subtracting(documented).sorted() == [], "served but not in openapi.yaml")
    #expect(documented.subtracting(served).sorted() == [], "in openapi.yaml but not served")
    await test.node.close()
  }
}
