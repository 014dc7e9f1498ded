import AsyncHTTPClient
import Foundation
import Logging
import NIOCore

/// Something that answers Ethereum JSON-RPC requests.
///
/// Contract: returns the `result` member of the response; a JSON-RPC `error` member becomes
/// `EthereumError.rpc` (or `.reverted` when it carries revert data); transport failures become
/// `EthereumError.unreachable`.
public protocol EthereumProvider: Sendable {
  /// A human-readable name for logs and errors (usually the URL).
  var endpoint: String { get }
  func request(_ method: String, _ params: [JSONValue]) async throws(EthereumError) -> JSONValue
}

/// JSON-RPC over HTTP POST with AsyncHTTPClient.
public struct HTTPEthereumProvider: EthereumProvider {
  public let endpoint: String
  private let client: HTTPClient
  private let timeout: TimeAmount

  /// `url` like `http://127.0.0.1:8545`. Uses `HTTPClient.shared` unless a client is given.
  public init(url: String, client: HTTPClient = .shared, timeoutSeconds: Int64 = 30) {
    self.endpoint = url
    self.client = client
    self.timeout = .seconds(timeoutSeconds)
  }

  public func request(_ method: String, _ params: [JSONValue]) async throws(EthereumError) -> JSONValue {
    let id = Int.random(in: 1...Int(Int32.max))
    let body: [UInt8]
    do {
      body = Array(
        try JSONEncoder().encode(
          JSONValue.object([
            "jsonrpc": .string("2.0"), "id": .number(Double(id)), "method": .string(method), "params": .array(params),
          ])))
    } catch {
      throw .local("cannot encode JSON-RPC request: \(error)")
    }
    var req = HTTPClientRequest(url: endpoint)
    req.method = .POST
    req.headers.add(name: "Content-Type", value: "application/json")
    req.body = .bytes(body)
    let responseBytes: [UInt8]
    do {
      let resp = try await client.execute(req, timeout: timeout)
      let buffer = try await resp.body.collect(upTo: 64 << 20)
      guard resp.status.code / 100 == 2 || resp.status.code == 400 || resp.status.code == 500 else {
        throw EthereumError.unreachable(endpoint: endpoint, reason: "HTTP \(resp.status.code)")
      }
      responseBytes = Array(buffer.readableBytesView)
    } catch let e as EthereumError {
      throw e
    } catch {
      throw .unreachable(endpoint: endpoint, reason: "\(error)")
    }
    let json: JSONValue
    do {
      json = try JSONDecoder().decode(JSONValue.self, from: Data(responseBytes))
    } catch {
      throw .invalidResponse("\(method): not JSON: \(String(decoding: responseBytes.prefix(200), as: UTF8.self))")
    }
    return try Self.unwrap(json, method: method)
  }

  /// Extracts `result` or maps `error` to a typed error.
  static func unwrap(_ json: JSONValue, method: String) throws(EthereumError) -> JSONValue {
    if let err = json["error"], !err.isNull {
      let code: Int
      if case .number(let n)? = err["code"] { code = Int(n) } else { code = 0 }
      let message = err["message"]?.stringValue ?? "\(err)"
      if let revert = revertData(err, message: message) {
        throw .reverted(ContractRevert.decode(revert), transaction: nil)
      }
      throw .rpc(code: code, message: message)
    }
    guard let result = json["result"] else { throw .invalidResponse("\(method): neither result nor error") }
    return result
  }

  /// Revert data from an error object: `error.data` as hex (geth, hardhat, the dev-chain shim), or a nested
  /// `error.data.data`; nil when the error is not a revert.
  static func revertData(_ err: JSONValue, message: String) -> [UInt8]? {
    var candidate: String?
    if let d = err["data"] {
      if let s = d.stringValue {
        candidate = s
      } else if let s = d["data"]?.stringValue {
        candidate = s
      }
    }
    let mentionsRevert = message.lowercased().contains("revert") || err["code"] == .number(3)
    if let c = candidate, c.hasPrefix("0x"), let bytes = try? Hex.decode(c) { return bytes }
    return mentionsRevert ? [] : nil
  }
}

/// Several endpoints for the same chain, used in order: when the current endpoint is unreachable the request is
/// retried on the next one, and the provider sticks with whichever answered. Every endpoint's chain id is checked
/// once before its first use (`EthereumError.wrongChainID`), so one signer keeps one nonce sequence across them.
public actor FailoverProvider: EthereumProvider {
  public nonisolated let endpoint: String
  private let providers: [any EthereumProvider]
  private let expectedChainID: UInt64?
  private var current = 0
  private var verified: Set<Int> = []
  private let logger: Logger

  public init(_ providers: [any EthereumProvider], expectedChainID: UInt64?, logger: Logger) {
    precondition(!providers.isEmpty, "FailoverProvider needs at least one endpoint")
    self.providers = providers
    self.expectedChainID = expectedChainID
    self.endpoint = providers.map(\.endpoint).joined(separator: ",")
    self.logger = logger
  }

  /// The endpoint currently preferred.
  public var currentEndpoint: String { providers[current].endpoint }

  public func request(_ method: String, _ params: [JSONValue]) async throws(EthereumError) -> JSONValue {
    var lastError: EthereumError = .unreachable(endpoint: endpoint, reason: "no endpoint tried")
    for attempt in 0..<providers.count {
      let index = (current + attempt) % providers.count
      let p = providers[index]
      do throws(EthereumError) {
        if let expected = expectedChainID, !verified.contains(index) {
          let got = try await p.request("eth_chainId", [])
          guard let s = got.stringValue, let id = UInt256(hex: s)?.uint64Value else {
            throw EthereumError.invalidResponse("eth_chainId: \(got)")
          }
          guard id == expected else { throw EthereumError.wrongChainID(expected: expected, actual: id) }
          verified.insert(index)
        }
        let result = try await p.request(method, params)
        if index != current {
          logger.warning(
            "Ethereum endpoint failover", metadata: ["from": "\(providers[current].endpoint)", "to": "\(p.endpoint)"])
          current = index
        }
        return result
      } catch {
        switch error {
        case .unreachable, .wrongChainID:
          logger.debug("Ethereum endpoint failed", metadata: ["endpoint": "\(p.endpoint)", "error": "\(error)"])
          lastError = error
          continue
        default:
          throw error
        }
      }
    }
    throw lastError
  }
}
