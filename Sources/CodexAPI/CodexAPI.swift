import CodexFormats
import CodexNode
import CodexStore
import Foundation
import Hummingbird
import Logging
import Multiformats
import NIOCore

/// The REST API of a node under `/api/codex/v1` (`rest-and-cli.md`), on Hummingbird.
public enum CodexAPI {
  /// The version reported in `/debug/info`.
  public static let version = "0.1.0"

  /// Changes the process's log level from a chronicles-style spec (`DEBUG`, `DEBUG;TRACE:codex`); throws an error
  /// whose description says what is wrong with the spec.
  public typealias LogLevelSetter = @Sendable (String) throws -> Void

  /// Builds the router with every route. Without `setLogLevel`, `POST /debug/chronicles/loglevel` answers 503.
  public static func router(
    node: CodexNode, corsOrigin: String?, setLogLevel: LogLevelSetter? = nil
  ) -> Router<CodexRequestContext> {
    let router = Router(context: CodexRequestContext.self)
    let methods = RouteMethods()
    router.middlewares.add(ErrorMiddleware(routes: methods))
    if let origin = corsOrigin { router.middlewares.add(CORSHeaders(origin: origin)) }
    let api = router.group("api/codex/v1")
    DataRoutes(node: node, cors: corsOrigin != nil).register(on: api)
    NodeRoutes(node: node, setLogLevel: setLogLevel).register(on: api)
    ErasureRoutes(node: node).register(on: api)
    ProofRoutes(node: node).register(on: api)
    MarketRoutes(node: node).register(on: api)
    SlotCheckRoutes(node: node).register(on: api)
    ExchangeDebugRoutes(node: node).register(on: api)
    methods.fill(router.routes.map { (path: "\($0.path)", method: $0.method.rawValue) })
    return router
  }

  /// Makes the HTTP application bound to the node's configured address and port.
  public static func application(
    node: CodexNode, logger: Logger, setLogLevel: LogLevelSetter? = nil,
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
  ) -> some ApplicationProtocol {
    let receiveBudget = ReceiveBudget()
    return Application(
      router: router(node: node, corsOrigin: node.config.apiCorsOrigin, setLogLevel: setLogLevel),
      server: .http1(
        configuration: .init(
          additionalChannelHandlers: [ReceiveBufferSizing(budget: receiveBudget), ExpectContinue()],
          idleTimeout: node.config.apiIdleTimeout > .zero ? TimeAmount(node.config.apiIdleTimeout) : nil)),
      configuration: .init(
        address: .hostname(node.config.apiBindAddress, port: node.config.apiPort), serverName: "codex"),
      onServerRunning: onServerRunning,
      logger: logger)
  }

  /// Our OpenAPI document, served at `/api/codex/v1/openapi.yaml`.
  public static var openAPIDocument: String {
    guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
      let text = try? String(contentsOf: url, encoding: .utf8)
    else { return "" }
    return text
  }

  static func text(_ s: String, status: HTTPResponse.Status = .ok) -> Response {
    var headers = HTTPFields()
    headers[.contentType] = "text/plain; charset=utf-8"
    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: s)))
  }

  static func json(_ value: some Encodable, pretty: Bool = false) throws -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting =
      pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.withoutEscapingSlashes]
    var headers = HTTPFields()
    headers[.contentType] = "application/json"
    return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(data: try encoder.encode(value))))
  }

  static func cid(_ context: CodexRequestContext) throws -> Cid {
    try CodexNode.parseCid(context.parameters.get("cid") ?? "")
  }
}

/// nim-codex's CORS behaviour (`rest-and-cli.md` §1.1): the configured origin on every answer, and the method.
struct CORSHeaders<Context: RequestContext>: RouterMiddleware {
  let origin: String
  func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
    -> Response
  {
    var response = try await next(request, context)
    guard !origin.isEmpty else { return response }
    response.headers[.accessControlAllowOrigin] = origin
    if response.headers[.accessControlAllowMethods] == nil {
      response.headers[.accessControlAllowMethods] = "\(request.method.rawValue), OPTIONS"
    }
    response.headers[.accessControlMaxAge] = "86400"
    return response
  }
}
