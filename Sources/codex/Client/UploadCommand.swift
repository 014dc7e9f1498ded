import ArgumentParser
import CodexClient

/// `codex upload FILE [--mime TYPE] [--filename NAME]`: streams a file to the node, prints the manifest CID.
struct UploadCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "upload",
    abstract: "Upload a file to a running node and print its CID.",
    discussion: """
      The file is streamed (never loaded into memory). Use - to read standard input. A progress bar is shown \
      on stderr when it is a terminal.
      """)

  @OptionGroup var client: ClientOptions

  @Argument(help: ArgumentHelp("The file to upload, or - for standard input.", valueName: "file"))
  var file: String

  @Option(name: .customLong("mime"), help: ArgumentHelp("The MIME type to store (e.g. text/plain).", valueName: "type"))
  var mime: String?

  @Option(help: ArgumentHelp("The filename to store (default: the file's name).", valueName: "name"))
  var filename: String?

  @Flag(name: .customLong("no-filename"), help: "Store no filename.")
  var noFilename = false

  func run() async throws {
    let name = noFilename ? nil : (filename ?? UploadHeaders.defaultFilename(forPath: file))
    let cid = try await ClientSession.run(client) { api, environment throws(CodexClientError) in
      let progress = ProgressReporter.make(environment: environment)
      do throws(CodexClientError) {
        return try await api.upload(path: file, mimetype: mime, filename: name, progress: progress)
      } catch {
        progress?.abandon()
        throw error
      }
    }
    ClientSession.printLine(cid)
  }
}
