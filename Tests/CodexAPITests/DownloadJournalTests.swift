import Foundation
import Logging
import Multiformats
import Testing

@testable import CodexNode

@Suite struct DownloadJournalTests {
  static func tempPath() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString).json").path
  }

  @Test func downloadsSurviveAReopenUntilRemoved() throws {
    let path = Self.tempPath()
    defer { try? FileManager.default.removeItem(atPath: path) }
    let logger = Logger(label: "test")
    let a = NetworkDownloadsTests.cid(1)
    let b = NetworkDownloadsTests.cid(2)
    let journal = DownloadJournal(path: path, logger: logger)
    #expect(journal.unfinished.isEmpty)
    journal.add(a)
    journal.add(b)
    journal.add(a)
    #expect(DownloadJournal(path: path, logger: logger).unfinished == [a, b])
    journal.remove(a)
    journal.remove(a)
    #expect(DownloadJournal(path: path, logger: logger).unfinished == [b])
    #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))
  }

  @Test func anUnreadableJournalIsIgnored() throws {
    let path = Self.tempPath()
    defer { try? FileManager.default.removeItem(atPath: path) }
    for garbage in ["not json", "[\"zNotACid\"]", "{\"a\": 1}"] {
      try Data(garbage.utf8).write(to: URL(fileURLWithPath: path))
      let journal = DownloadJournal(path: path, logger: Logger(label: "test"))
      #expect(journal.unfinished.isEmpty)
      journal.add(NetworkDownloadsTests.cid(3))
      #expect(DownloadJournal(path: path, logger: Logger(label: "test")).unfinished == [NetworkDownloadsTests.cid(3)])
    }
  }
}
