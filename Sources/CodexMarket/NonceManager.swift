import Foundation
import Logging

/// Hands out consecutive nonces for one account on one chain.
///
/// * Survives restarts: the next nonce is persisted (atomically) to a file the caller names; on start the next
///   nonce is `max(persisted, chain pending count)`.
/// * Concurrent senders: it is an actor, and `TransactionSender` holds it for the whole reserve → sign → send
///   step so nonces reach the node in order.
/// * Re-syncs from `eth_getTransactionCount(pending)` when the node says "nonce too low/too high".
public actor NonceManager {
  public let address: EthereumAddress
  public let chainID: UInt64
  private let client: EthereumClient
  private let storePath: String?
  private var nextNonce: UInt64?
  private let logger: Logger

  /// `storePath` nil keeps the nonce in memory only.
  public init(address: EthereumAddress, chainID: UInt64, client: EthereumClient, storePath: String?, logger: Logger) {
    self.address = address
    self.chainID = chainID
    self.client = client
    self.storePath = storePath
    self.logger = logger
  }

  /// The nonce the next transaction must use (loads and syncs on first call).
  public func peek() async throws(EthereumError) -> UInt64 {
    if let n = nextNonce { return n }
    let chain = try await client.transactionCount(of: address, at: .pending)
    let stored = loadPersisted() ?? 0
    let n = max(chain, stored)
    logger.debug("nonce initialised", metadata: ["chain": "\(chain)", "stored": "\(stored)", "next": "\(n)"])
    nextNonce = n
    return n
  }

  /// Records that `nonce` was accepted by the node; the next one is `nonce + 1`.
  public func commit(_ nonce: UInt64) throws(EthereumError) {
    let n = max(nextNonce ?? 0, nonce + 1)
    nextNonce = n
    try persist(n)
  }

  /// Forgets the cached value and reloads the chain's pending count (after "nonce too low/high").
  public func resync() async throws(EthereumError) {
    let chain = try await client.transactionCount(of: address, at: .pending)
    logger.info(
      "nonce re-synced from chain", metadata: ["was": "\(nextNonce.map(String.init) ?? "-")", "now": "\(chain)"])
    nextNonce = chain
    try persist(chain)
  }

  private struct Stored: Codable {
    var address: String
    var chainID: UInt64
    var nextNonce: UInt64
  }

  private func loadPersisted() -> UInt64? {
    guard let storePath, let data = FileManager.default.contents(atPath: storePath),
      let s = try? JSONDecoder().decode(Stored.self, from: data),
      s.address == address.hex, s.chainID == chainID
    else { return nil }
    return s.nextNonce
  }

  private func persist(_ n: UInt64) throws(EthereumError) {
    guard let storePath else { return }
    do {
      let data = try JSONEncoder().encode(Stored(address: address.hex, chainID: chainID, nextNonce: n))
      try data.write(to: URL(fileURLWithPath: storePath), options: .atomic)
    } catch {
      throw .local("cannot persist nonce to \(storePath): \(error)")
    }
  }
}
