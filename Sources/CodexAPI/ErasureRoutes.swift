import CodexErasure
import CodexFormats
import CodexNode
import CodexStore
import Foundation
import Hummingbird
import Logging
import Multiformats

/// `POST /data/{cid}/protect`: erasure-codes a locally stored plain dataset (`erasure.md` §2.3).
///
/// Body (optional): JSON `{"nodes": N, "tolerance": T}`, defaults 3 and 1 (`K = N − T`, `M = T`). Answers 200
/// with the protected manifest CID as text; 400 for a bad CID or body, 404 when the manifest (or a block of its
/// dataset) is not stored here, 422 for parameters Codex refuses, a dataset smaller than `K` blocks or a manifest
/// that is already protected, 413 when the parity does not fit in the quota.
struct ErasureRoutes {
  let node: CodexNode

  /// The request body.
  struct ProtectRequest: Decodable {
    var nodes: Int?
    var tolerance: Int?
  }

  func register(on api: RouterGroup<CodexRequestContext>) {
    api.post("data/:cid/protect") { request, context in try await protect(request, context) }
  }

  func protect(_ request: Request, _ context: CodexRequestContext) async throws -> Response {
    let cid = try CodexAPI.cid(context)
    let body = try await request.body.collect(upTo: 64 * 1024)
    var parsed = ProtectRequest()
    if body.readableBytes > 0 {
      let bytes = Data(body.readableBytesView)
      let blank = bytes.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
      if !blank {
        do { parsed = try JSONDecoder().decode(ProtectRequest.self, from: bytes) } catch {
          throw APIError(.badRequest, "Invalid JSON body: expected {\"nodes\": N, \"tolerance\": T} with integers")
        }
      }
    }
    let manifest = try await node.manifest(cid)
    do {
      let parameters = try ErasureParameters(nodes: parsed.nodes ?? 3, tolerance: parsed.tolerance ?? 1)
      let encoder = ErasureEncoder(
        store: node.repo, logger: context.logger, concurrency: CodexNode.erasureConcurrency)
      let protected = try await encoder.encode(manifest, parameters: parameters)
      return CodexAPI.text(protected.cid.string)
    } catch let error as ErasureCodingError {
      throw Self.apiError(error)
    }
  }

  /// The status a client sees for an erasure-coding failure.
  static func apiError(_ error: ErasureCodingError) -> APIError {
    switch error {
    case .invalidParameters, .datasetTooSmall, .alreadyProtected, .notProtected, .invalidManifest, .codec:
      return APIError(.unprocessableContent, error.description)
    case .missingBlock, .unrecoverable:
      return APIError(.notFound, error.description)
    case .invalidBlock, .verificationFailed, .repairMismatch:
      return APIError(.internalServerError, error.description)
    }
  }
}
