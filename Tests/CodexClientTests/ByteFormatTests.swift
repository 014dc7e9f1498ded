import Testing

@testable import CodexClient

@Suite struct ByteFormatTests {
  @Test(
    arguments: [
      (Int64(0), "0 B"), (1, "1 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (1536, "1.5 KiB"),
      (65535, "64.0 KiB"), (65536, "64.0 KiB"), (1_048_575, "1.0 MiB"), (1_048_576, "1.0 MiB"),
      (10 * 1_048_576, "10.0 MiB"), (1 << 30, "1.00 GiB"), (1_610_612_736, "1.50 GiB"),
      (21_474_836_480, "20.00 GiB"), (1 << 40, "1.00 TiB"), (-2048, "-2.0 KiB"),
    ] as [(Int64, String)])
  func bytes(value: Int64, expected: String) {
    #expect(ByteFormat.bytes(value) == expected)
  }

  @Test func bytesNeverShows1024OfAUnit() {
    for n: Int64 in [1_048_000, 1_048_575, 1_073_741_000, (1 << 40) - 1] {
      #expect(!ByteFormat.bytes(n).hasPrefix("1024"), "\(n) -> \(ByteFormat.bytes(n))")
    }
    #expect(ByteFormat.bytes(Int64.max).hasSuffix("EiB"))
    #expect(ByteFormat.bytes(Int64.min).hasPrefix("-"))
  }

  @Test(
    arguments: [
      (0.0, "0 B/s"), (999.0, "999 B/s"), (1000.0, "1.0 kB/s"), (512_000.0, "512.0 kB/s"),
      (123_456_789.0, "123.5 MB/s"), (1_234_000_000.0, "1.23 GB/s"), (-1.0, "-- B/s"), (Double.nan, "-- B/s"),
      (Double.infinity, "-- B/s"),
    ] as [(Double, String)])
  func rate(value: Double, expected: String) {
    #expect(ByteFormat.rate(bytesPerSecond: value) == expected)
  }

  @Test(
    arguments: [
      (0.0, "0:00"), (4.2, "0:05"), (59.0, "0:59"), (60.0, "1:00"), (754.0, "12:34"), (3723.0, "1:02:03"),
      (-1.0, "--:--"), (Double.infinity, "--:--"), (1e9, "--:--"),
    ] as [(Double, String)])
  func duration(value: Double, expected: String) {
    #expect(ByteFormat.duration(seconds: value) == expected)
  }

  @Test func fixedRoundsWithoutLocale() {
    #expect(ByteFormat.fixed(1.25, 1) == "1.3")
    #expect(ByteFormat.fixed(0.05, 2) == "0.05")
    #expect(ByteFormat.fixed(2, 0) == "2")
    #expect(ByteFormat.fixed(-0.001, 1) == "0.0")
  }
}
