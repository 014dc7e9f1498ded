import CodexMarket
import Multiformats

/// REST shapes of the marketplace endpoints (`rest-and-cli.md` §4): ids as `0x` hex, amounts as decimal strings.
public enum MarketplaceJSON {
  /// `StorageRequest`.
  public struct Request: Codable, Sendable, Equatable {
    public struct AskJSON: Codable, Sendable, Equatable {
      public var proofProbability: String
      public var pricePerBytePerSecond: String
      public var collateralPerByte: String
      public var slots: UInt64
      public var slotSize: UInt64
      public var duration: UInt64
      public var maxSlotLoss: UInt64
    }
    public struct ContentJSON: Codable, Sendable, Equatable {
      public var cid: String
    }
    public var id: String
    public var client: String
    public var ask: AskJSON
    public var content: ContentJSON
    public var expiry: UInt64
    public var nonce: String

    public init(_ r: StorageRequest) {
      id = (try? r.id()).map { Hex.encode($0) } ?? ""
      client = r.client.checksummed
      ask = AskJSON(
        proofProbability: r.ask.proofProbability.description,
        pricePerBytePerSecond: r.ask.pricePerBytePerSecond.description,
        collateralPerByte: r.ask.collateralPerByte.description, slots: r.ask.slots, slotSize: r.ask.slotSize,
        duration: r.ask.duration, maxSlotLoss: r.ask.maxSlotLoss)
      // The contract stores the CID's binary form; show its text when it parses.
      content = ContentJSON(cid: (try? Cid(bytes: r.content.cid))?.description ?? Hex.encode(r.content.cid))
      expiry = r.expiry
      nonce = Hex.encode(r.nonce)
    }
  }

  /// `Slot`.
  public struct Slot: Codable, Sendable, Equatable {
    public var id: String
    public var request: Request
    public var slotIndex: UInt64

    public init(id: SlotID, active: ActiveSlot) {
      self.id = Hex.encode(id)
      self.request = Request(active.request)
      self.slotIndex = active.slotIndex
    }
  }
}

extension NodeMarketplace {
  /// The host's active slots (`GET /sales/slots`): `mySlots` and `getActiveSlot` of each, read through the binding.
  public func activeSlots() async throws(MarketError) -> [MarketplaceJSON.Slot] {
    var out: [MarketplaceJSON.Slot] = []
    for id in try await market.mySlots() {
      if let active = try await market.getActiveSlot(id) { out.append(.init(id: id, active: active)) }
    }
    return out
  }
}
