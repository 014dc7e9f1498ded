import NIOCore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// An open file, read as a sequence of `ByteBuffer` chunks for a streamed request body.
///
/// Regular files are read with `pread` from offset 0 each time a new iterator is made (so a retried request
/// re-reads the file); other descriptors (stdin, pipes) are read with `read` once. Never holds more than one
/// chunk in memory. Reads block briefly; a command-line tool can afford that.
struct FileChunks: AsyncSequence, Sendable {
  typealias Element = ByteBuffer

  let fd: Int32
  let path: String
  let seekable: Bool
  let chunkSize: Int
  let progress: ProgressReporter?

  struct AsyncIterator: AsyncIteratorProtocol {
    let source: FileChunks
    let allocator = ByteBufferAllocator()
    var offset: Int64 = 0
    var done = false

    mutating func next() async throws -> ByteBuffer? {
      if done { return nil }
      let chunk = source.chunkSize
      let fd = source.fd
      let seekable = source.seekable
      let at = offset
      var buffer = allocator.buffer(capacity: chunk)
      let count = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: chunk) {
        raw throws(CodexClientError) -> Int in
        while true {
          let n = seekable ? pread(fd, raw.baseAddress, chunk, off_t(at)) : read(fd, raw.baseAddress, chunk)
          if n >= 0 { return n }
          let code = errno
          if code == EINTR { continue }
          throw CodexClientError.file(path: source.path, reason: "read failed: \(errnoText(code))")
        }
      }
      if count == 0 {
        done = true
        return nil
      }
      offset += Int64(count)
      source.progress?.advance(by: count)
      return buffer
    }
  }

  func makeAsyncIterator() -> AsyncIterator { AsyncIterator(source: self) }
}

/// An input file opened for upload: descriptor, size (nil if not a regular file) and whether `pread` works.
struct OpenedInput: ~Copyable {
  let fd: Int32
  let size: Int64?
  let ownsDescriptor: Bool

  /// Opens `path` for reading; `-` means standard input.
  init(path: String) throws(CodexClientError) {
    let opened = try Self.open(path)
    fd = opened.fd
    size = opened.size
    ownsDescriptor = opened.owns
  }

  private static func open(_ path: String) throws(CodexClientError) -> (fd: Int32, size: Int64?, owns: Bool) {
    let owns = path != "-"
    let fd: Int32 = owns ? systemOpen(path, O_RDONLY | O_CLOEXEC) : 0
    guard fd >= 0 else { throw .file(path: path, reason: errnoText(errno)) }
    var info = stat()
    guard fstat(fd, &info) == 0 else {
      let code = errno
      if owns { close(fd) }
      throw .file(path: path, reason: errnoText(code))
    }
    let mode = info.st_mode & S_IFMT
    if mode == S_IFDIR {
      if owns { close(fd) }
      throw .file(path: path, reason: "is a directory")
    }
    return (fd, mode == S_IFREG ? Int64(info.st_size) : nil, owns)
  }

  deinit { if ownsDescriptor { close(fd) } }
}

/// `strerror` text for an errno value.
func errnoText(_ code: Int32) -> String {
  guard let text = strerror(code) else { return "error \(code)" }
  return String(cString: text)
}
