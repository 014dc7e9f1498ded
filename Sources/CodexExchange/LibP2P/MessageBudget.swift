import LibP2P
import Synchronization

/// Memory for block-exchange messages being received and handled, bounded per peer and in total.
///
/// A message may be up to `Message.maxSize` (100 MiB) and a peer may open many block-exchange streams, so without
/// a bound one peer could make the node hold gigabytes by announcing large messages on many streams and sending
/// them slowly. Before a message's body is read its length is taken from this budget (waiting while it does not
/// fit: that stream is not read meanwhile) and given back once the message was handled.
///
/// A message of at most `perPeer` bytes fits when its peer stays within `perPeer` and all peers within `total`.
/// A larger one (the protocol allows up to 100 MiB; peers send them rarely if ever) waits for the one place for
/// such a message, which does not count against `total`: so at most `total` plus one maximal message are held,
/// one peer holds at most `perPeer` plus that place, and every message the protocol allows is received
/// eventually. Waiters are served in arrival order among those that fit.
final class MessageBudget: Sendable {
  let perPeer: Int
  let total: Int

  private struct Waiter {
    let id: UInt64
    let peer: PeerID
    let bytes: Int
    let continuation: CheckedContinuation<Void, any Error>
  }

  private struct State {
    var used = 0
    var byPeer: [PeerID: Int] = [:]
    var large: (peer: PeerID, bytes: Int)? = nil
    var waiters: [Waiter] = []
    var nextID: UInt64 = 0
    var closed = false

    func fits(_ bytes: Int, for peer: PeerID, perPeer: Int, total: Int) -> Bool {
      if bytes > perPeer { return large == nil }
      return byPeer[peer, default: 0] + bytes <= perPeer && used + bytes <= total
    }

    mutating func take(_ bytes: Int, for peer: PeerID, perPeer: Int) {
      if bytes > perPeer {
        large = (peer, bytes)
      } else {
        used += bytes
        byPeer[peer, default: 0] += bytes
      }
    }

    mutating func give(_ bytes: Int, for peer: PeerID, perPeer: Int) {
      if bytes > perPeer {
        large = nil
      } else {
        used -= bytes
        let left = byPeer[peer, default: 0] - bytes
        byPeer[peer] = left > 0 ? left : nil
      }
    }
  }

  private let state = Mutex(State())

  /// The budget; `perPeer` and `total` in bytes.
  init(perPeer: Int, total: Int) {
    self.perPeer = perPeer
    self.total = total
  }

  /// Bytes taken and not given back, in total and by `peer` (the place for one large message included).
  var used: Int { state.withLock { $0.used + ($0.large?.bytes ?? 0) } }
  func used(by peer: PeerID) -> Int {
    state.withLock { s in s.byPeer[peer, default: 0] + (s.large?.peer == peer ? s.large!.bytes : 0) }
  }
  /// Messages waiting for room.
  var waiting: Int { state.withLock { $0.waiters.count } }

  /// Takes `bytes` for a message of `peer`, waiting until they fit.
  /// - Throws: `ExchangeError.stopped` once the budget is closed (the network stopped), or `CancellationError`.
  func acquire(_ bytes: Int, for peer: PeerID) async throws {
    let id = state.withLock { s -> UInt64? in
      if s.closed { return nil }
      s.nextID += 1
      return s.nextID
    }
    guard let id else { throw ExchangeError.stopped }
    try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
        let outcome = state.withLock { s -> Result<Void, any Error>? in
          if s.closed { return .failure(ExchangeError.stopped) }
          if Task.isCancelled { return .failure(CancellationError()) }
          // Whatever waits does not fit now, so a message that fits need not queue behind it.
          if s.fits(bytes, for: peer, perPeer: perPeer, total: total) {
            s.take(bytes, for: peer, perPeer: perPeer)
            return .success(())
          }
          s.waiters.append(Waiter(id: id, peer: peer, bytes: bytes, continuation: c))
          return nil
        }
        if let outcome { c.resume(with: outcome) }
      }
    } onCancel: {
      let waiter = state.withLock { s -> Waiter? in
        guard let i = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
        return s.waiters.remove(at: i)
      }
      waiter?.continuation.resume(throwing: CancellationError())
    }
  }

  /// Gives back `bytes` taken for a message of `peer` and lets waiting messages that now fit start.
  func release(_ bytes: Int, for peer: PeerID) {
    let ready = state.withLock { s -> [Waiter] in
      s.give(bytes, for: peer, perPeer: perPeer)
      var ready: [Waiter] = []
      var i = 0
      while i < s.waiters.count {
        let w = s.waiters[i]
        if s.fits(w.bytes, for: w.peer, perPeer: perPeer, total: total) {
          s.take(w.bytes, for: w.peer, perPeer: perPeer)
          ready.append(s.waiters.remove(at: i))
        } else {
          i += 1
        }
      }
      return ready
    }
    for w in ready { w.continuation.resume() }
  }

  /// Fails every waiter and every later `acquire` (the network stopped).
  func close() {
    let waiters = state.withLock { s -> [Waiter] in
      s.closed = true
      defer { s.waiters = [] }
      return s.waiters
    }
    for w in waiters { w.continuation.resume(throwing: ExchangeError.stopped) }
  }
}
