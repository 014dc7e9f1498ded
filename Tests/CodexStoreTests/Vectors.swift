import CodexTestSupport

/// Golden data from `shared/vectors` (see `TestVectors`).
typealias Vectors = TestVectors
