import CodexMarket
import Foundation
import Logging

/// MarketBenchmark: the Ethereum client against a running dev chain.
///
///   MarketBenchmark integration --rpc URL|--devchain-json F --artifacts DIR   lifecycle test; prints PASS/FAIL lines and
///                                                           "N passed, N failed"; exit 1 on failure
///   MarketBenchmark pure                                    JSON lines: Keccak-256 MiB/s (baseline SHA-256),
///                                                           signing, request ids, ABI decoding (no chain)
///   MarketBenchmark bench --rpc URL --artifacts DIR [--seconds S] [--fills N]
///                                                           JSON lines: tx/s from 4 concurrent senders
///                                                           (baseline: 1 sender), fillSlot→SlotFilled latency
func argument(_ name: String, default value: String? = nil) -> String? {
  let args = CommandLine.arguments
  if let i = args.firstIndex(of: name), i + 1 < args.count { return args[i + 1] }
  return value
}

let mode = CommandLine.arguments.dropFirst().first ?? "help"
var logger = Logger(label: "market-bench")
logger.logLevel = ProcessInfo.processInfo.environment["MARKET_LOG"] == "debug" ? .debug : .warning
let artifacts = argument("--artifacts", default: ".build-contracts")!
let endpoint: (url: String, keys: [PrivateKey]?)
if let description = argument("--devchain-json") {
  do {
    let d = try DevChain.describe(jsonPath: description)
    endpoint = (d.url, d.keys)
  } catch {
    print("error: \(error)")
    exit(1)
  }
} else {
  endpoint = (argument("--rpc", default: "http://127.0.0.1:8545")!, nil)
}

@MainActor func connect() async throws -> DevChain {
  var chain = try await DevChain.connect(url: endpoint.url, logger: logger)
  if let keys = endpoint.keys { chain.keys = keys }
  return chain
}

do {
  switch mode {
  case "integration":
    let chain = try await connect()
    let checks: Checks
    do {
      checks = try await runIntegration(chain: chain, artifacts: artifacts)
    } catch {
      print("FAIL integration aborted: \(error)")
      print("0 passed, 1 failed")
      exit(1)
    }
    print("\(checks.passed) passed, \(checks.failed) failed")
    exit(checks.failed == 0 ? 0 : 1)
  case "pure":
    try runPureBenchmark()
  case "bench":
    let chain = try await connect()
    try await runBenchmark(
      chain: chain, artifacts: artifacts, seconds: Double(argument("--seconds", default: "10")!) ?? 10,
      fills: Int(argument("--fills", default: "10")!) ?? 10)
  default:
    print("usage: MarketBenchmark integration|bench|pure --rpc URL --artifacts DIR [--seconds S] [--fills N]")
    exit(2)
  }
} catch {
  print("error: \(error)")
  exit(1)
}
