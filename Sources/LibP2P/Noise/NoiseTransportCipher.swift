import CLibP2POpenSSL

/// One direction of a Noise transport: ChaCha20-Poly1305 (IETF) with an empty associated data and the
/// nonce `00 00 00 00 ‖ u64 little-endian counter`, through OpenSSL's EVP interface so frames are sealed
/// and opened straight between `ByteBuffer` memory without intermediate copies.
///
/// Not thread-safe: owned by one ``NoiseHandler`` on its event loop.
final class NoiseTransportCipher {
  private let context: OpaquePointer
  private let encrypting: Bool
  private(set) var nonce: UInt64 = 0
  private var iv = [UInt8](repeating: 0, count: 12)
  static let tagLength = 16

  /// - Parameter key: the 32-byte key from `Split()`.
  init(key: [UInt8], encrypting: Bool) {
    precondition(key.count == 32)
    context = EVP_CIPHER_CTX_new()!
    self.encrypting = encrypting
    let ok = key.withUnsafeBufferPointer { k in
      encrypting
        ? EVP_EncryptInit_ex(context, EVP_chacha20_poly1305(), nil, k.baseAddress, nil)
        : EVP_DecryptInit_ex(context, EVP_chacha20_poly1305(), nil, k.baseAddress, nil)
    }
    precondition(ok == 1, "EVP ChaCha20-Poly1305 initialisation failed")
  }

  deinit { EVP_CIPHER_CTX_free(context) }

  private func setNonce() throws(NoiseError) {
    guard nonce != UInt64.max else { throw .nonceExhausted }
    var n = nonce
    for i in 4..<12 {
      iv[i] = UInt8(truncatingIfNeeded: n)
      n >>= 8
    }
    let ok = iv.withUnsafeBufferPointer { p in
      encrypting
        ? EVP_EncryptInit_ex(context, nil, nil, nil, p.baseAddress)
        : EVP_DecryptInit_ex(context, nil, nil, nil, p.baseAddress)
    }
    guard ok == 1 else { throw .decryptionFailed }
  }

  /// Encrypts `input` into `output` (which needs `input.count + 16` bytes): ciphertext then tag.
  func seal(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(NoiseError) {
    precondition(encrypting && output.count >= input.count + Self.tagLength)
    try setNonce()
    var written: Int32 = 0
    var ok: Int32 = 1
    if input.count > 0 {
      ok = EVP_EncryptUpdate(
        context, output.baseAddress!.assumingMemoryBound(to: UInt8.self), &written,
        input.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(input.count))
    }
    var finalLength: Int32 = 0
    if ok == 1 {
      ok = EVP_EncryptFinal_ex(
        context, output.baseAddress!.assumingMemoryBound(to: UInt8.self) + Int(written), &finalLength)
    }
    if ok == 1 {
      ok = EVP_CIPHER_CTX_ctrl(
        context, EVP_CTRL_AEAD_GET_TAG, Int32(Self.tagLength), output.baseAddress! + input.count)
    }
    guard ok == 1 else { throw .decryptionFailed }
    nonce += 1
  }

  /// Starts sealing one message whose plaintext is then given in pieces to ``sealUpdate(_:into:)``.
  func sealBegin() throws(NoiseError) {
    precondition(encrypting)
    try setNonce()
  }

  /// Encrypts the next piece of the current message into `output` (at least `input.count` bytes).
  func sealUpdate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(NoiseError) {
    guard input.count > 0 else { return }
    var written: Int32 = 0
    let ok = EVP_EncryptUpdate(
      context, output.baseAddress!.assumingMemoryBound(to: UInt8.self), &written,
      input.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(input.count))
    guard ok == 1, Int(written) == input.count else { throw .decryptionFailed }
  }

  /// Finishes the current message: writes its 16-byte tag to `tag`.
  func sealFinish(tag: UnsafeMutableRawBufferPointer) throws(NoiseError) {
    precondition(tag.count >= Self.tagLength)
    var finalLength: Int32 = 0
    var scratch: UInt8 = 0
    var ok = EVP_EncryptFinal_ex(context, &scratch, &finalLength)
    if ok == 1 {
      ok = EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_GET_TAG, Int32(Self.tagLength), tag.baseAddress!)
    }
    guard ok == 1 else { throw .decryptionFailed }
    nonce += 1
  }

  /// Decrypts `ciphertext ‖ tag` into `output` (which needs `input.count - 16` bytes).
  ///
  /// - Returns: the plaintext length.
  /// - Throws: ``NoiseError/decryptionFailed`` when authentication fails.
  func open(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(NoiseError) -> Int {
    precondition(!encrypting)
    guard input.count >= Self.tagLength else {
      throw .truncatedMessage(expected: Self.tagLength, got: input.count)
    }
    let length = input.count - Self.tagLength
    precondition(output.count >= length)
    try setNonce()
    var tag = [UInt8](UnsafeRawBufferPointer(rebasing: input[length...]))
    var ok = tag.withUnsafeMutableBytes { t in
      EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_TAG, Int32(Self.tagLength), t.baseAddress)
    }
    var written: Int32 = 0
    if ok == 1 && length > 0 {
      ok = EVP_DecryptUpdate(
        context, output.baseAddress!.assumingMemoryBound(to: UInt8.self), &written,
        input.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(length))
    }
    var finalLength: Int32 = 0
    if ok == 1 {
      var scratch: UInt8 = 0
      ok = withUnsafeMutablePointer(to: &scratch) { s in
        EVP_DecryptFinal_ex(
          context, length > 0 ? output.baseAddress!.assumingMemoryBound(to: UInt8.self) + Int(written) : s,
          &finalLength)
      }
    }
    guard ok == 1 else { throw .decryptionFailed }
    nonce += 1
    return length
  }
}
