/// An EIP-1559 (type 2) transaction: `0x02 ‖ rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gas, to,
/// value, data, accessList, yParity, r, s])`, signed over `keccak256(0x02 ‖ rlp(first nine fields))`.
/// Access lists are always empty here.
public struct EIP1559Transaction: Hashable, Sendable {
  public var chainID: UInt64
  public var nonce: UInt64
  public var maxPriorityFeePerGas: UInt256
  public var maxFeePerGas: UInt256
  public var gasLimit: UInt64
  /// Nil for contract creation.
  public var to: EthereumAddress?
  public var value: UInt256
  public var data: [UInt8]

  public init(
    chainID: UInt64, nonce: UInt64, maxPriorityFeePerGas: UInt256, maxFeePerGas: UInt256, gasLimit: UInt64,
    to: EthereumAddress?, value: UInt256 = .zero, data: [UInt8] = []
  ) {
    self.chainID = chainID
    self.nonce = nonce
    self.maxPriorityFeePerGas = maxPriorityFeePerGas
    self.maxFeePerGas = maxFeePerGas
    self.gasLimit = gasLimit
    self.to = to
    self.value = value
    self.data = data
  }

  var unsignedFields: [RLPItem] {
    [
      .uint64(chainID), .uint64(nonce), .uint(maxPriorityFeePerGas), .uint(maxFeePerGas), .uint64(gasLimit),
      .bytes(to?.bytes ?? []), .uint(value), .bytes(data), .list([]),
    ]
  }

  /// The digest that is signed.
  public var signingHash: [UInt8] { Keccak256.hash([0x02] + RLP.encode(.list(unsignedFields))) }

  /// Signs with `key`.
  public func signed(with key: PrivateKey) throws(Secp256k1Error) -> SignedTransaction {
    let sig = try key.sign(digest: signingHash)
    return SignedTransaction(transaction: self, signature: sig)
  }
}

/// A signed EIP-1559 transaction, ready for `eth_sendRawTransaction`.
public struct SignedTransaction: Hashable, Sendable {
  public let transaction: EIP1559Transaction
  public let signature: RecoverableSignature

  public init(transaction: EIP1559Transaction, signature: RecoverableSignature) {
    self.transaction = transaction
    self.signature = signature
  }

  /// The typed-transaction envelope bytes.
  public var rawBytes: [UInt8] {
    let strip: ([UInt8]) -> [UInt8] = { Array($0.drop(while: { $0 == 0 })) }
    let fields =
      transaction.unsignedFields + [
        .uint64(UInt64(signature.recoveryID)), .bytes(strip(signature.r)), .bytes(strip(signature.s)),
      ]
    return [0x02] + RLP.encode(.list(fields))
  }

  /// `keccak256(rawBytes)`: the transaction hash.
  public var hash: [UInt8] { Keccak256.hash(rawBytes) }

  /// The sender, recovered from the signature.
  public func sender() throws(Secp256k1Error) -> EthereumAddress {
    try PrivateKey.recoverAddress(digest: transaction.signingHash, signature: signature)
  }

  /// Parses a raw type-2 transaction. Throws `RLPError` on malformed input.
  public static func decode(_ raw: [UInt8]) throws(RLPError) -> SignedTransaction {
    guard raw.first == 0x02 else { throw .unexpectedShape("not a type-2 transaction") }
    guard case .list(let f) = try RLP.decode(Array(raw.dropFirst())), f.count == 12 else {
      throw .unexpectedShape("type-2 transaction must be a list of 12 fields")
    }
    guard let toBytes = f[5].bytesValue, toBytes.isEmpty || toBytes.count == 20 else {
      throw .unexpectedShape("bad destination address")
    }
    guard let data = f[7].bytesValue, let access = f[8].listValue, access.isEmpty else {
      throw .unexpectedShape("bad data or non-empty access list")
    }
    let yParity = try RLP.uint64(f[9])
    guard yParity <= 1 else { throw .unexpectedShape("yParity must be 0 or 1") }
    let pad: (RLPItem) throws(RLPError) -> [UInt8] = { (item) throws(RLPError) -> [UInt8] in
      try RLP.uint(item).bigEndianBytes
    }
    let tx = EIP1559Transaction(
      chainID: try RLP.uint64(f[0]), nonce: try RLP.uint64(f[1]), maxPriorityFeePerGas: try RLP.uint(f[2]),
      maxFeePerGas: try RLP.uint(f[3]), gasLimit: try RLP.uint64(f[4]),
      to: toBytes.isEmpty ? nil : EthereumAddress(unchecked: toBytes), value: try RLP.uint(f[6]), data: data)
    return SignedTransaction(
      transaction: tx, signature: RecoverableSignature(r: try pad(f[10]), s: try pad(f[11]), recoveryID: UInt8(yParity))
    )
  }
}

/// A legacy transaction signed with EIP-155 replay protection (`v = recoveryId + chainId × 2 + 35`).
public struct LegacyTransaction: Hashable, Sendable {
  public var chainID: UInt64
  public var nonce: UInt64
  public var gasPrice: UInt256
  public var gasLimit: UInt64
  public var to: EthereumAddress?
  public var value: UInt256
  public var data: [UInt8]

  public init(
    chainID: UInt64, nonce: UInt64, gasPrice: UInt256, gasLimit: UInt64, to: EthereumAddress?,
    value: UInt256 = .zero, data: [UInt8] = []
  ) {
    self.chainID = chainID
    self.nonce = nonce
    self.gasPrice = gasPrice
    self.gasLimit = gasLimit
    self.to = to
    self.value = value
    self.data = data
  }

  var baseFields: [RLPItem] {
    [.uint64(nonce), .uint(gasPrice), .uint64(gasLimit), .bytes(to?.bytes ?? []), .uint(value), .bytes(data)]
  }

  /// `keccak256(rlp([nonce, gasPrice, gas, to, value, data, chainId, 0, 0]))`.
  public var signingHash: [UInt8] {
    Keccak256.hash(RLP.encode(.list(baseFields + [.uint64(chainID), .bytes([]), .bytes([])])))
  }

  /// The raw signed transaction bytes.
  public func signedRaw(with key: PrivateKey) throws(Secp256k1Error) -> [UInt8] {
    let sig = try key.sign(digest: signingHash)
    let v = UInt256(UInt64(sig.recoveryID)) + UInt256(chainID) * 2 + 35
    let strip: ([UInt8]) -> [UInt8] = { Array($0.drop(while: { $0 == 0 })) }
    return RLP.encode(.list(baseFields + [.uint(v), .bytes(strip(sig.r)), .bytes(strip(sig.s))]))
  }
}
