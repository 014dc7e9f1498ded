import CodexTestSupport

/// Golden data from `shared/vectors` (see `TestVectors`).
typealias Vectors = TestVectors

func hex(_ s: String) -> [UInt8] { TestHex.decode(s) }

func toHex(_ b: [UInt8]) -> String { TestHex.encode(b) }
