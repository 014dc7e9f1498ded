import Synchronization

/// A handler for streams of one protocol. It owns the stream: it should close or reset it when done.
public typealias StreamHandler = @Sendable (P2PStream) async throws -> Void

/// Protocol id → handler, readable from any thread.
public final class ProtocolRegistry: Sendable {
  private let handlers = Mutex<[String: StreamHandler]>([:])
  private let changeHandler = Mutex<(@Sendable () -> Void)?>(nil)

  public init() {}

  /// Mounts `handler` for `protocolID`, replacing an earlier one. A new protocol id triggers an
  /// identify push to connected peers (see ``HostConfiguration/sendIdentifyPush``).
  public func register(_ protocolID: String, handler: @escaping StreamHandler) {
    let added = handlers.withLock { $0.updateValue(handler, forKey: protocolID) == nil }
    if added { changeHandler.withLock { $0 }?() }
  }

  /// Unmounts `protocolID` (an identify push follows if it was mounted).
  public func unregister(_ protocolID: String) {
    let removed = handlers.withLock { $0.removeValue(forKey: protocolID) != nil }
    if removed { changeHandler.withLock { $0 }?() }
  }

  /// Called after the set of protocol ids changed (the host sends identify push).
  func onChange(_ handler: (@Sendable () -> Void)?) {
    changeHandler.withLock { $0 = handler }
  }

  /// The handler for `protocolID`, if mounted.
  public func handler(for protocolID: String) -> StreamHandler? {
    handlers.withLock { $0[protocolID] }
  }

  /// All mounted protocol ids, sorted.
  public var protocols: [String] { handlers.withLock { $0.keys.sorted() } }
}
