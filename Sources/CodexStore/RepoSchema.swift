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
    return m
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
