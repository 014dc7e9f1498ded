import CodexFormats
import CodexNode
import CodexProofs
import Foundation
import Hummingbird
import Logging
import Multiformats

/// `GET /debug/slots/{cid}/{slot}`: the host-side slot check (`slots-and-proofs.md` §4) as a read-only debug
/// route. Rebuilds slot `slot` of a locally stored verifiable manifest from the blocks in this node's repo and
/// compares its root with the manifest's slot root; also checks that the manifest's slot roots hash to its verify
/// root.
///
/// Answers 200 with `SlotCheck` JSON whether or not the roots match (a mismatch is a finding, not an error); 400
/// for a bad CID or slot number, 404 when the manifest or a block of the slot is not stored here, 422 when the
/// manifest is not verifiable or the slot is out of range. Hashing runs on a compute pool, off the request's
/// executor.
struct SlotCheckRoutes {
  let node: CodexNode

  /// The answer.
  struct SlotCheck: Codable, Sendable {
    /// The verifiable manifest CID.
    var cid: String
    var slot: Int
    /// The root rebuilt from this node's blocks, as a slot-root CID.
    var slotRoot: String
    /// The manifest's slot root for `slot`.
    var expected: String
    /// `slotRoot == expected`.
    var match: Bool
    /// The manifest's slot roots hash to its verify root.
    var verifyRootMatch: Bool
  }

  func register(on api: RouterGroup<CodexRequestContext>) {
    api.get("debug/slots/:cid/:slot") { _, context in try await check(context) }
  }

  func check(_ context: CodexRequestContext) async throws -> Response {
    let cid = try CodexAPI.cid(context)
    let text = context.parameters.get("slot") ?? ""
    guard let slot = Int(text), slot >= 0 else {
      throw APIError(.badRequest, "Invalid slot index '\(text)': expected a non-negative integer")
    }
    let manifest = try await node.manifest(cid)
    guard let verification = manifest.erasure?.verification else {
      throw APIError(.unprocessableContent, "Manifest \(cid) is not verifiable")
    }
    guard slot < verification.slotRoots.count else {
      throw APIError(
        .unprocessableContent, "Slot \(slot) is out of range: the manifest has \(verification.slotRoots.count) slots")
    }
    let roots: [Fr]
    let verifyRoot: Fr
    do {
      roots = try verification.slotRoots.map { c throws(SlotCidError) in try SlotCids.slotRoot(of: c) }
      verifyRoot = try SlotCids.verifyRoot(of: verification.verifyRoot)
    } catch {
      throw APIError(.unprocessableContent, "Manifest \(cid) has undecodable roots: \(error)")
    }
    let pool = ComputePool()
    let rebuilt: Fr
    let verifyOK: Bool
    do {
      rebuilt = try await VerifiableBuilder(store: node.repo, pool: pool, logger: context.logger)
        .rebuildSlotRoot(manifest, slot: slot)
      verifyOK = try await pool.run { () throws(MerkleError) in
        try SlotBuilder.verifyTree(slotRoots: roots).root == verifyRoot
      }
      await pool.shutdown()
    } catch let error as VerifiableError {
      await pool.shutdown()
      throw ProofRoutes.apiError(error)
    } catch {
      await pool.shutdown()
      throw error
    }
    return try CodexAPI.json(
      SlotCheck(
        cid: cid.string, slot: slot, slotRoot: SlotCids.slotRootCid(rebuilt).string,
        expected: verification.slotRoots[slot].string, match: rebuilt == roots[slot], verifyRootMatch: verifyOK))
  }
}
