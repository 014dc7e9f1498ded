import CodexFormats
import Foundation
import GRDB
import Multiformats

/// The SQLite schema of a repo (`<dir>/repo.sqlite`), versioned through GRDB migrations.
///
/// * `blocks`: one row per stored block. Bytes are either `data` (blocks under 4 KiB, e.g. manifests) or at
///   `(pack, pos)` in a pack file. `tree` is the dataset tree of a manifest block (NULL for other blocks), so a
///   dataset delete can tell whether another manifest still uses the same tree.
/// * `leaves`: `(tree, idx) → (block, proof)` leaf metadata (`formats.md` §6.1 `/meta/proof`).
/// * `quota`: the single row of usage counters, changed in the same transaction as the blocks they count.
/// * `packs`: the length of each pack file that committed metadata covers; bytes beyond it are garbage from an
///   interrupted write and are cut off at open.
/// * `free_ranges`: pack byte ranges of deleted blocks whose disk space is still to be released.
/// * `pending`: blocks written by upload sessions that have not committed; `created` is 1 when the session
///   stored the block (so aborting it must delete the block again), 0 when it only protects an existing block.
/// * v2, the upload fast path (`UploadSession.addLeaves`) without a `pending` row per new block: such a block's row
///   has `blocks.upload` = the session (protecting it from expiry and deletion while the upload runs, cleared by
///   the session's commit), and `upload_batches` holds, one row per stored batch, the SHA-256 digests of the
///   `codex-block`s the batch created, so an abort, or the next open after a crash, finds them without a scan.
/// * v4, `dangling_refs`: for a block deleted while leaf rows still named it (maintenance deletes expired blocks
///   even when referenced, `formats.md` §7 #7), how many references those rows count. A block stored again starts
///   with them as its `refcount`, so `refcount` always equals the number of leaf rows naming the block: without
///   this, storing it again (a re-upload after expiry) left those rows uncounted, and deleting another dataset
///   sharing the block deleted it from under the re-uploaded one. Kept without an index on `leaves(block)`,
///   whose random inserts made a 1 GiB upload's commit ~5x slower on a repo of 100 GiB.
/// * v5, `deleting_trees`: the trees of deleted datasets whose leaf rows are still being deleted, in steps, and the
///   index the next step starts at, and the time of the delete (`at`: the blocks expired then go with the tree,
///   whenever the step runs) (`RepoStore+Deletions.swift`). Normally empty once a delete returned; the next
///   open finishes what a crash left.
enum RepoSchema {
  static let inlineLimit = 4096

  static var migrator: DatabaseMigrator {
    var m = DatabaseMigrator()
    m.registerMigration("v1") { db in
      try db.execute(
        sql: """
          CREATE TABLE blocks (
            cid BLOB PRIMARY KEY NOT NULL,
            codec INTEGER NOT NULL,
            size INTEGER NOT NULL,
            expiry INTEGER NOT NULL,
            refcount INTEGER NOT NULL DEFAULT 0,
            pack INTEGER,
            pos INTEGER,
            data BLOB,
            tree BLOB
          );
          CREATE INDEX blocks_expiry ON blocks(expiry);
          CREATE INDEX blocks_codec ON blocks(codec);
          CREATE INDEX blocks_tree ON blocks(tree) WHERE tree IS NOT NULL;
          CREATE TABLE leaves (
            tree BLOB NOT NULL,
            idx INTEGER NOT NULL,
            block BLOB NOT NULL,
            proof BLOB NOT NULL,
            PRIMARY KEY (tree, idx)
          ) WITHOUT ROWID;
          CREATE TABLE quota (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            used INTEGER NOT NULL,
            reserved INTEGER NOT NULL,
            blocks INTEGER NOT NULL
          );
          INSERT INTO quota (id, used, reserved, blocks) VALUES (1, 0, 0, 0);
          CREATE TABLE packs (
            id INTEGER PRIMARY KEY,
            committed_length INTEGER NOT NULL
          );
          CREATE TABLE free_ranges (
            pack INTEGER NOT NULL REFERENCES packs(id),
            pos INTEGER NOT NULL,
            length INTEGER NOT NULL,
            PRIMARY KEY (pack, pos)
          ) WITHOUT ROWID;
          CREATE TABLE pending (
            session INTEGER NOT NULL,
            cid BLOB NOT NULL REFERENCES blocks(cid) ON DELETE CASCADE,
            created INTEGER NOT NULL,
            PRIMARY KEY (session, cid)
          ) WITHOUT ROWID;
          CREATE INDEX pending_cid ON pending(cid);
          """)
    }
    m.registerMigration("v2") { db in
      try db.execute(
        sql: """
          ALTER TABLE blocks ADD COLUMN upload INTEGER;
          CREATE TABLE upload_batches (
            session INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            digests BLOB NOT NULL,
            PRIMARY KEY (session, seq)
          ) WITHOUT ROWID;
          """)
    }
    m.registerMigration("v3") { db in
      // CRC-32C of each block's bytes, checked when blocks are served (NULL for blocks stored before: those are
      // checked against their CID instead).
      try db.execute(sql: "ALTER TABLE blocks ADD COLUMN crc INTEGER")
    }
    m.registerMigration("v4") { db in
      try db.execute(
        sql: "CREATE TABLE dangling_refs (cid BLOB PRIMARY KEY NOT NULL, refs INTEGER NOT NULL) WITHOUT ROWID")
      // Repos written before counted no reference for a leaf row whose block had been deleted (expired while
      // referenced) and was stored again: recount every block's references from the leaf rows once.
      try recountReferences(db)
    }
    m.registerMigration("v5") { db in
      try db.execute(
        sql: """
          CREATE TABLE deleting_trees (tree BLOB PRIMARY KEY NOT NULL, next INTEGER NOT NULL, at INTEGER NOT NULL)
          WITHOUT ROWID
          """)
    }
    return m
  }

  /// The `refcount` a block row inserted with CID key `?1` starts with: the references of leaf rows that named it
  /// while it was absent (`dangling_refs`; `RepoStore.consumeDanglingRefs` removes them once inserted).
  static let danglingRefsOf1 = "COALESCE((SELECT refs FROM dangling_refs WHERE cid = ?1), 0)"

  /// The leaf rows that count a reference: those naming a `codex-block` (SHA-256) CID other than the empty one
  /// (`formats.md` §6.2 putCidAndProof), as a SQL condition on `leaves.block` with its two arguments.
  static var countedLeaf: (sql: String, arguments: StatementArguments) {
    ("substr(block, 1, ?) = ? AND block != ?", [blockKeyPrefix.count, blockKeyPrefix, Data(Codex.emptyBlockCid.bytes)])
  }

  /// Fills the temporary table `leaf_refs (block, n)` with the number of counted leaf rows naming each block (one
  /// sorted pass over `leaves`), inside the caller's transaction; `dropLeafRefs` removes it.
  static func countLeafRefs(_ db: Database) throws {
    try db.execute(
      sql: "CREATE TEMP TABLE leaf_refs (block BLOB PRIMARY KEY NOT NULL, n INTEGER NOT NULL) WITHOUT ROWID")
    try db.execute(
      sql: "INSERT INTO leaf_refs SELECT block, COUNT(*) FROM leaves WHERE \(countedLeaf.sql) GROUP BY block",
      arguments: countedLeaf.arguments)
  }

  static func dropLeafRefs(_ db: Database) throws {
    try db.execute(sql: "DROP TABLE IF EXISTS temp.leaf_refs")
  }

  /// Sets every block's `refcount` and the `dangling_refs` of absent blocks to what the leaf rows say (inside the
  /// caller's transaction). Returns how many were wrong (see `referenceMismatches`).
  @discardableResult
  static func recountReferences(_ db: Database) throws -> Int {
    try countLeafRefs(db)
    defer { try? dropLeafRefs(db) }
    let wrong = try mismatches(db)
    guard wrong.blocks + wrong.dangling > 0 else { return 0 }
    try db.execute(
      sql: """
        UPDATE blocks SET refcount = COALESCE((SELECT n FROM leaf_refs WHERE leaf_refs.block = blocks.cid), 0)
        WHERE refcount != COALESCE((SELECT n FROM leaf_refs WHERE leaf_refs.block = blocks.cid), 0)
        """)
    try db.execute(sql: "DELETE FROM dangling_refs")
    try db.execute(
      sql: """
        INSERT INTO dangling_refs (cid, refs) SELECT block, n FROM leaf_refs
        WHERE NOT EXISTS (SELECT 1 FROM blocks WHERE blocks.cid = leaf_refs.block)
        """)
    return wrong.blocks + wrong.dangling
  }

  /// How many blocks' `refcount`, and how many absent blocks' `dangling_refs`, differ from the leaf rows naming
  /// them (`verify`); inside the caller's transaction.
  static func referenceMismatches(_ db: Database) throws -> (blocks: Int, dangling: Int) {
    try countLeafRefs(db)
    defer { try? dropLeafRefs(db) }
    return try mismatches(db)
  }

  /// `referenceMismatches` with `leaf_refs` filled.
  private static func mismatches(_ db: Database) throws -> (blocks: Int, dangling: Int) {
    let blocks =
      try Int.fetchOne(
        db,
        sql: """
          SELECT COUNT(*) FROM blocks WHERE refcount != COALESCE((SELECT n FROM leaf_refs WHERE block = blocks.cid), 0)
          """) ?? 0
    let dangling =
      try Int.fetchOne(
        db,
        sql: """
          SELECT
            (SELECT COUNT(*) FROM leaf_refs l WHERE NOT EXISTS (SELECT 1 FROM blocks WHERE cid = l.block)
              AND l.n != COALESCE((SELECT refs FROM dangling_refs WHERE cid = l.block), 0))
            + (SELECT COUNT(*) FROM dangling_refs d WHERE EXISTS (SELECT 1 FROM blocks WHERE cid = d.cid)
              OR NOT EXISTS (SELECT 1 FROM leaf_refs WHERE block = d.cid))
          """) ?? 0
    return (blocks, dangling)
  }

  /// The `blocks.cid` key of the `codex-block` CID with SHA-256 `digest`.
  static func blockKey(digest: some Collection<UInt8>) -> Data {
    var key = blockKeyPrefix
    key.append(contentsOf: digest)
    return key
  }

  /// The bytes of a `codex-block` SHA-256 CID before its digest.
  static let blockKeyPrefix = Data(
    Cid(codec: .codexBlock, multihash: Multihash(code: .sha2_256, digest: [UInt8](repeating: 0, count: 32))).bytes
      .dropLast(32))

  /// The block keys of the digests of one `upload_batches` row.
  static func blockKeys(digests: Data) -> [Data] {
    let bytes = [UInt8](digests)
    return stride(from: 0, to: bytes.count - 31, by: 32).map { blockKey(digest: bytes[$0..<$0 + 32]) }
  }
}
