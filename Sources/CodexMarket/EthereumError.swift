/// Failures of the Ethereum client, typed so that callers can react (retry, fail over, report a contract error).
public enum EthereumError: Error, Hashable, Sendable, CustomStringConvertible {
  /// The endpoint returned a JSON-RPC error object that is not a revert.
  case rpc(code: Int, message: String)
  /// A call, gas estimation or mined transaction reverted. `transaction` is set for a mined transaction.
  case reverted(ContractRevert, transaction: [UInt8]?)
  /// No endpoint could be reached (connection refused, timeout, HTTP failure).
  case unreachable(endpoint: String, reason: String)
  /// The endpoint serves a different chain than the one configured.
  case wrongChainID(expected: UInt64, actual: UInt64)
  /// The endpoint answered something that is not valid for the method called.
  case invalidResponse(String)
  /// Waiting for a receipt, a block or a time ran out.
  case timeout(String)
  /// A signing or encoding error before anything was sent.
  case local(String)

  public var description: String {
    switch self {
    case .rpc(let c, let m): return "JSON-RPC error \(c): \(m)"
    case .reverted(let r, let tx): return "\(r)" + (tx.map { " (transaction \(Hex.encode($0)))" } ?? "")
    case .unreachable(let e, let r): return "Ethereum endpoint \(e) unreachable: \(r)"
    case .wrongChainID(let e, let a): return "wrong chain id: expected \(e), endpoint serves \(a)"
    case .invalidResponse(let s): return "invalid JSON-RPC response: \(s)"
    case .timeout(let s): return "timed out: \(s)"
    case .local(let s): return s
    }
  }

  /// The decoded Marketplace custom error, if this is a revert with one.
  public var marketplaceError: MarketplaceError? {
    if case .reverted(.custom(let e), _) = self { return e }
    return nil
  }

  /// True for the node's "nonce too low" / "already known" family of rejections.
  var isNonceTooLow: Bool {
    guard case .rpc(_, let m) = self else { return false }
    let l = m.lowercased()
    return l.contains("nonce too low") || l.contains("already known") || l.contains("replacement transaction")
      || (l.contains("nonce") && l.contains("expected") && !l.contains("too high"))
  }

  /// True for "nonce too high" / gapped nonce rejections.
  var isNonceTooHigh: Bool {
    guard case .rpc(_, let m) = self else { return false }
    let l = m.lowercased()
    return l.contains("nonce too high") || l.contains("nonce gap")
  }

  /// Any nonce rejection.
  var isNonceError: Bool {
    guard case .rpc(_, let m) = self else { return false }
    return isNonceTooLow || isNonceTooHigh || m.lowercased().contains("nonce")
  }
}
