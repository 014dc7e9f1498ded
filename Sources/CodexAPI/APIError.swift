import CodexNode
import CodexStore
import Hummingbird

/// An error answer: a status and a plain-text message (nim-codex's `RestApiResponse.error`).
public struct APIError: HTTPResponseError, CustomStringConvertible {
  public let status: HTTPResponse.Status
  public let message: String

  public init(_ status: HTTPResponse.Status, _ message: String) {
    self.status = status
    self.message = message
  }

  public var description: String { "\(status.code) \(message)" }

  public func response(from request: Request, context: some RequestContext) throws -> Response {
    var headers = HTTPFields()
    headers[.contentType] = "text/plain; charset=utf-8"
    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: message)))
  }

  /// Maps any error from the node to the status a client should see: bad input is 4xx, never 500.
  public static func from(_ error: any Error) -> APIError {
    switch error {
    case let e as APIError: return e
    case let e as NodeError:
      switch e {
      case .invalidCid: return APIError(.badRequest, e.description)
      case .notFound, .missingBlock: return APIError(.notFound, e.description)
      case .notAManifest: return APIError(.badRequest, e.description)
      case .emptyUpload, .invalidInput: return APIError(.unprocessableContent, e.description)
      case .quotaExceeded: return APIError(.contentTooLarge, e.description)
      case .rangeNotSatisfiable: return APIError(.rangeNotSatisfiable, e.description)
      case .format: return APIError(.unprocessableContent, e.description)
      case .store(let s): return from(s)
      }
    case let e as StoreError:
      switch e {
      case .quotaExceeded: return APIError(.contentTooLarge, e.description)
      case .blockInUse: return APIError(.conflict, e.description)
      case .notFound: return APIError(.notFound, e.description)
      default: return APIError(.internalServerError, e.description)
      }
    case let e as HTTPError:
      return APIError(e.status, e.body ?? e.status.reasonPhrase)
    default:
      return APIError(.internalServerError, "\(error)")
    }
  }
}

/// Turns every thrown error into a plain-text answer with the right status.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
  func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
    -> Response
  {
    do {
      return try await next(request, context)
    } catch {
      let e = APIError.from(error)
      if e.status.code >= 500 {
        context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(e.message)"])
      }
      return try e.response(from: request, context: context)
    }
  }
}
