import Testing

@testable import CodexClient

@Suite struct ProgressBarTests {
  @Test func knownTotalShowsPercentBarSizesRateAndETA() {
    let s = ProgressSnapshot(bytes: 450 * 1_048_576, total: 1000 * 1_048_576, elapsed: 1)
    let line = ProgressBar.render(s, width: 100)
    #expect(line.hasPrefix(" 45% ["))
    #expect(line.contains("450.0 MiB / 1000.0 MiB"))
    #expect(line.contains("471.9 MB/s"))
    #expect(line.contains("ETA 0:02"))  // 550 MiB at 450 MiB/s = 1.22 s, rounded up
    #expect(line.count == 100)
    let bar = line[line.index(after: line.firstIndex(of: "[")!)..<line.firstIndex(of: "]")!]
    let filled = bar.filter { $0 == "=" || $0 == ">" }.count
    #expect(abs(Double(filled) / Double(bar.count) - 0.45) < 0.05)
  }

  @Test func unknownTotalHasNoPercentOrBar() {
    let s = ProgressSnapshot(bytes: 3 * 1_048_576, total: nil, elapsed: 2)
    let line = ProgressBar.render(s, width: 80)
    #expect(line == "3.0 MiB  1.6 MB/s  0:02")
    #expect(s.eta == nil)
    #expect(s.fraction == nil)
  }

  @Test func finishedShowsElapsedTimeAndFullBar() {
    let s = ProgressSnapshot(bytes: 2048, total: 2048, elapsed: 3, finished: true)
    let line = ProgressBar.render(s, width: 70)
    #expect(line.hasPrefix("100% [===="))
    #expect(line.contains("in 0:03"))
    #expect(!line.contains(">"))
  }

  @Test func emptyTransferIsComplete() {
    let s = ProgressSnapshot(bytes: 0, total: 0, elapsed: 0)
    #expect(s.fraction == 1)
    #expect(ProgressBar.render(s, width: 60).hasPrefix("100%"))
    #expect(ProgressBar.render(s, width: 60).contains("-- B/s"))
  }

  @Test func overshootIsClampedTo100Percent() {
    let s = ProgressSnapshot(bytes: 300, total: 200, elapsed: 1)
    #expect(s.fraction == 1)
    #expect(s.eta == 0)
    #expect(ProgressBar.render(s, width: 80).hasPrefix("100%"))
  }

  @Test func narrowWidthsDropTheBarAndNeverOverflow() {
    let s = ProgressSnapshot(bytes: 123_456_789, total: 987_654_321, elapsed: 7.5)
    for width in [0, 1, 5, 20, 30, 45, 50, 60, 61, 80, 200] {
      let line = ProgressBar.render(s, width: width)
      #expect(line.count <= width, "width \(width): \(line)")
    }
    let narrow = ProgressBar.render(s, width: 55)
    #expect(!narrow.contains("["))
    #expect(narrow.hasPrefix(" 12%"))
  }

  @Test func barShapes() {
    #expect(ProgressBar.bar(fraction: 0, width: 5) == ">    ")
    #expect(ProgressBar.bar(fraction: 0.5, width: 10) == "====>     ")
    #expect(ProgressBar.bar(fraction: 1, width: 4) == "====")
    #expect(ProgressBar.bar(fraction: 2, width: 4) == "====")
    #expect(ProgressBar.bar(fraction: .nan, width: 3) == ">  ")
    #expect(ProgressBar.bar(fraction: 0.5, width: 0) == "")
    for w in 1...40 {
      for f in stride(from: 0.0, through: 1.0, by: 0.05) {
        #expect(ProgressBar.bar(fraction: f, width: w).count == w)
      }
    }
  }

  @Test func rateAndETA() {
    let s = ProgressSnapshot(bytes: 100, total: 400, elapsed: 2)
    #expect(s.rate == 50)
    #expect(s.eta == 6)
    #expect(ProgressSnapshot(bytes: 100, total: 400, elapsed: 0).rate == nil)
  }
}
