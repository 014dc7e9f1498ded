import Crypto
import Foundation
import LibP2P
import Logging
import Multiformats
import NIOCore
import NIOPosix

#if canImport(Glibc)
  import Glibc
#endif

/// Swift↔Swift libp2p throughput over loopback (noise+mplex, noise+yamux; 1 and 8 streams) against the
/// `openssl speed -evp chacha20-poly1305` baseline measured in the same run, plus the memory cost of idle
/// connections. Prints one JSON object per line.
///
/// Usage: `P2PBenchmark [--bytes N] [--repeat N] [--idle-connections N] [--only NAME-PART]
/// [--in-process | --split-groups]` (build with `-c release`). With `--repeat N` each throughput case runs N
/// times on the same connection setup and reports the median as `value`, with `min`, `max` and every run.
@main
struct P2PBenchmark {
  static let sinkProtocol = "/bench/sink/1.0.0"

  static func emit(_ object: [String: Any]) {
    guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
    FileHandle.standardOutput.write(data + Data([0x0a]))
  }

  /// openssl's ChaCha20-Poly1305 speed on 16 KiB blocks in MB/s (nil if openssl is missing).
  static func opensslChaChaBaseline() -> Double? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["openssl", "speed", "-seconds", "2", "-bytes", "16384", "-evp", "chacha20-poly1305"]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return nil }
    let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    for line in out.split(separator: "\n") where line.lowercased().hasPrefix("chacha20-poly1305") {
      if let field = line.split(separator: " ").last, field.hasSuffix("k"), let k = Double(field.dropLast()) {
        return k * 1000 / 1_000_000
      }
    }
    return nil
  }

  /// swift-crypto ChaChaPoly seal and open of 64 KiB frames through the Noise cipher state, MB/s.
  static func noiseCipherSpeed() -> (seal: Double, open: Double) {
    let key = SymmetricKey(size: .bits256)
    let frame = [UInt8](repeating: 0x5A, count: 65519)
    let iterations = 4096
    var boxes: [ChaChaPoly.SealedBox] = []
    boxes.reserveCapacity(iterations)
    let clock = ContinuousClock()
    var start = clock.now
    for i in 0..<iterations {
      var nonce = [UInt8](repeating: 0, count: 12)
      nonce[4] = UInt8(truncatingIfNeeded: i)
      nonce[5] = UInt8(truncatingIfNeeded: i >> 8)
      let box = frame.withUnsafeBytes { raw in
        try! ChaChaPoly.seal(raw, using: key, nonce: try! ChaChaPoly.Nonce(data: nonce), authenticating: Data())
      }
      boxes.append(box)
    }
    let sealTime = clock.now - start
    start = clock.now
    var total = 0
    for box in boxes { total += try! ChaChaPoly.open(box, using: key, authenticating: Data()).count }
    let openTime = clock.now - start
    func mbps(_ d: Duration) -> Double {
      Double(frame.count * iterations) / (Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18) / 1e6
    }
    precondition(total == frame.count * iterations)
    return (mbps(sealTime), mbps(openTime))
  }

  static func rssKiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
      return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }
    return 0
  }

  static func makeHost(_ group: any EventLoopGroup, muxers: [String], listen: Bool, maxConnections: Int = 160)
    async throws -> P2PHost
  {
    var config = HostConfiguration(
      identity: .generateSecp256k1(), listenAddresses: listen ? [try Multiaddr(string: "/ip4/127.0.0.1/tcp/0")] : [])
    config.muxers = muxers
    config.identifyOnConnect = false
    config.maxConnections = maxConnections
    var logger = Logger(label: "bench")
    logger.logLevel = .critical
    let host = P2PHost(configuration: config, group: group, logger: logger)
    if listen { try await host.start() }
    return host
  }

  static let rusageProtocol = "/bench/rusage/1.0.0"

  /// User + system CPU seconds of this process so far.
  static func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
      + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
  }

  /// Mounts the sink (counts bytes until EOF, replies with the count) and the CPU-time query.
  static func mountSink(on host: P2PHost) {
    host.registry.register(sinkProtocol) { stream in
      var count: UInt64 = 0
      while let chunk = try await stream.read() { count += UInt64(chunk.readableBytes) }
      var reply = ByteBuffer()
      reply.writeInteger(count)
      try await stream.write(reply)
      try await stream.closeWrite()
    }
    host.registry.register(rusageProtocol) { stream in
      var reply = ByteBuffer()
      reply.writeInteger(UInt64(cpuSeconds() * 1e6))
      try await stream.write(reply)
      try await stream.closeWrite()
    }
  }

  /// The sink side in a child process (`--serve`): prints its listen address, runs until stdin closes.
  static func serve(muxers: [String]) async throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
    let server = try await makeHost(group, muxers: muxers, listen: true)
    mountSink(on: server)
    FileHandle.standardOutput.write(Data("LISTEN \(server.listenAddresses[0])\n".utf8))
    // Wait for stdin to close on a thread of its own (not one of the few cooperative-pool threads).
    await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
      Thread.detachNewThread {
        _ = FileHandle.standardInput.readDataToEndOfFile()
        done.resume()
      }
    }
    await server.shutdown()
    try await group.shutdownGracefully()
  }

  /// The remote side's CPU seconds (through ``rusageProtocol``).
  static func remoteCPUSeconds(_ conn: P2PConnection) async throws -> Double {
    let stream = try await conn.newStream(protocols: [rusageProtocol])
    let reply = try await stream.readExactly(8)
    return Double(reply.getInteger(at: reply.readerIndex, as: UInt64.self)!) / 1e6
  }

  struct Run {
    var mbps: Double
    var seconds: Double
    var clientCPU: Double
    var serverCPU: Double?
  }

  /// One-directional transfer of `total` bytes over `streams` streams from `client` to the sink at `address`.
  static func throughput(client: P2PHost, address: Multiaddr, streams: Int, total: Int, remoteCPU: Bool)
    async throws -> Run
  {
    let conn = try await client.connect(to: address)
    let chunk = ByteBuffer(bytes: [UInt8](repeating: 0xA5, count: 1 << 20))
    let perStream = total / streams
    let serverBefore = remoteCPU ? try await remoteCPUSeconds(conn) : 0
    let cpuBefore = cpuSeconds()
    let clock = ContinuousClock()
    let start = clock.now
    try await withThrowingTaskGroup(of: Void.self) { tasks in
      for _ in 0..<streams {
        tasks.addTask {
          let stream = try await conn.newStream(protocols: [sinkProtocol])
          var sent = 0
          while sent < perStream {
            let n = min(chunk.readableBytes, perStream - sent)
            try await stream.write(chunk.getSlice(at: chunk.readerIndex, length: n)!)
            sent += n
          }
          try await stream.closeWrite()
          let reply = try await stream.readExactly(8)
          guard reply.getInteger(at: reply.readerIndex, as: UInt64.self) == UInt64(perStream) else {
            throw StreamError.unexpectedEOF
          }
        }
      }
      try await tasks.waitForAll()
    }
    let elapsed = clock.now - start
    let cpu = cpuSeconds() - cpuBefore
    let serverCPU = remoteCPU ? try await remoteCPUSeconds(conn) - serverBefore : nil
    await conn.close()
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return Run(
      mbps: Double(perStream * streams) / seconds / 1_000_000, seconds: seconds, clientCPU: cpu,
      serverCPU: serverCPU)
  }

  static func idleConnections(_ count: Int, group: any EventLoopGroup) async throws -> [String: Any] {
    let server = try await makeHost(group, muxers: [MplexFrame.protocolID], listen: true, maxConnections: count + 10)
    var clients: [P2PHost] = []
    for _ in 0..<count { clients.append(try await makeHost(group, muxers: [MplexFrame.protocolID], listen: false)) }
    let before = rssKiB()
    let clock = ContinuousClock()
    let start = clock.now
    let address = server.listenAddresses[0]
    try await withThrowingTaskGroup(of: Void.self) { tasks in
      var next = 0
      for _ in 0..<min(32, count) {
        let c = clients[next]
        next += 1
        tasks.addTask { _ = try await c.connect(to: address) }
      }
      while try await tasks.next() != nil {
        if next < count {
          let c = clients[next]
          next += 1
          tasks.addTask { _ = try await c.connect(to: address) }
        }
      }
    }
    let elapsed = clock.now - start
    try await Task.sleep(for: .milliseconds(500))
    let after = rssKiB()
    let serverSide = server.connections.count
    for c in clients { await c.shutdown() }
    await server.shutdown()
    return [
      "name": "p2p_idle_connections", "value": serverSide, "unit": "connections",
      "rss_before_kib": before, "rss_after_kib": after,
      "rss_per_connection_kib_both_ends": Double(after - before) / Double(max(count, 1)),
      "connect_seconds": Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
    ]
  }

  /// Starts `P2PBenchmark --serve MUXER` as a child process and returns it with the address it listens on.
  static func spawnSink(muxer: String) throws -> (Process, Pipe, Multiaddr) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
    process.arguments = ["--serve", muxer]
    let input = Pipe()
    let output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try process.run()
    var line = Data()
    while true {
      let byte = output.fileHandleForReading.readData(ofLength: 1)
      if byte.isEmpty || byte == Data([0x0a]) { break }
      line += byte
    }
    let text = String(decoding: line, as: UTF8.self)
    guard text.hasPrefix("LISTEN ") else { throw HostError.notRunning }
    return (process, input, try Multiaddr(string: String(text.dropFirst(7))))
  }

  static func main() async throws {
    var total = 512 << 20
    var idle = 1000
    var only: String?
    var splitGroups = false
    var inProcess = false
    var repeats = 1
    var args = CommandLine.arguments.dropFirst().makeIterator()
    while let a = args.next() {
      switch a {
      case "--bytes": total = Int(args.next() ?? "") ?? total
      case "--idle-connections": idle = Int(args.next() ?? "") ?? idle
      case "--repeat": repeats = max(1, Int(args.next() ?? "") ?? 1)
      case "--only": only = args.next()
      case "--split-groups": splitGroups = true
      case "--in-process": inProcess = true
      case "--serve":
        try await serve(muxers: [args.next() ?? MplexFrame.protocolID])
        return
      default: break
      }
    }
    #if canImport(Glibc)
      var limit = rlimit()
      if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
      }
    #endif
    let baseline = opensslChaChaBaseline()
    emit([
      "name": "openssl_chacha20_poly1305_16k", "value": baseline ?? -1, "unit": "MB/s",
      "note": "openssl speed -evp chacha20-poly1305, 16 KiB blocks, one core",
    ])
    if only == nil {
      let cipher = noiseCipherSpeed()
      emit(["name": "swift_crypto_chachapoly_seal_64k", "value": cipher.seal, "unit": "MB/s"])
      emit(["name": "swift_crypto_chachapoly_open_64k", "value": cipher.open, "unit": "MB/s"])
    }
    // By default the sink runs in a child process (two nodes, two processes; CPU is reported per side).
    // With `--in-process` both nodes share one process and one event loop group (one thread per core), or
    // with `--split-groups` each node gets its own single-thread group.
    let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
    let serverGroup: any EventLoopGroup = splitGroups ? MultiThreadedEventLoopGroup(numberOfThreads: 1) : group
    let clientGroup: any EventLoopGroup = splitGroups ? MultiThreadedEventLoopGroup(numberOfThreads: 1) : group
    for muxer in [MplexFrame.protocolID, YamuxHeader.protocolID] {
      let short = muxer.contains("mplex") ? "mplex" : "yamux"
      let names = [1, 8].map { "p2p_throughput_noise_\(short)_\($0)stream" }
      if let only, !names.contains(where: { $0.contains(only) }) { continue }
      var child: (Process, Pipe)?
      var server: P2PHost?
      let address: Multiaddr
      if inProcess || splitGroups {
        let s = try await makeHost(serverGroup, muxers: [muxer], listen: true)
        mountSink(on: s)
        server = s
        address = s.listenAddresses[0]
      } else {
        let (process, input, a) = try spawnSink(muxer: muxer)
        child = (process, input)
        address = a
      }
      let client = try await makeHost(clientGroup, muxers: [muxer], listen: false)
      for streams in [1, 8] {
        let name = "p2p_throughput_noise_\(short)_\(streams)stream"
        if let only, !name.contains(only) { continue }
        var runs: [Run] = []
        for _ in 0..<repeats {
          runs.append(
            try await throughput(
              client: client, address: address, streams: streams, total: total, remoteCPU: child != nil))
        }
        // The median run by throughput stands for the case; every run's MB/s is listed.
        let ordered = runs.sorted { $0.mbps < $1.mbps }
        let run = ordered[ordered.count / 2]
        var o: [String: Any] = [
          "name": name, "value": run.mbps, "unit": "MB/s", "bytes": total, "streams": streams,
          "seconds": run.seconds,
          "setup": child != nil
            ? "two processes, \(System.coreCount)-thread group each"
            : splitGroups
              ? "one process, one event loop thread per node" : "one process, shared \(System.coreCount)-thread group",
        ]
        if repeats > 1 {
          o["runs"] = runs.map(\.mbps)
          o["min"] = ordered.first!.mbps
          o["max"] = ordered.last!.mbps
          if let baseline { o["min_ratio_to_baseline"] = ordered.first!.mbps / baseline }
        }
        if let serverCPU = run.serverCPU {
          o["cpu_percent_sender"] = run.clientCPU / run.seconds * 100
          o["cpu_percent_receiver"] = serverCPU / run.seconds * 100
          o["mb_per_cpu_second"] = Double(total) / 1e6 / (run.clientCPU + serverCPU)
        } else {
          o["cpu_percent_both"] = run.clientCPU / run.seconds * 100
          o["mb_per_cpu_second"] = Double(total) / 1e6 / run.clientCPU
        }
        if let baseline {
          o["baseline"] = "openssl_chacha20_poly1305_16k"
          o["baseline_value"] = baseline
          o["ratio_to_baseline"] = run.mbps / baseline
        }
        emit(o)
      }
      await client.shutdown()
      await server?.shutdown()
      if let (process, input) = child {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
      }
    }
    if idle > 0 { emit(try await idleConnections(idle, group: group)) }
    try await group.shutdownGracefully()
    if splitGroups {
      try await serverGroup.shutdownGracefully()
      try await clientGroup.shutdownGracefully()
    }
  }
}
