import NIOCore

/// multistream-select 1.0 on a ``P2PStream`` (application protocol selection).
public enum MultistreamSelect {
  /// Dialer side: proposes `protocols` in order and returns the first one the remote accepts.
  ///
  /// The header and the first proposal go out in one write.
  /// - Throws: ``MultistreamError/noProtocolAccepted(_:)`` when every proposal got `na`, other
  ///   ``MultistreamError`` cases for protocol violations, ``StreamError`` for stream failures.
  public static func select(_ protocols: [String], on stream: P2PStream) async throws -> String {
    guard let first = protocols.first else { throw MultistreamError.noProtocolAccepted([]) }
    var out = ByteBufferAllocator().buffer(capacity: 64)
    MultistreamCodec.encode(MultistreamCodec.header, into: &out)
    MultistreamCodec.encode(first, into: &out)
    try await stream.write(out)
    var reader = MessageReader(stream: stream)
    let header = try await reader.next()
    guard header == MultistreamCodec.header else { throw MultistreamError.unexpectedHeader(header) }
    var index = 0
    while true {
      let answer = try await reader.next()
      if answer == protocols[index] {
        reader.giveBack()
        stream.setProtocol(answer)
        return answer
      }
      guard answer == MultistreamCodec.na else { throw MultistreamError.unexpectedResponse(answer) }
      index += 1
      guard index < protocols.count else { throw MultistreamError.noProtocolAccepted(protocols) }
      try await stream.write(MultistreamCodec.encode(protocols[index]))
    }
  }

  /// Listener side: answers proposals until one is in `supported`, which it echoes and returns.
  ///
  /// Answers `ls` with `supported` and anything else with `na`.
  public static func handle(_ stream: P2PStream, supported: @Sendable (String) -> Bool, list: @Sendable () -> [String])
    async throws -> String
  {
    try await stream.write(MultistreamCodec.encode(MultistreamCodec.header))
    var reader = MessageReader(stream: stream)
    let header = try await reader.next()
    guard header == MultistreamCodec.header else { throw MultistreamError.unexpectedHeader(header) }
    for _ in 0..<MultistreamNegotiationHandler.maxProposals {
      let proposal = try await reader.next()
      if proposal == MultistreamCodec.ls {
        var out = ByteBufferAllocator().buffer(capacity: 256)
        MultistreamCodec.encodeList(list(), into: &out)
        try await stream.write(out)
      } else if supported(proposal) {
        reader.giveBack()
        try await stream.write(MultistreamCodec.encode(proposal))
        stream.setProtocol(proposal)
        return proposal
      } else {
        try await stream.write(MultistreamCodec.encode(MultistreamCodec.na))
      }
    }
    throw MultistreamError.tooManyProposals
  }

  /// Reads multistream messages from a stream, keeping surplus bytes to give back.
  struct MessageReader {
    let stream: P2PStream
    var buffer = ByteBufferAllocator().buffer(capacity: 0)

    mutating func next() async throws -> String {
      while true {
        if let message = try MultistreamCodec.decode(&buffer) { return message }
        guard var chunk = try await stream.read() else { throw MultistreamError.endOfStream }
        buffer.writeBuffer(&chunk)
      }
    }

    /// Returns unread bytes to the stream.
    mutating func giveBack() {
      if buffer.readableBytes > 0 { stream.unread(buffer) }
      buffer.clear()
    }
  }
}
