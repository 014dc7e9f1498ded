import Testing
import Foundation

@testable import CodexClient

@Suite struct OutputFormatTests {
  @Test func dataTableAlignsColumns() {
    let items = [
      DataItem(
        cid: "zLong000000",
        manifest: ManifestInfo(
          treeCid: "t", datasetSize: 18, blockSize: 65536,
          filename: "a.txt", mimetype: "text/plain")),
      DataItem(
        cid: "zS",
        manifest: ManifestInfo(
          treeCid: "t", datasetSize: 1 << 30, blockSize: 65536,
          protected: true)),
    ]
    let lines = OutputFormat.dataTable(items).split(separator: "\n").map(String.init)
    #expect(lines.count == 3)
    #expect(lines[0] == "CID          SIZE      BLOCK     EC   FILENAME  MIMETYPE")
    #expect(lines[1] == "zLong000000  18 B      64.0 KiB  no   a.txt     text/plain")
    #expect(lines[2] == "zS           1.00 GiB  64.0 KiB  yes  -         -")
    #expect(OutputFormat.dataTable([]) == "No datasets stored.")
  }

  @Test func controlCharactersInNamesAreReplaced() {
    let item = DataItem(
      cid: "z",
      manifest: ManifestInfo(
        treeCid: "t", datasetSize: 1, blockSize: 1,
        filename: "evil\u{1B}[2J\nname"))
    let text = OutputFormat.dataTable([item])
    #expect(!text.contains("\u{1B}"))
    #expect(text.contains("evil?[2J?name"))
  }

  @Test func space() {
    let text = OutputFormat.space(
      SpaceInfo(
        totalBlocks: 2, quotaMaxBytes: 21_474_836_480, quotaUsedBytes: 65592,
        quotaReservedBytes: 0))
    #expect(
      text == """
        Total blocks:  2
        Quota:         20.00 GiB (21474836480 bytes)
        Used:          64.1 KiB (65592 bytes)
        Reserved:      0 B (0 bytes)
        Free:          20.00 GiB (21474770888 bytes)
        """)
  }

  @Test func uploadHeaders() throws {
    #expect(try UploadHeaders.contentDisposition(filename: "my file.txt") == #"attachment; filename="my file.txt""#)
    #expect(throws: CodexClientError.self) { try UploadHeaders.contentDisposition(filename: "") }
    #expect(throws: CodexClientError.self) { try UploadHeaders.contentDisposition(filename: "a\"b") }
    #expect(throws: CodexClientError.self) { try UploadHeaders.contentDisposition(filename: "a\r\nX-Evil: 1") }
    #expect(try UploadHeaders.checkMimetype(" text/plain ") == "text/plain")
    #expect(try UploadHeaders.checkMimetype("text/plain; charset=utf-8") == "text/plain; charset=utf-8")
    for bad in ["", "text", "/plain", "text/", "text/plain\r\nX: y", "a/b/c"] {
      #expect(throws: CodexClientError.self) { try UploadHeaders.checkMimetype(bad) }
    }
  }

  @Test(arguments: [
    ("file.bin", "file.bin"), ("/tmp/dir/x.tar.gz", "x.tar.gz"), ("dir/", "dir"), ("./a", "a"),
  ])
  func defaultFilename(path: String, expected: String) {
    #expect(UploadHeaders.defaultFilename(forPath: path) == expected)
  }

  @Test func noDefaultFilenameForStdinOrDots() {
    #expect(UploadHeaders.defaultFilename(forPath: "-") == nil)
    #expect(UploadHeaders.defaultFilename(forPath: "") == nil)
    #expect(UploadHeaders.defaultFilename(forPath: "..") == nil)
    #expect(UploadHeaders.defaultFilename(forPath: "/") == nil)
  }

  @Test func errorMessagesAndExitCodes() {
    let unreachable = CodexClientError.nodeUnreachable(
      url: "http://127.0.0.1:8080/api/codex/v1",
      reason: "connection refused")
    #expect(unreachable.description.contains("http://127.0.0.1:8080/api/codex/v1"))
    #expect(unreachable.description.contains("Is the node running?"))
    #expect(unreachable.exitCode == 69)
    let notFound = CodexClientError.http(
      status: 404, reason: "Not Found",
      message: "The requested CID could not be retrieved (x).\n", url: "u")
    #expect(
      notFound.description == "the node answered 404 Not Found for u: The requested CID could not be retrieved (x).")
    #expect(notFound.exitCode == 2)
    #expect(
      CodexClientError.http(status: 500, reason: "Internal Server Error", message: "", url: "u").description
        == "the node answered 500 Internal Server Error for u")
    #expect(CodexClientError.http(status: 422, reason: "", message: "m", url: "u").exitCode == 1)
    #expect(CodexClientError.file(path: "/x", reason: "No such file or directory").exitCode == 74)
    #expect(CodexClientError.transferFailed("t").exitCode == 76)
  }

  @Test func temporaryDownloadName() {
    #expect(OpenedOutput.temporaryName(for: "/tmp/out.bin", pid: 42) == "/tmp/.out.bin.codex-download-42")
    #expect(OpenedOutput.temporaryName(for: "out.bin", pid: 7) == ".out.bin.codex-download-7")
  }

  @Test func anOutputInAMissingDirectoryIsNamedInTheError() {
    let path = "/nonexistent-\(getpid())/out.bin"
    #expect {
      _ = try OpenedOutput(.file(path))
    } throws: { error in
      (error as? CodexClientError)?.description == "\(path): cannot create it: No such file or directory"
    }
  }
}
