import CodexTestSupport
@testable import CodexMarket

/// Hex literal to bytes (test inputs are known-good).
func h(_ s: String) -> [UInt8] { try! Hex.decode(s) }

typealias SplitMix64 = CodexTestSupport.SplitMix64
