import Foundation
import Logging
import Testing

@testable import CodexMarket

@Suite struct ClientTests {
  let logger = Logger(label: "test")
  let key = try! PrivateKey(hex: "0x" + String(repeating: "46", count: 32))

  @Test func concurrentSendersGetConsecutiveNonces() async throws {
    let chain = FakeChainProvider()
    await chain.setNonce(key.address, 3)
    let sender = try await TransactionSender(
      key: key, client: EthereumClient(provider: chain), chainID: 1337, nonceStorePath: nil, logger: logger)
    try await withThrowingTaskGroup(of: Void.self) { group in
      for _ in 0..<4 {
        group.addTask {
          for _ in 0..<5 {
            _ = try await sender.sendAndWait(to: .zero, data: [1, 2, 3])
          }
        }
      }
      try await group.waitForAll()
    }
    let accepted = await chain.accepted.map(\.1)
    #expect(accepted == Array(3..<23))
  }

  @Test func nonceSurvivesRestartAndResyncs() async throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("nonce-\(UUID().uuidString).json").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    let chain = FakeChainProvider()
    let client = EthereumClient(provider: chain)
    do {
      let sender = try await TransactionSender(
        key: key, client: client, chainID: 1337, nonceStorePath: path, logger: logger)
      for _ in 0..<3 { _ = try await sender.send(to: .zero, data: []) }
    }
    #expect(FileManager.default.fileExists(atPath: path))
    // "Restart": a new sender reads the persisted nonce (3) even though a stale chain view would say less.
    let staleView = EthereumClient(provider: FakeChainProvider())  // reports nonce 0 for everyone
    let restarted = NonceManager(
      address: key.address, chainID: 1337, client: staleView, storePath: path, logger: logger)
    #expect(try await restarted.peek() == 3)
    // Someone else used nonces 3 and 4 with the same key: the next send is rejected as too low, re-syncs, succeeds.
    await chain.setNonce(key.address, 5)
    let sender2 = try await TransactionSender(
      key: key, client: client, chainID: 1337, nonceStorePath: path, logger: logger)
    _ = try await sender2.send(to: .zero, data: [])
    #expect(await chain.accepted.last?.1 == 5)
    // The persisted nonce is ahead of the chain (e.g. chain reset): "too high" re-syncs downwards.
    await chain.setNonce(key.address, 1)
    let sender3 = try await TransactionSender(
      key: key, client: client, chainID: 1337, nonceStorePath: path, logger: logger)
    _ = try await sender3.send(to: .zero, data: [])
    #expect(await chain.accepted.last?.1 == 1)
  }

  @Test func failoverKeepsOneNonceSequence() async throws {
    // Two endpoints of the same chain (sharing state), the first one dead.
    let chain = FakeChainProvider()
    let failover = FailoverProvider(
      [DeadProvider(endpoint: "http://dead"), chain], expectedChainID: 1337, logger: logger)
    let sender = try await TransactionSender(
      key: key, client: EthereumClient(provider: failover), chainID: 1337, nonceStorePath: nil, logger: logger)
    for _ in 0..<3 { _ = try await sender.sendAndWait(to: .zero, data: []) }
    #expect(await chain.accepted.map(\.1) == [0, 1, 2])
    #expect(await failover.currentEndpoint == "fake://chain")
  }

  @Test func wrongChainAndUnreachable() async throws {
    let other = FakeChainProvider(endpoint: "fake://other", chainID: 5)
    await #expect(throws: EthereumError.wrongChainID(expected: 1337, actual: 5)) {
      _ = try await TransactionSender(
        key: key, client: EthereumClient(provider: other), chainID: 1337, nonceStorePath: nil, logger: logger)
    }
    let failover = FailoverProvider([other], expectedChainID: 1337, logger: logger)
    await #expect(throws: EthereumError.wrongChainID(expected: 1337, actual: 5)) {
      _ = try await EthereumClient(provider: failover).blockNumber()
    }
    let dead = FailoverProvider(
      [DeadProvider(endpoint: "a"), DeadProvider(endpoint: "b")], expectedChainID: nil, logger: logger)
    await #expect(throws: EthereumError.unreachable(endpoint: "b", reason: "connection refused")) {
      _ = try await EthereumClient(provider: dead).blockNumber()
    }
  }

  @Test func revertsDecodeToNamedErrors() async throws {
    let client = EthereumClient(provider: FakeChainProvider())
    do {
      _ = try await client.call(to: FakeChainProvider.revertingAddress, data: [])
      Issue.record("expected a revert")
    } catch {
      #expect(error.marketplaceError == .slotNotFree)
      #expect(MarketError(error) == .contract(.slotNotFree))
    }
    let plain = HTTPEthereumProviderTestHook.unwrapError(
      .object(["code": .number(-32000), "message": .string("nonce too low")]))
    #expect(plain == .rpc(code: -32000, message: "nonce too low"))
    #expect(plain.isNonceTooLow)
  }

  @Test func receiptWaitsForConfirmations() async throws {
    let chain = FakeChainProvider()
    let sender = try await TransactionSender(
      key: key, client: EthereumClient(provider: chain), chainID: 1337, nonceStorePath: nil, logger: logger)
    await sender.setPollInterval(milliseconds: 5)
    let hash = try await sender.send(to: .zero, data: [])
    let minedAt = try #require(await chain.receipts[hash])
    let waiter = Task { try await sender.waitForReceipt(hash, confirmations: 3, timeoutSeconds: 10) }
    // Two more blocks give the third confirmation.
    for _ in 0..<2 { _ = try await sender.send(to: .zero, data: []) }
    let receipt = try await waiter.value
    #expect(receipt.blockNumber == minedAt)
    #expect(try await EthereumClient(provider: chain).blockNumber() >= minedAt + 2)
    await #expect(throws: EthereumError.timeout("receipt of 0x" + String(repeating: "00", count: 32))) {
      _ = try await sender.waitForReceipt([UInt8](repeating: 0, count: 32), timeoutSeconds: 0.05)
    }
  }
}
