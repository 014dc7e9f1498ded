/// What `codex connect` was asked to dial: a peer id and the multiaddrs to dial it at.
///
/// The command takes addresses the way `codex info` prints them (`/ip4/1.2.3.4/tcp/8070/p2p/<peer id>`, several
/// for one peer allowed), or a bare peer id with `--addr` multiaddrs. With a bare peer id and no address the node
/// itself is asked to find the peer.
public struct ConnectTarget: Sendable, Equatable {
  public var peerID: String
  /// Multiaddr texts without the `/p2p/<id>` part.
  public var addresses: [String]

  public init(peerID: String, addresses: [String]) {
    self.peerID = peerID
    self.addresses = addresses
  }

  /// Reads the command's arguments and `--addr` options.
  /// - Throws: `CodexClientError.invalidArgument` when no peer is named, when the arguments name different peers,
  ///   when a multiaddr lacks `/p2p/<id>` (and no bare peer id is given), or when an argument is neither a
  ///   multiaddr nor a peer id.
  public static func parse(_ arguments: [String], addresses extra: [String]) throws(CodexClientError) -> ConnectTarget {
    var peer: String?
    var addresses: [String] = []
    func name(_ id: String) throws(CodexClientError) {
      if let peer, peer != id {
        throw .invalidArgument("the addresses name two peers, \(peer) and \(id): connect to one peer at a time")
      }
      peer = id
    }
    for argument in arguments.map({ $0.trimmingWhitespace() }) {
      if argument.hasPrefix("/") {
        let parts = argument.split(separator: "/", omittingEmptySubsequences: false)
        // "/ip4/1.2.3.4/tcp/8070/p2p/<id>": the id follows the last p2p (or legacy ipfs) component.
        if let at = parts.lastIndex(where: { $0 == "p2p" || $0 == "ipfs" }), at + 1 < parts.count,
          at + 2 == parts.count, !parts[at + 1].isEmpty
        {
          try name(String(parts[at + 1]))
          let address = parts[..<at].joined(separator: "/")
          if !address.isEmpty { addresses.append(address) }
        } else {
          addresses.append(argument)
        }
      } else if !argument.isEmpty, argument.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) {
        try name(argument)
      } else {
        throw .invalidArgument(
          "'\(argument)' is neither a multiaddr (/ip4/.../tcp/.../p2p/<peer id>) nor a peer id")
      }
    }
    addresses += extra.map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
    guard let peer else {
      throw .invalidArgument(
        "no peer id: give an address ending in /p2p/<peer id> (as `codex info` prints it on the other node) or the"
          + " peer id with --addr <multiaddr>")
    }
    return ConnectTarget(peerID: peer, addresses: addresses)
  }
}
