import CSecp256k1

/// The one libsecp256k1 context of the process.
///
/// Created and randomised once (side-channel blinding), then only read: libsecp256k1 allows a
/// context to be used concurrently from any thread by every function that takes it as `const`,
/// which is all we call after creation.
final class Secp256k1Context: @unchecked Sendable {
  static let shared = Secp256k1Context()

  let pointer: OpaquePointer

  private init() {
    guard let context = secp256k1_context_create(UInt32(SECP256K1_CONTEXT_NONE)) else {
      fatalError("secp256k1_context_create failed (out of memory)")
    }
    var seed = [UInt8](repeating: 0, count: 32)
    var rng = SystemRandomNumberGenerator()
    for index in seed.indices { seed[index] = rng.next() }
    _ = secp256k1_context_randomize(context, seed)
    pointer = context
  }
}
