import CodexTestSupport

/// Golden data from `shared/vectors` (see `TestVectors`).
typealias Vectors = TestVectors

typealias SplitMix64 = CodexTestSupport.SplitMix64

func hexBytes(_ s: String) -> [UInt8] { TestHex.decode(s) }

func hexString(_ b: [UInt8]) -> String { TestHex.encode(b) }
