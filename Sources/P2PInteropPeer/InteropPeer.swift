import Crypto
import Foundation
import LibP2P
import Logging
import Multiformats
import NIOCore
import NIOPosix

/// A Swift libp2p peer driven by the interop tests (Tests/interop/libp2p).
///
/// Usage: `P2PInteropPeer [--muxers mplex,yamux] [--listen MA] [--dial MA] [--actions identify,ping,echo]
///         [--echo-bytes N] [--echo-streams K] [--stay]`
///
/// Prints one JSON object per line: `listening`, `connected`, `identified`, `result`, `done`. It mounts the
/// echo protocol `/interop/echo/1.0.0`. Dialing: runs the actions against the dialed peer and exits with 0
/// when all succeeded. Listening (or `--stay`): runs until standard input closes.
@main
struct InteropPeer {
  static let echoProtocol = "/interop/echo/1.0.0"

  struct Options {
    var muxers = [MplexFrame.protocolID, YamuxHeader.protocolID]
    var listen: [String] = []
    var dial: String?
    var actions: [String] = []
    var echoBytes = 64 << 20
    var echoStreams = 8
    var stay = false
  }

  static func parse() -> Options {
    var o = Options()
    var args = CommandLine.arguments.dropFirst().makeIterator()
    while let a = args.next() {
      switch a {
      case "--muxers":
        o.muxers = (args.next() ?? "").split(separator: ",").map {
          $0 == "mplex" ? MplexFrame.protocolID : $0 == "yamux" ? YamuxHeader.protocolID : String($0)
        }
      case "--listen": o.listen.append(args.next() ?? "")
      case "--dial": o.dial = args.next()
      case "--actions": o.actions = (args.next() ?? "").split(separator: ",").map(String.init)
      case "--echo-bytes": o.echoBytes = Int(args.next() ?? "") ?? o.echoBytes
      case "--echo-streams": o.echoStreams = Int(args.next() ?? "") ?? o.echoStreams
      case "--stay": o.stay = true
      default:
        FileHandle.standardError.write("unknown argument \(a)\n".data(using: .utf8)!)
        exit(2)
      }
    }
    return o
  }

  static func emit(_ object: [String: Any]) {
    guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
    var line = data
    line.append(0x0a)
    FileHandle.standardOutput.write(line)
  }

  static func describe(_ info: IdentifyInfo) -> [String: Any] {
    var o: [String: Any] = [
      "event": "identified", "peer": info.peerID.description, "agent": info.agentVersion ?? "",
      "protocolVersion": info.protocolVersion ?? "", "protocols": info.protocols,
      "listenAddrs": info.listenAddresses.map(\.description), "observed": info.observedAddress?.description ?? "",
      "sprValid": info.signedPeerRecord != nil, "sprError": info.signedPeerRecordError ?? "",
    ]
    if let r = info.signedPeerRecord {
      o["sprPeer"] = r.peerID.description
      o["sprAddrs"] = r.record.addresses.map(\.description)
    }
    return o
  }

  static func main() async throws {
    let options = parse()
    var logger = Logger(label: "interop-peer")
    logger.logLevel = ProcessInfo.processInfo.environment["P2P_LOG"] == "debug" ? .debug : .warning
    var config = HostConfiguration(
      identity: .generateSecp256k1(),
      listenAddresses: try options.listen.map { try Multiaddr(string: $0) })
    config.muxers = options.muxers
    config.agentVersion = "swift-codex-interop"
    let host = P2PHost(configuration: config, logger: logger)
    host.registry.register(echoProtocol) { stream in
      while let chunk = try await stream.read() { try await stream.write(chunk) }
      try await stream.closeWrite()
    }
    let events = host.events()
    let eventTask = Task {
      for await event in events {
        switch event {
        case .connected(let c):
          emit([
            "event": "connected", "peer": c.remotePeer.description, "muxer": c.info.muxer,
            "direction": c.info.isInitiator ? "out" : "in",
          ])
        case .identified(let info): emit(describe(info))
        case .disconnected(let info): emit(["event": "disconnected", "peer": info.remotePeer.description])
        }
      }
    }
    if !options.listen.isEmpty {
      try await host.start()
      emit([
        "event": "listening", "peer": host.peerID.description, "addrs": host.listenAddresses.map(\.description),
        "spr": host.signedPeerRecord?.text ?? "",
      ])
    }
    var allOK = true
    if let dial = options.dial {
      do {
        let conn = try await host.connect(to: try Multiaddr(string: dial))
        for action in options.actions {
          let ok = await run(action, on: conn, host: host, options: options)
          allOK = allOK && ok
        }
      } catch {
        emit(["event": "result", "action": "connect", "ok": false, "error": "\(error)"])
        allOK = false
      }
    }
    if options.dial == nil || options.stay {
      // Serve until standard input closes.
      await Task.detached {
        while let line = readLine(strippingNewline: true) { _ = line }
      }.value
    }
    emit(["event": "done", "ok": allOK])
    await host.shutdown()
    eventTask.cancel()
    exit(allOK ? 0 : 1)
  }

  static func run(_ action: String, on conn: P2PConnection, host: P2PHost, options: Options) async -> Bool {
    let clock = ContinuousClock()
    let start = clock.now
    do {
      switch action {
      case "identify":
        let info = try await host.identify(conn)
        var o = describe(info)
        o["event"] = "result"
        o["action"] = "identify"
        o["ok"] = info.peerID == conn.remotePeer && info.signedPeerRecord != nil
        emit(o)
        return o["ok"] as! Bool
      case "ping":
        var rtts: [Int] = []
        for _ in 0..<3 {
          let rtt = try await host.ping(conn.remotePeer)
          let micros = rtt.components.seconds * 1_000_000 + rtt.components.attoseconds / 1_000_000_000_000
          rtts.append(Int(micros))
        }
        let result: [String: Any] = ["event": "result", "action": "ping", "ok": true, "rtt_us": rtts]
        emit(result)
        return true
      case "echo":
        let perStream = options.echoBytes / options.echoStreams
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
          for i in 0..<options.echoStreams {
            group.addTask { try await echoOne(conn, bytes: perStream, seed: UInt64(i + 1)) }
          }
          var oks: [Bool] = []
          for try await r in group { oks.append(r) }
          return oks
        }
        let elapsed = (clock.now - start).components
        let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        let ok = results.allSatisfy { $0 } && results.count == options.echoStreams
        let result: [String: Any] = [
          "event": "result", "action": "echo", "ok": ok, "bytes": perStream * options.echoStreams,
          "streams": options.echoStreams, "seconds": seconds,
        ]
        emit(result)
        return ok
      default:
        emit(["event": "result", "action": action, "ok": false, "error": "unknown action"])
        return false
      }
    } catch {
      emit(["event": "result", "action": action, "ok": false, "error": "\(error)"])
      return false
    }
  }

  /// Deterministic bytes for stream `seed`.
  static func pattern(_ count: Int, seed: UInt64) -> [UInt8] {
    var x = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    var out = [UInt8](repeating: 0, count: count)
    out.withUnsafeMutableBytes { raw in
      let words = raw.bindMemory(to: UInt64.self)
      for i in 0..<words.count {
        x ^= x << 13
        x ^= x >> 7
        x ^= x << 17
        words[i] = x
      }
    }
    return out
  }

  /// Sends `bytes` on one echo stream while reading the echo; true when the SHA-256 matches.
  static func echoOne(_ conn: P2PConnection, bytes: Int, seed: UInt64) async throws -> Bool {
    let stream = try await conn.newStream(protocols: [echoProtocol])
    let data = pattern(bytes, seed: seed)
    let expected = SHA256.hash(data: data)
    return try await withThrowingTaskGroup(of: Bool?.self) { group in
      group.addTask {
        var offset = 0
        let chunk = 256 * 1024
        while offset < data.count {
          let end = min(offset + chunk, data.count)
          try await stream.write(ByteBuffer(bytes: data[offset..<end]))
          offset = end
        }
        try await stream.closeWrite()
        return nil
      }
      group.addTask {
        var hasher = SHA256()
        var count = 0
        while let c = try await stream.read() {
          c.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
          count += c.readableBytes
        }
        return count == bytes && hasher.finalize() == expected
      }
      var ok = false
      for try await r in group { if let r { ok = r } }
      return ok
    }
  }
}
