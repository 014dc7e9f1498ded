import Testing

@testable import CodexAPI

@Suite struct ByteRangeTests {
  enum Outcome: Equatable {
    case range(Range<UInt64>)
    case ignored
    case unsatisfiable
  }

  func outcome(_ header: String, size: UInt64) -> Outcome {
    do {
      return try ByteRange.parse(header, size: size).map(Outcome.range) ?? .ignored
    } catch {
      return .unsatisfiable
    }
  }

  @Test("positions past UInt64 clamp like any position past the end; what is not 1*DIGIT is ignored")
  func hugeAndMalformedPositions() {
    let size: UInt64 = 1000
    let cases: [(String, Outcome)] = [
      ("bytes=0-99999999999999999999", .range(0..<1000)),  // was ignored (200) before
      ("bytes=-99999999999999999999", .range(0..<1000)),  // was 416 before
      ("bytes=-18446744073709551615", .range(0..<1000)),
      ("bytes=99999999999999999999-", .unsatisfiable),  // was ignored before
      ("bytes=18446744073709551615-", .unsatisfiable),
      ("bytes=--1", .ignored),  // was 416 before
      ("bytes=+5-9", .ignored),  // UInt64("+5") is 5
      ("bytes=5-+9", .ignored),
      ("bytes=-+9", .ignored),
      ("bytes=-0", .unsatisfiable),
      ("bytes=5-3", .ignored),
      ("bytes=0-0,5-9", .ignored),
      ("bytes=998-", .range(998..<1000)),
      ("bytes=-2", .range(998..<1000)),
      ("bytes= 10 - 19 ", .range(10..<20)),
      ("items=0-9", .ignored),
    ]
    for (header, expected) in cases {
      #expect(outcome(header, size: size) == expected, "\(header)")
    }
    #expect(outcome("bytes=0-", size: 0) == .unsatisfiable)
  }
}
