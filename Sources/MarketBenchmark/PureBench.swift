import CodexMarket
import Crypto
import Foundation

/// Runs `body` until about `seconds` of process CPU time have passed; returns operations per CPU-second (the
/// machine is shared, so CPU time is steadier than wall time for these single-threaded loops).
func rate(seconds: Double = 1, _ body: () throws -> Void) rethrows -> Double {
  var n = 0
  let start = clock()
  var elapsed = 0.0
  repeat {
    try body()
    n += 1
    if n % 8 == 0 { elapsed = Double(clock() - start) / Double(CLOCKS_PER_SEC) }
  } while elapsed < seconds
  return Double(n) / elapsed
}

/// CPU-side costs (per CPU-second): Keccak-256 throughput (baseline: SHA-256 from swift-crypto on the same input), transaction
/// signing, request-id computation, ABI decoding of a request.
func runPureBenchmark() throws {
  let block = [UInt8](repeating: 0xA5, count: 1 << 20)
  var sink: UInt8 = 0
  let keccak = rate {
    sink ^= Keccak256.hash(block)[0]
  }
  let sha = rate {
    sink ^= Array(SHA256.hash(data: block))[0]
  }
  emit("keccak256.throughput", keccak, "MiB/s", ["baseline_sha256_swift_crypto": String(format: "%.3f", sha)])
  let short = [UInt8](repeating: 1, count: 64)
  emit("keccak256.64_byte_hashes", rate { sink ^= Keccak256.hash(short)[0] }, "hash/s")

  let key = try PrivateKey(bytes: UInt256(1).bigEndianBytes)
  let tx = EIP1559Transaction(
    chainID: 1337, nonce: 1, maxPriorityFeePerGas: 1, maxFeePerGas: 100, gasLimit: 100_000, to: key.address,
    data: [UInt8](repeating: 7, count: 400))
  emit("eip1559.sign", try rate { sink ^= try tx.signed(with: key).rawBytes[0] }, "tx/s")

  let request = StorageRequest(
    client: key.address,
    ask: Ask(
      proofProbability: 1, pricePerBytePerSecond: 3, collateralPerByte: 5, slots: 4, slotSize: 1024, duration: 300,
      maxSlotLoss: 1),
    content: Content(cid: [UInt8](repeating: 1, count: 38), merkleRoot: [UInt8](repeating: 2, count: 32)), expiry: 100,
    nonce: [UInt8](repeating: 3, count: 32))
  emit("request.id", try rate { sink ^= try request.id()[0] }, "ids/s")
  let encoded = try ABI.encode([request.abiValue], as: [StorageRequest.abiType])
  emit(
    "abi.decode_request", try rate { sink ^= UInt8(try ABI.decode([StorageRequest.abiType], from: encoded).count) },
    "decodes/s")
  if sink == 0xFF { print("") }  // keep results alive
}
