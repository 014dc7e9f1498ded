import CodexNode
import CodexStore
import Hummingbird
import NIOCore
import NIOHTTP1

/// An error answer: a status and a plain-text message (nim-codex's `RestApiResponse.error`).
public struct APIError: HTTPResponseError, CustomStringConvertible {
  public let status: HTTPResponse.Status
  public let message: String
  /// Extra header fields of the answer (e.g. `Content-Range: bytes */SIZE` on a 416).
  public let headers: HTTPFields

  public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
    self.status = status
    self.message = message
    self.headers = headers
  }

  /// 416 for a range outside a dataset of `size` bytes, with the `Content-Range: bytes */SIZE` that RFC 9110
  /// §15.5.17 asks for (so a client learns the size).
  static func rangeNotSatisfiable(size: UInt64) -> APIError {
    var headers = HTTPFields()
    headers[.contentRange] = "bytes */\(size)"
    return APIError(.rangeNotSatisfiable, "Requested range not satisfiable (size \(size))", headers: headers)
  }

  public var description: String { "\(status.code) \(message)" }

  public func response(from request: Request, context: some RequestContext) throws -> Response {
    var headers = self.headers
    headers[.contentType] = "text/plain; charset=utf-8"
    let body = ByteBuffer(string: message)
    guard request.method != .head else {
      // An answer to HEAD has no body (a keep-alive client would read it as the start of the next answer).
      headers[.contentLength] = String(body.readableBytes)
      return Response(status: status, headers: headers, body: ResponseBody { writer in try await writer.finish(nil) })
    }
    return Response(status: status, headers: headers, body: .init(byteBuffer: body))
  }

  /// Maps any error from the node to the status a client should see: bad input is 4xx, never 500.
  public static func from(_ error: any Error) -> APIError {
    switch error {
    case let e as APIError: return e
    case let e as NodeError:
      switch e {
      case .invalidCid: return APIError(.badRequest, e.description)
      case .notFound, .notOnNetwork, .missingBlock, .blocksUnreachable: return APIError(.notFound, e.description)
      case .notAManifest: return APIError(.badRequest, e.description)
      case .emptyUpload, .invalidInput: return APIError(.unprocessableContent, e.description)
      case .quotaExceeded, .quotaPromised: return APIError(.contentTooLarge, e.description)
      case .rangeNotSatisfiable(let size): return rangeNotSatisfiable(size: size)
      case .format: return APIError(.unprocessableContent, e.description)
      case .store(let s): return from(s)
      }
    case let e as StoreError:
      switch e {
      case .quotaExceeded, .quotaHeld: return APIError(.contentTooLarge, e.description)
      case .blockInUse: return APIError(.conflict, e.description)
      case .notFound: return APIError(.notFound, e.description)
      case .diskFull: return APIError(.init(code: 507, reasonPhrase: "Insufficient Storage"), e.description)
      default: return APIError(.internalServerError, e.description)
      }
    case let e as HTTPError:
      return APIError(e.status, e.body ?? e.status.reasonPhrase)
    case is CancellationError:
      return APIError(.serviceUnavailable, "The node is stopping; the request was aborted")
    case is NIOTooManyBytesError:
      // A body larger than the endpoint reads (the small JSON object of POST /data/{cid}/protect: 64 KiB).
      return APIError(.contentTooLarge, "The request body is too large for this endpoint")
    case let e as HTTPParserError:
      // The request itself is malformed (e.g. a bad chunk size in a chunked upload body).
      return APIError(.badRequest, "Malformed HTTP request: \(e)")
    default:
      return APIError(.internalServerError, "\(error)")
    }
  }
}

/// Turns every thrown error into a plain-text answer with the right status.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
  /// The served paths and methods: a known path asked with another method is 405, not 404.
  let routes: RouteMethods

  func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
    -> Response
  {
    do {
      return try await next(request, context)
    } catch {
      if let e = error as? HTTPError, e.status == .notFound,
        let notAllowed = routes.notAllowed(request.method.rawValue, at: request.uri.path)
      {
        return try notAllowed.response(from: request, context: context)
      }
      let e = APIError.from(error)
      if e.status.code >= 500 && !(error is CancellationError) {
        context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(e.message)"])
      }
      return try e.response(from: request, context: context)
    }
  }
}
