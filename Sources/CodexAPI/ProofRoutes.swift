import CodexFormats
import CodexNode
import CodexProofs
import CodexStore
import Foundation
import Hummingbird
import Logging
import Multiformats

/// `POST /data/{cid}/verifiable`: builds the verifiable manifest of a locally stored protected dataset
/// (`slots-and-proofs.md` §5): slot trees, verify tree, slot-tree leaf metadata and the manifest block.
///
/// Answers 200 with the verifiable manifest CID as text (the same CID again for a manifest that is already
/// verifiable and checks out); 400 for a bad CID, 404 when the manifest or a block of its dataset is not stored
/// here, 422 for a plain or inconsistent manifest, 413 when the metadata does not fit in the quota.
/// Hashing runs on a compute pool of low-priority threads (one per core), never on the request's executor.
struct ProofRoutes {
  let node: CodexNode

  func register(on api: RouterGroup<CodexRequestContext>) {
    api.post("data/:cid/verifiable") { request, context in try await verifiable(request, context) }
  }

  func verifiable(_ request: Request, _ context: CodexRequestContext) async throws -> Response {
    let cid = try CodexAPI.cid(context)
    let manifest = try await node.manifest(cid)
    // One pool per request: its threads exist only while a dataset is being hashed.
    let pool = ComputePool()
    do {
      let built = try await VerifiableBuilder(store: node.repo, pool: pool, logger: context.logger).build(manifest)
      await pool.shutdown()
      return CodexAPI.text(built.cid.string)
    } catch let error as VerifiableError {
      await pool.shutdown()
      throw Self.apiError(error)
    } catch {
      await pool.shutdown()
      throw error
    }
  }

  /// The status a client sees for a slot-building failure.
  static func apiError(_ error: VerifiableError) -> APIError {
    switch error {
    case .notProtected, .invalidManifest, .invalidLayout, .verifyRootMismatch, .slotRootMismatch, .invalidRoot:
      return APIError(.unprocessableContent, error.description)
    case .missingBlock:
      return APIError(.notFound, error.description)
    case .invalidBlock:
      return APIError(.internalServerError, error.description)
    }
  }
}
