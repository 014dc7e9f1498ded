import CodexTestSupport
import Testing

typealias TestHex = CodexTestSupport.TestHex

/// SplitMix64: reproducible random bytes for fuzz tests.
typealias TestRNG = SplitMix64

/// Node A and node B of the codex-dht test vectors (`dht.md` §2).
enum TestKeys {
  static let nodeASecret = TestHex.decode("fe5f08c842aa946659b266ce68faa5d2fd982634594dccdf7f916e3fcf0541a3")
  static let nodeAPublic = TestHex.decode("0375dea2b0552bb77de18f4ba8360997d1afa51c4fbe1a792a44002f93725b3e53")
  static let nodeBSecret = TestHex.decode("00064765abe9a4e63b068b5af99c26c61c8ade9bfdae6494873b137ec8152578")
  static let nodeBPublic = TestHex.decode("030e136defca2d4942233f6330aba769bab0d4da478505fd719998d31962913369")
}
