import CodexFormats
import CodexNode
import CodexStore
import Foundation
import Hummingbird
import HTTPTypes
import Multiformats
import NIOCore

/// `/data` routes: upload, list, download (with Range), delete, exists.
struct DataRoutes {
  let node: CodexNode
  let cors: Bool
  /// Response bytes gathered before one write of a download (16 blocks of 64 KiB).
  static let responseWriteBytes = 1 << 20

  func register(on api: RouterGroup<CodexRequestContext>) {
    api.get("data") { _, _ in try await list() }
    api.post("data") { request, context in try await upload(request, context) }
    api.get("data/:cid") { request, context in try await download(request, context) }
    api.head("data/:cid") { request, context in try await head(request, context) }
    api.delete("data/:cid") { _, context in
      try await node.delete(try CodexAPI.cid(context))
      return Response(status: .noContent)
    }
    api.post("data/:cid/network") { _, context in
      let cid = try CodexAPI.cid(context)
      let manifest = try await node.startNetworkDownload(cid)
      return try CodexAPI.json(DataItem(cid: cid.string, manifest: ManifestItem(manifest)))
    }
    api.get("data/:cid/network/download") { _, context in
      let cid = try CodexAPI.cid(context)
      guard let download = node.networkDownload(cid) else {
        throw APIError(
          .notFound, "No background download of \(cid) since the node started (POST /data/\(cid)/network starts one)")
      }
      return try CodexAPI.json(DownloadItem(download))
    }
    api.get("data/:cid/network/manifest") { _, context in
      let cid = try CodexAPI.cid(context)
      let manifest = try await node.networkManifest(cid)
      return try CodexAPI.json(DataItem(cid: cid.string, manifest: ManifestItem(manifest)))
    }
    api.get("data/:cid/network/stream") { request, context in
      let manifest = try await node.networkManifest(try CodexAPI.cid(context))
      var response = try await stream(manifest, request, context)
      response.headers[.accessControlExposeHeaders] = "Content-Disposition"
      return response
    }
    api.get("data/:cid/exists") { _, context in
      let cid = try CodexAPI.cid(context)
      return try CodexAPI.json([cid.string: try await node.exists(cid)])
    }
    if cors {
      api.on("data", method: .options) { _, _ in
        var r = Response(status: .noContent)
        r.headers[.accessControlAllowMethods] = "POST, OPTIONS"
        r.headers[.accessControlAllowHeaders] = "content-type, content-disposition"
        return r
      }
      api.on("data/:cid", method: .options) { _, _ in
        var r = Response(status: .noContent)
        r.headers[.accessControlAllowMethods] = "GET, HEAD, DELETE, OPTIONS"
        return r
      }
    }
  }

  func list() async throws -> Response {
    let items = try await node.manifests().map { DataItem(cid: $0.cid.string, manifest: ManifestItem($0.manifest)) }
    return try CodexAPI.json(DataList(content: items))
  }

  func upload(_ request: Request, _ context: CodexRequestContext) async throws -> Response {
    let mimetype = try MimeTypes.validate(request.headers[.contentType])
    let filename = try request.headers[.contentDisposition].flatMap { try ContentDisposition.filename(from: $0) }
    // The request's size, when it says: an upload that cannot fit, or fits only in quota promised to running
    // uploads and downloads, is refused before its body is read (`CodexNode.startUpload`).
    let declared = request.headers[.contentLength].flatMap { UInt64($0) }
    let needed = declared.map { DatasetUpload.quotaBytes(forSize: $0) }
    let upload = try await node.startUpload(filename: filename, mimetype: mimetype, declaredSize: declared)
    do {
      for try await buffer in request.body {
        try await upload.write(buffer.readableBytesView)
      }
      let cid = try await upload.finish()
      if let manifest = upload.manifest { await node.announce(cid, manifest) }
      return CodexAPI.text(cid.string)
    } catch {
      // Not in this (maybe cancelled: the node is stopping) task, so the abort's store work runs to the end now
      // instead of being left to the next open's recovery.
      await Task { await upload.abort() }.value
      // The store names the batch it refused; the person uploading knows the file's size.
      if let needed { throw Self.quotaRefusal(error, needed: needed) ?? error }
      throw error
    }
  }

  /// A quota refusal (from the node or straight from the store) restated for `needed` bytes; nil for other errors.
  static func quotaRefusal(_ error: any Error, needed: UInt64) -> NodeError? {
    switch NodeError.wrap(error) as? NodeError {
    case .quotaExceeded(_, let available)?: return .quotaExceeded(needed: needed, available: available)
    case .quotaPromised(_, let available, let hold)?:
      return .quotaPromised(needed: needed, available: available, hold: hold)
    default: return nil
    }
  }

  func download(_ request: Request, _ context: CodexRequestContext) async throws -> Response {
    try await stream(try await node.manifest(try CodexAPI.cid(context)), request, context)
  }

  /// Streams a dataset (or the asked range) with nim-codex's headers. Answers 404 before any header is sent when
  /// the read could not start or, with no peer connected, finish (`CodexNode.checkReadable`).
  func stream(_ manifest: Manifest, _ request: Request, _ context: CodexRequestContext) async throws -> Response {
    let (status, headers, range) = try answerHead(manifest, request)
    // A clear 404 before the headers go out rather than a 200 whose body breaks off.
    try await node.checkReadable(manifest, range: range)
    let node = self.node
    let requested = range
    let body = ResponseBody(contentLength: Int(range.count)) { writer in
      // Blocks are gathered into writes of up to `responseWriteBytes`: one write (an event-loop hop and a syscall)
      // per 64 KiB block cost more CPU than the copy.
      var pending = ByteBuffer()
      let queue = WriteQueueGauge(eventLoop: context.eventLoop, limit: 1)
      try await node.read(manifest, range: requested) { slice in
        if pending.capacity == 0 { pending.reserveCapacity(Self.responseWriteBytes) }
        pending.writeBytes(slice)
        if pending.readableBytes >= Self.responseWriteBytes {
          try await writer.write(pending)
          pending = ByteBuffer()
          // Wait while the event loop has not taken the previous write yet, so a starved loop cannot pile up buffers.
          await queue.wrote()
        }
      }
      if pending.readableBytes > 0 { try await writer.write(pending) }
      try await writer.finish(nil)
    }
    return Response(status: status, headers: headers, body: body)
  }

  /// The status, header fields and byte range of a download of `manifest` as `request` asks for it (the whole
  /// dataset, or its `Range`), shared by GET and HEAD.
  /// - Throws: `APIError` 416 for a range outside the dataset.
  func answerHead(_ manifest: Manifest, _ request: Request) throws -> (HTTPResponse.Status, HTTPFields, Range<UInt64>) {
    let size = CodexNode.contentLength(of: manifest)
    var range: Range<UInt64> = 0..<size
    var status = HTTPResponse.Status.ok
    var headers = HTTPFields()
    headers[.contentType] = manifest.mimetype ?? "application/octet-stream"
    headers[.contentDisposition] = manifest.filename.map { "attachment; filename=\"\($0)\"" } ?? "attachment"
    headers[.acceptRanges] = "bytes"
    if cors { headers[HTTPField.Name("Access-Control-Headers")!] = "X-Requested-With" }
    if let header = request.headers[.range], let r = try ByteRange.parse(header, size: size) {
      range = r
      status = .partialContent
      headers[.contentRange] = "bytes \(r.lowerBound)-\(r.upperBound - 1)/\(size)"
    }
    return (status, headers, range)
  }

  /// HEAD of a local dataset: GET's status and header fields (`Content-Length` of what GET would send), no body,
  /// nothing read from the blocks. Download tools ask it first for the size.
  func head(_ request: Request, _ context: CodexRequestContext) async throws -> Response {
    let manifest = try await node.manifest(try CodexAPI.cid(context))
    var (status, headers, range) = try answerHead(manifest, request)
    headers[.contentLength] = String(range.count)
    return Response(status: status, headers: headers, body: ResponseBody { writer in try await writer.finish(nil) })
  }
}
