import CodexNode
import Testing

@Suite struct PersistenceOptionsTests {
  func options(_ edit: (inout PersistenceOptions) -> Void) -> PersistenceOptions {
    var o = PersistenceOptions()
    o.ethPrivateKeyFile = "/k"
    edit(&o)
    return o
  }

  func invalid(_ o: PersistenceOptions) -> String? {
    do {
      _ = try o.validate()
      return nil
    } catch {
      if case .invalidOption(let s) = error { return s }
      return "other: \(error)"
    }
  }

  @Test func defaultsFollowTheSpec() throws {
    let o = PersistenceOptions()
    #expect(o.ethProviders == ["http://localhost:8545"])
    #expect(o.validatorMaxSlots == 1000)
    #expect(o.validatorGroups == nil)
    #expect(o.validatorGroupIndex == 0)
    #expect(o.validator == false)
    #expect(o.maxPriorityFeePerGas == 1_000_000_000)
    #expect(PersistenceOptions.knownMarketplaces[31337] == "0x322813Fd9A801c5507c9de605d63CEA4f2CE6c44")
    #expect(PersistenceOptions.knownMarketplaces[789987] == "0x5378a4EA5dA2a548ce22630A3AE74b052000C62D")
  }

  @Test func needsAnAccountAndAKey() {
    #expect(throws: MarketplaceStartError.noAccount) { _ = try PersistenceOptions().validate() }
    var o = PersistenceOptions()
    o.ethAccount = hardhatAddress0
    #expect(throws: MarketplaceStartError.providerAccountUnsupported(account: hardhatAddress0)) { _ = try o.validate() }
    o.ethPrivateKeyFile = "/k"
    #expect(throws: Never.self) { _ = try o.validate() }
  }

  @Test func validatorGroupBounds() {
    #expect(invalid(options { $0.validatorGroups = 1 }) != nil)
    #expect(invalid(options { $0.validatorGroups = 65536 }) != nil)
    #expect(invalid(options { $0.validatorGroups = 2 }) == nil)
    #expect(
      invalid(
        options {
          $0.validatorGroups = 65535; $0.validatorGroupIndex = 65534
        }) == nil)
    #expect(
      invalid(
        options {
          $0.validatorGroups = 4; $0.validatorGroupIndex = 4
        })?.contains("0…3") == true)
    #expect(invalid(options { $0.validatorGroupIndex = 1 })?.contains("--validator-groups") == true)
    #expect(invalid(options { $0.validatorMaxSlots = -1 }) != nil)
  }

  @Test func providerUrlsAndAddresses() {
    #expect(invalid(options { $0.ethProviders = ["ws://localhost:8545"] })?.contains("WebSocket") == true)
    #expect(invalid(options { $0.ethProviders = ["localhost:8545"] }) != nil)
    #expect(invalid(options { $0.ethProviders = [] }) != nil)
    #expect(invalid(options { $0.ethProviders = ["http://a:1", "https://b"] }) == nil)
    #expect(invalid(options { $0.marketplaceAddress = "0x1234" })?.contains("--marketplace-address") == true)
    // A mixed-case address with a wrong EIP-55 checksum is refused.
    #expect(invalid(options { $0.marketplaceAddress = "0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266" }) != nil)
    #expect(invalid(options { $0.rewardRecipient = "nope" })?.contains("--reward-recipient") == true)
    #expect(invalid(options { $0.marketplaceAddress = hardhatAddress0.lowercased() }) == nil)
  }
}
