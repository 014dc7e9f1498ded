import Foundation
import LibP2P
import Logging
import Multiformats

/// The node's libp2p side: its identity (the key file in the data directory), the host, and the addresses it
/// announces (`--listen-addrs`, `--nat none|extip:IP`).
public final class NodeNetwork: Sendable {
  /// Errors starting the network, with what to do about them.
  public struct StartError: Error, CustomStringConvertible, Sendable {
    public let description: String
  }

  public let host: P2PHost
  public let peerID: PeerID
  let nat: NAT

  /// How the node learns the addresses it announces.
  enum NAT: Sendable, Equatable {
    case none
    case externalIP(String)

    init(_ text: String) throws {
      let lower = text.lowercased()
      if lower == "none" || lower == "any" || lower == "upnp" || lower == "pmp" {
        // UPnP/NAT-PMP probing is not implemented: they behave as `none` (announce what we bind).
        self = .none
      } else if lower.hasPrefix("extip:") {
        let ip = String(text.dropFirst(6))
        guard (try? Multiaddr(string: "/ip4/\(ip)/tcp/1")) != nil || (try? Multiaddr(string: "/ip6/\(ip)/tcp/1")) != nil
        else { throw StartError(description: "--nat extip:\(ip): '\(ip)' is not an IP address") }
        self = .externalIP(ip)
      } else {
        throw StartError(description: "--nat: '\(text)' is not one of any, none, upnp, pmp, extip:<IP>")
      }
    }
  }

  /// Throws `StartError` naming the option when `--listen-addrs` or `--nat` cannot be used; touches nothing, so a
  /// command line can be checked before anything starts.
  public static func checkOptions(_ config: NodeConfig) throws {
    _ = try listenAddresses(config)
    _ = try NAT(config.nat)
  }

  private static func listenAddresses(_ config: NodeConfig) throws -> [Multiaddr] {
    try config.listenAddresses.map { text in
      do { return try Multiaddr(string: text) } catch {
        throw StartError(description: "--listen-addrs: '\(text)' is not a multiaddr: \(error)")
      }
    }
  }

  /// Loads or creates the node key and prepares the host (not yet listening).
  public init(config: NodeConfig, logger: Logger) throws {
    let listen = try Self.listenAddresses(config)
    nat = try NAT(config.nat)
    let keyPath =
      config.netPrivKeyFile.hasPrefix("/") ? config.netPrivKeyFile : config.dataDir + "/" + config.netPrivKeyFile
    let key = try NodeKeyFile.loadOrCreate(at: keyPath)
    var hostConfig = HostConfiguration(identity: key, listenAddresses: listen)
    hostConfig.agentVersion = config.agentString
    hostConfig.maxConnections = config.maxPeers
    if case .externalIP(let ip) = nat {
      hostConfig.announceAddresses = listen.compactMap { Self.replacingIP(of: $0, with: ip) }
    }
    host = P2PHost(configuration: hostConfig, logger: logger)
    peerID = key.publicKey.peerID
  }

  /// Starts listening.
  public func start() async throws { try await host.start() }

  /// Stops the host and closes every connection.
  public func stop() async { await host.shutdown() }

  /// The bound listen addresses.
  public var listenAddresses: [Multiaddr] { host.listenAddresses }

  /// What the node tells peers to dial.
  public var announceAddresses: [Multiaddr] { host.announcedAddresses }

  /// Dials a peer at the given addresses (the first that answers), checking its identity.
  public func connect(peer: PeerID, addresses: [Multiaddr]) async throws {
    var lastError: (any Error)? = nil
    for address in addresses {
      do {
        _ = try await host.connect(to: address, peer: peer)
        return
      } catch { lastError = error }
    }
    throw lastError ?? StartError(description: "Unable to find Peer!")
  }

  static func replacingIP(of address: Multiaddr, with ip: String) -> Multiaddr? {
    var parts = address.description.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    guard parts.count >= 2, parts[0] == "ip4" || parts[0] == "ip6" else { return address }
    parts[0] = ip.contains(":") ? "ip6" : "ip4"
    parts[1] = ip
    return try? Multiaddr(string: "/" + parts.joined(separator: "/"))
  }
}
