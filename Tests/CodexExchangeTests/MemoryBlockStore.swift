import CodexFormats
import CodexStore
import Multiformats

/// An in-memory `BlockStore` test double (until RepoStore is wired).
actor MemoryBlockStore: BlockStore {
  var blocks: [Cid: Block] = [:]
  var leaves: [Cid: [Int: (Cid, CodexProof)]] = [:]
  /// Indices whose reads never return (simulates a hung node).
  var hangReads = false
  /// The tree of every leaf read, in the order the reads returned.
  var leafReads: [Cid] = []

  func getBlock(_ cid: Cid) async throws -> Block? {
    if Codex.isEmpty(cid) { return Block(unchecked: cid, data: []) }
    return blocks[cid]
  }

  func getBlock(tree treeCid: Cid, index: Int) async throws -> (block: Block, proof: CodexProof)? {
    while hangReads { try await Task.sleep(for: .milliseconds(20)) }
    leafReads.append(treeCid)
    guard let (cid, proof) = leaves[treeCid]?[index] else { return nil }
    if Codex.isEmpty(cid) { return (Block(unchecked: cid, data: []), proof) }
    guard let b = blocks[cid] else { return nil }
    return (b, proof)
  }

  func hasBlock(_ cid: Cid) async throws -> Bool { Codex.isEmpty(cid) || blocks[cid] != nil }

  func hasBlock(tree treeCid: Cid, index: Int) async throws -> Bool {
    guard let (cid, _) = leaves[treeCid]?[index] else { return false }
    return Codex.isEmpty(cid) || blocks[cid] != nil
  }

  func putBlock(_ block: Block, ttl: Duration?) async throws {
    if Codex.isEmpty(block.cid) { return }
    if blocks[block.cid] == nil { blocks[block.cid] = block }
  }

  func putLeaf(tree treeCid: Cid, index: Int, blockCid: Cid, proof: CodexProof) async throws {
    if leaves[treeCid]?[index] == nil { leaves[treeCid, default: [:]][index] = (blockCid, proof) }
  }

  func deleteBlock(_ cid: Cid) async throws { blocks[cid] = nil }

  // test helpers
  func add(_ ds: TestDataset) throws {
    for (i, b) in ds.blocks.enumerated() {
      blocks[b.cid] = b
      leaves[ds.treeCid, default: [:]][i] = (b.cid, try ds.tree.proof(for: i))
    }
  }

  /// Makes leaf `index` point at `block` (a valid block, the wrong one) with the original proof.
  func swapLeaf(_ ds: TestDataset, index: Int, with block: Block) throws {
    blocks[block.cid] = block
    leaves[ds.treeCid]![index] = (block.cid, try ds.tree.proof(for: index))
  }

  func setHang(_ on: Bool) { hangReads = on }
  var blockCount: Int { blocks.count }
  func leafCount(_ tree: Cid) -> Int { leaves[tree]?.count ?? 0 }
  func leaf(_ tree: Cid, _ index: Int) -> (Cid, CodexProof)? { leaves[tree]?[index] }
}
