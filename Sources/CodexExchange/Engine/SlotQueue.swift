/// The download loops waiting for an in-flight slot at one peer, oldest first. An entry stays when its loop stops
/// waiting (it got a slot elsewhere, or its block arrived); whoever pops it checks `PendingBlock.waitingForSlot`.
struct SlotQueue: Sendable {
  private var items: [BlockAddress] = []
  private var head = 0

  /// Entries not popped yet, stale ones included.
  var count: Int { items.count - head }

  mutating func append(_ address: BlockAddress) { items.append(address) }

  /// The oldest entry, removed.
  mutating func popFirst() -> BlockAddress? {
    guard head < items.count else { return nil }
    let address = items[head]
    head += 1
    if head == items.count {
      items.removeAll(keepingCapacity: true)
      head = 0
    } else if head >= 1024, head * 2 >= items.count {
      items.removeFirst(head)
      head = 0
    }
    return address
  }

  /// Drops the entries `stale` says no loop waits for any more.
  mutating func removeAll(where stale: (BlockAddress) -> Bool) {
    items = items[head...].filter { !stale($0) }
    head = 0
  }
}
