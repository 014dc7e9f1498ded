import Synchronization

/// A handler for streams of one protocol. It owns the stream: it should close or reset it when done.
public typealias StreamHandler = @Sendable (P2PStream) async throws -> Void

/// Protocol id → handler, readable from any thread.
public final class ProtocolRegistry: Sendable {
  private let handlers = Mutex<[String: StreamHandler]>([:])

  public init() {}

  /// Mounts `handler` for `protocolID`, replacing an earlier one.
  public func register(_ protocolID: String, handler: @escaping StreamHandler) {
    handlers.withLock { $0[protocolID] = handler }
  }

  /// Unmounts `protocolID`.
  public func unregister(_ protocolID: String) {
    _ = handlers.withLock { $0.removeValue(forKey: protocolID) }
  }

  /// The handler for `protocolID`, if mounted.
  public func handler(for protocolID: String) -> StreamHandler? {
    handlers.withLock { $0[protocolID] }
  }

  /// All mounted protocol ids, sorted.
  public var protocols: [String] { handlers.withLock { $0.keys.sorted() } }
}
