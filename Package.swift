// swift-tools-version: 6.1
// swift-codex: a Swift implementation of the Codex durability engine, wire- and format-compatible with nim-codex.
import PackageDescription

let swift6: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
  name: "swift-codex",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "codex", targets: ["codex"]),
    .library(name: "CodexNode", targets: ["CodexNode"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    .package(url: "https://github.com/apple/swift-nio-extras", from: "1.34.1"),
    .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
    .package(url: "https://github.com/apple/swift-atomics", from: "1.3.0"),
    .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
  ],
  targets: [
    // MARK: pure formats
    .target(name: "Multiformats", swiftSettings: swift6),
    .target(
      name: "CodexFormats",
      dependencies: ["Multiformats", .product(name: "Crypto", package: "swift-crypto")],
      swiftSettings: swift6),

    // MARK: storage
    .target(name: "CStoreSupport"),
    .target(
      name: "CodexStore",
      dependencies: [
        "CodexFormats", "CStoreSupport", .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "GRDBSQLite", package: "GRDB.swift"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Metrics", package: "swift-metrics"),
      ],
      swiftSettings: swift6),

    .executableTarget(
      name: "StoreCrashTool",
      dependencies: ["CodexStore", "CodexFormats", .product(name: "Logging", package: "swift-log")],
      swiftSettings: swift6),
    .executableTarget(
      name: "StoreBenchmark",
      dependencies: [
        "CodexStore", "CodexFormats", .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swift6),

    // MARK: networking
    .systemLibrary(
      name: "CSecp256k1", pkgConfig: "libsecp256k1",
      providers: [.apt(["libsecp256k1-dev"])]),
    // OpenSSL libcrypto: LibP2P's Noise transport frames (EVP ChaCha20-Poly1305, several times faster here).
    .systemLibrary(name: "CLibP2POpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
    .target(
      name: "LibP2P",
      dependencies: [
        "Multiformats", "CSecp256k1", "CLibP2POpenSSL",
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swift6),
    .target(
      name: "CodexExchange",
      dependencies: [
        "CodexFormats", "CodexStore", "LibP2P",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
      ],
      swiftSettings: swift6),

    // MARK: durability and proofs
    .target(name: "CErasureSIMD"),
    .target(
      name: "CodexErasure",
      dependencies: [
        "CErasureSIMD", "CodexFormats", "CodexStore", .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swift6),
    .executableTarget(name: "ErasureBenchmark", dependencies: ["CodexErasure"], swiftSettings: swift6),
    // Poseidon2 permutation kernel (BMI2/ADX when available) and the compute pool's thread priority.
    .target(name: "CProofsKernels", cSettings: [.unsafeFlags(["-O3"])]),
    .target(
      name: "CodexProofs",
      dependencies: [
        "CProofsKernels", "Multiformats", "CodexFormats", "CodexStore", .product(name: "Logging", package: "swift-log"),
      ],
      // Poseidon2 is ~300x slower unoptimised; -O keeps the debug test run of the golden vectors to seconds.
      swiftSettings: swift6 + [.unsafeFlags(["-O"], .when(configuration: .debug))]),
    .executableTarget(
      name: "ProofsBenchmark",
      dependencies: ["CodexProofs", .product(name: "Crypto", package: "swift-crypto")],
      swiftSettings: swift6),

    // MARK: marketplace
    .target(
      name: "CodexMarket",
      dependencies: [
        "CSecp256k1",
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swift6),
    .executableTarget(
      name: "MarketBenchmark",
      dependencies: [
        "CodexMarket", .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swift6),

    // MARK: node, API, CLI
    .target(
      name: "CodexNode",
      dependencies: [
        "CodexFormats", "CodexStore", "LibP2P", "CodexExchange", "CodexErasure", "CodexMarket",
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Metrics", package: "swift-metrics"),
      ],
      swiftSettings: swift6),
    .target(
      name: "CodexAPI",
      dependencies: [
        "CodexNode", "CodexFormats", "CodexStore", "LibP2P", "CodexErasure", "CodexProofs",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HTTPTypes", package: "swift-http-types"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
      ],
      resources: [.copy("Resources/openapi.yaml")],
      swiftSettings: swift6),
    .target(
      name: "CodexClient",
      dependencies: [
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swift6),
    .executableTarget(
      name: "codex",
      dependencies: [
        "CodexAPI", "CodexNode", "CodexFormats", "CodexClient",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "TOMLKit", package: "TOMLKit"),
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "NIOCore", package: "swift-nio"),
      ],
      swiftSettings: swift6),

    // MARK: libp2p interop peer and benchmark
    .executableTarget(
      name: "P2PInteropPeer",
      dependencies: [
        "LibP2P", "Multiformats", .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swift6),
    .executableTarget(
      name: "P2PBenchmark",
      dependencies: [
        "LibP2P", "Multiformats", .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swift6),

    // MARK: tests
    // Test helpers shared by the test targets: the shared/vectors locator, hex literals, a seeded PRNG.
    .target(name: "CodexTestSupport", path: "Tests/CodexTestSupport", swiftSettings: swift6),
    .testTarget(name: "MultiformatsTests", dependencies: ["Multiformats", "CodexTestSupport"], swiftSettings: swift6),
    .testTarget(name: "CodexFormatsTests", dependencies: ["CodexFormats", "CodexTestSupport"], swiftSettings: swift6),
    .testTarget(
      name: "CodexStoreTests", dependencies: ["CodexStore", "CStoreSupport", "CodexTestSupport"], swiftSettings: swift6),
    .testTarget(
      name: "LibP2PTests",
      dependencies: [
        "LibP2P", "Multiformats", "CodexTestSupport", .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
      ],
      exclude: ["NoiseVectors"],
      swiftSettings: swift6),
    .testTarget(
      name: "CodexErasureTests",
      dependencies: [
        "CodexErasure", "CodexStore", "CodexFormats", "Multiformats", "CodexTestSupport",
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swift6),
    .testTarget(
      name: "CodexExchangeTests", dependencies: ["CodexExchange", "CodexTestSupport"], swiftSettings: swift6),
    .testTarget(
      name: "CodexClientTests",
      dependencies: [
        "CodexClient", "CodexTestSupport",
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swift6),
    .testTarget(
      name: "CodexProofsTests",
      dependencies: [
        "CodexProofs", "CodexFormats", "Multiformats", "CodexStore", "CodexErasure", "CodexTestSupport",
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swift6),
    .testTarget(name: "CodexMarketTests", dependencies: ["CodexMarket", "CodexTestSupport"], swiftSettings: swift6),
    .testTarget(
      name: "MarketNodeTests",
      dependencies: [
        "codex", "CodexNode", "CodexAPI", "CodexMarket",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "HummingbirdTesting", package: "hummingbird"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swift6),
    .testTarget(
      name: "CodexAPITests",
      dependencies: [
        "CodexAPI", "CodexNode", "CodexFormats", "CodexStore", "LibP2P", "Multiformats",
        .product(name: "HummingbirdTesting", package: "hummingbird"),
        .product(name: "NIOEmbedded", package: "swift-nio"),
        .product(name: "Yams", package: "Yams"),
      ],
      swiftSettings: swift6),
  ]
)
