import Testing

@testable import CodexMarket

@Suite struct TransactionTests {
  let key = try! PrivateKey(hex: "0x" + String(repeating: "46", count: 32))

  @Test func addressAndChecksum() throws {
    #expect(key.address.checksummed == "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F")
    // EIP-55 examples.
    for s in [
      "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
      "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ] {
      #expect(EthereumAddress(hex: s)?.checksummed == s)
      #expect(EthereumAddress(hex: s.lowercased())?.checksummed == s)
    }
    #expect(EthereumAddress(hex: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD") == nil)  // bad checksum
    #expect(EthereumAddress(hex: "0x1234") == nil)
    #expect(throws: Secp256k1Error.invalidPrivateKey) { try PrivateKey(bytes: [UInt8](repeating: 0, count: 32)) }
    #expect(throws: Secp256k1Error.invalidPrivateKey) { try PrivateKey(bytes: [UInt8](repeating: 0xff, count: 32)) }
  }

  @Test func eip1559MatchesEthAccount() throws {
    // Reference: eth-account 0.14.0 sign_transaction with the same fields.
    let tx = EIP1559Transaction(
      chainID: 131_277_322_940_537, nonce: 7, maxPriorityFeePerGas: 1_000_000_000, maxFeePerGas: 2_000_000_000,
      gasLimit: 100_000, to: EthereumAddress(bytes: [UInt8](repeating: 0x35, count: 20)), value: 12345,
      data: h("deadbeef"))
    let signed = try tx.signed(with: key)
    #expect(
      Hex.encode(signed.rawBytes)
        == "0x02f8778677656233707907843b9aca008477359400830186a094353535353535353535353535353535353535353582303984deadbeefc080a0ef4c377ed90afedefc2b634f1dcb65034a5f0db72ca5a6e308d6dce71da0715ea063e0254ee3196c6498d6450c67eef90b3cb7f2fa05e816f65b63770928add50a"
    )
    #expect(Hex.encode(signed.hash) == "0x2453a57bb7fa7884419e5f86619717a8c24c6e193f45c23fccee4f28d9bfb27b")
    #expect(try SignedTransaction.decode(signed.rawBytes) == signed)
    #expect(try signed.sender() == key.address)

    let zeroes = EIP1559Transaction(
      chainID: 1, nonce: 0, maxPriorityFeePerGas: 0, maxFeePerGas: 7, gasLimit: 21000,
      to: EthereumAddress(hex: "0x0000000000000000000000000000000000000001"))
    #expect(
      Hex.encode(try zeroes.signed(with: key).rawBytes)
        == "0x02f862018080078252089400000000000000000000000000000000000000018080c001a0ecef669be3c9dbb268af5a9e2cac95148addc77b7a808c75ddf9c7ac69dc38e8a01d2d72a2d7434af370902d5ac60eb73acae023a0b5a5abcf162dbcf0aced1b9c"
    )
  }

  @Test func legacyEIP155Example() throws {
    // The example of EIP-155.
    let tx = LegacyTransaction(
      chainID: 1, nonce: 9, gasPrice: 20_000_000_000, gasLimit: 21000,
      to: EthereumAddress(bytes: [UInt8](repeating: 0x35, count: 20)), value: 1_000_000_000_000_000_000)
    #expect(
      Hex.encode(try tx.signedRaw(with: key))
        == "0xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83"
    )
  }

  @Test func signAndRecoverRandomKeys() throws {
    var rng = SplitMix64(state: 5)
    for _ in 0..<20 {
      guard let k = try? PrivateKey(bytes: rng.bytes(32)) else { continue }
      let digest = rng.bytes(32)
      let sig = try k.sign(digest: digest)
      #expect(sig.s[0] < 0x80)  // low-S
      #expect(try PrivateKey.recoverAddress(digest: digest, signature: sig) == k.address)
    }
  }

  @Test func fuzzTransactionDecoder() {
    var rng = SplitMix64(state: 11)
    let raw = try! EIP1559Transaction(
      chainID: 5, nonce: 1, maxPriorityFeePerGas: 1, maxFeePerGas: 2, gasLimit: 21000, to: nil, data: [1, 2, 3]
    ).signed(with: key).rawBytes
    for _ in 0..<2000 {
      var input = raw
      input[Int.random(in: 0..<input.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
      _ = try? SignedTransaction.decode(input)
      _ = try? SignedTransaction.decode(Array(input.prefix(Int.random(in: 0...input.count, using: &rng))))
    }
  }
}
