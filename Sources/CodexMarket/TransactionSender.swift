import Logging

/// How transaction fees are chosen.
public struct FeePolicy: Hashable, Sendable {
  /// Priority fee (tip). Upstream's default is 1 gwei.
  public var maxPriorityFeePerGas: UInt256
  /// `maxFeePerGas = baseFee × baseFeeMultiplier + tip`.
  public var baseFeeMultiplier: UInt64
  public init(maxPriorityFeePerGas: UInt256 = 1_000_000_000, baseFeeMultiplier: UInt64 = 2) {
    self.maxPriorityFeePerGas = maxPriorityFeePerGas
    self.baseFeeMultiplier = baseFeeMultiplier
  }
}

/// Signs and sends EIP-1559 transactions for one account, keeping one nonce sequence across concurrent callers
/// and across endpoints (the provider may fail over), then waits for receipts.
///
/// Errors: a revert during gas estimation or in the mined transaction throws `EthereumError.reverted` with the
/// decoded contract error; the wrong chain throws `.wrongChainID`; an unreachable provider `.unreachable`.
public actor TransactionSender {
  public let key: PrivateKey
  public let client: EthereumClient
  public let chainID: UInt64
  public let nonces: NonceManager
  public var feePolicy: FeePolicy
  /// Delay between receipt polls.
  public var pollIntervalMilliseconds: UInt64 = 50
  private let logger: Logger
  private let sendLock = AsyncLock()

  /// Checks that the endpoint serves `chainID` (throws `.wrongChainID` otherwise).
  public init(
    key: PrivateKey, client: EthereumClient, chainID: UInt64, nonceStorePath: String?, feePolicy: FeePolicy = .init(),
    logger: Logger
  ) async throws(EthereumError) {
    let actual = try await client.chainID()
    guard actual == chainID else { throw .wrongChainID(expected: chainID, actual: actual) }
    self.key = key
    self.client = client
    self.chainID = chainID
    self.feePolicy = feePolicy
    self.logger = logger
    self.nonces = NonceManager(
      address: key.address, chainID: chainID, client: client, storePath: nonceStorePath, logger: logger)
  }

  public nonisolated var address: EthereumAddress { key.address }

  /// Sets the delay between receipt polls.
  public func setPollInterval(milliseconds: UInt64) { pollIntervalMilliseconds = milliseconds }

  /// Current fees: base fee of the pending block from `eth_feeHistory` (falling back to `eth_gasPrice`).
  public func fees() async throws(EthereumError) -> (maxFeePerGas: UInt256, maxPriorityFeePerGas: UInt256) {
    let tip = feePolicy.maxPriorityFeePerGas
    do throws(EthereumError) {
      let h = try await client.feeHistory(blocks: 1, percentile: 50)
      if let base = h.baseFees.last {
        return (base * UInt256(feePolicy.baseFeeMultiplier) + tip, tip)
      }
    } catch {
      if case .unreachable = error { throw error }
    }
    let price = try await client.gasPrice()
    return (price * UInt256(feePolicy.baseFeeMultiplier) + tip, tip)
  }

  /// Estimates gas (multiplied by `gasMultiplierPercent`/100), signs with the next nonce and broadcasts.
  /// Returns the transaction hash without waiting for it to be mined.
  public func send(
    to: EthereumAddress?, data: [UInt8], value: UInt256 = .zero, gasLimit: UInt64? = nil,
    gasMultiplierPercent: UInt64 = 100
  ) async throws(EthereumError) -> [UInt8] {
    let gas: UInt64
    if let gasLimit {
      gas = gasLimit
    } else {
      let estimate: UInt64
      do throws(EthereumError) {
        estimate = try await client.estimateGas(from: key.address, to: to, data: data, value: value)
      } catch {
        // Some endpoints drop the revert data in eth_estimateGas; replaying the call recovers the reason.
        if case .reverted(.empty, _) = error, let to {
          _ = try await client.call(to: to, data: data, from: key.address, at: .latest)
        }
        throw error
      }
      gas = estimate.multipliedReportingOverflow(by: gasMultiplierPercent).partialValue / 100
    }
    let (maxFee, tip) = try await fees()
    await sendLock.acquire()
    let result: Result<[UInt8], EthereumError>
    do throws(EthereumError) {
      result = .success(
        try await signAndBroadcast(to: to, data: data, value: value, gas: gas, maxFee: maxFee, tip: tip))
    } catch {
      result = .failure(error)
    }
    await sendLock.release()
    return try result.get()
  }

  /// Called with the send lock held: nonce → sign → broadcast, re-syncing on nonce rejections.
  private func signAndBroadcast(
    to: EthereumAddress?, data: [UInt8], value: UInt256, gas: UInt64, maxFee: UInt256, tip: UInt256
  ) async throws(EthereumError) -> [UInt8] {
    var attempts = 0
    while true {
      attempts += 1
      let nonce = try await nonces.peek()
      let tx = EIP1559Transaction(
        chainID: chainID, nonce: nonce, maxPriorityFeePerGas: tip, maxFeePerGas: maxFee, gasLimit: gas, to: to,
        value: value, data: data)
      let signed: SignedTransaction
      do { signed = try tx.signed(with: key) } catch { throw .local("signing failed: \(error)") }
      do throws(EthereumError) {
        let hash = try await client.sendRawTransaction(signed.rawBytes)
        try await nonces.commit(nonce)
        return hash
      } catch {
        if error.isNonceError && attempts < 5 {
          logger.info("nonce rejected, re-syncing", metadata: ["nonce": "\(nonce)", "error": "\(error)"])
          try await nonces.resync()
          continue
        }
        throw error
      }
    }
  }

  /// Waits until `hash` is mined with `confirmations` blocks (1 = mined), up to `timeoutSeconds` of wall time.
  /// A failed transaction throws `.reverted`, with the reason found by replaying the call at its block.
  public func waitForReceipt(
    _ hash: [UInt8], confirmations: UInt64 = 1, timeoutSeconds: Double = 120,
    replay: (to: EthereumAddress, data: [UInt8])? = nil
  ) async throws(EthereumError) -> TransactionReceipt {
    let deadline = ContinuousClock.now + .milliseconds(Int64(timeoutSeconds * 1000))
    while true {
      if let r = try await client.receipt(hash) {
        while confirmations > 1 {
          let head = try await client.blockNumber()
          if head + 1 >= r.blockNumber + confirmations { break }
          guard ContinuousClock.now < deadline else { throw .timeout("confirmations of \(Hex.encode(hash))") }
          try? await Task.sleep(for: .milliseconds(Int64(pollIntervalMilliseconds)))
        }
        if !r.status {
          var reason = ContractRevert.empty
          if let replay {
            do throws(EthereumError) {
              _ = try await client.call(
                to: replay.to, data: replay.data, from: key.address,
                at: .number(r.blockNumber > 0 ? r.blockNumber - 1 : 0))
            } catch {
              if case .reverted(let why, _) = error { reason = why }
            }
          }
          throw .reverted(reason, transaction: hash)
        }
        return r
      }
      guard ContinuousClock.now < deadline else { throw .timeout("receipt of \(Hex.encode(hash))") }
      try? await Task.sleep(for: .milliseconds(Int64(pollIntervalMilliseconds)))
    }
  }

  /// `send` then `waitForReceipt` (with the revert reason replayed on failure).
  public func sendAndWait(
    to: EthereumAddress?, data: [UInt8], value: UInt256 = .zero, gasMultiplierPercent: UInt64 = 100,
    confirmations: UInt64 = 1
  ) async throws(EthereumError) -> TransactionReceipt {
    let hash = try await send(to: to, data: data, value: value, gasMultiplierPercent: gasMultiplierPercent)
    return try await waitForReceipt(hash, confirmations: confirmations, replay: to.map { ($0, data) })
  }
}
