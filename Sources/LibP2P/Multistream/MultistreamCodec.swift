import NIOCore

/// multistream-select 1.0 message framing: `varint(len) ‖ UTF-8 text ‖ '\n'` (the length counts the newline).
public enum MultistreamCodec {
  /// The protocol header both sides send first.
  public static let header = "/multistream/1.0.0"
  /// The refusal message.
  public static let na = "na"
  /// The list request.
  public static let ls = "ls"
  /// Longest accepted message (64 KiB, like nim-libp2p's `MsgSize`).
  public static let maxMessageLength = 64 * 1024

  /// Appends one message to `buffer`.
  public static func encode(_ text: String, into buffer: inout ByteBuffer) {
    let utf8 = text.utf8
    buffer.writeUVarint(UInt64(utf8.count + 1))
    buffer.writeBytes(utf8)
    buffer.writeInteger(UInt8(ascii: "\n"))
  }

  /// One message as bytes.
  public static func encode(_ text: String) -> ByteBuffer {
    var b = ByteBufferAllocator().buffer(capacity: text.utf8.count + 3)
    encode(text, into: &b)
    return b
  }

  /// Decodes one message from the front of `buffer`.
  ///
  /// - Returns: the text without its newline, or `nil` when more bytes are needed (nothing consumed).
  /// - Throws: ``MultistreamError`` for a malformed message (bad varint, too long, empty, no newline,
  ///   invalid UTF-8).
  public static func decode(_ buffer: inout ByteBuffer) throws(MultistreamError) -> String? {
    var probe = buffer
    let length: UInt64?
    do { length = try probe.readUVarint() } catch { throw .invalidLength }
    guard let length else {
      if buffer.readableBytes >= 10 { throw .invalidLength }
      return nil
    }
    guard length <= UInt64(maxMessageLength) else { throw .messageTooLong(length) }
    guard length > 0 else { throw .emptyMessage }
    guard let body = probe.readSlice(length: Int(length)) else { return nil }
    guard body.getInteger(at: body.readerIndex + body.readableBytes - 1, as: UInt8.self) == UInt8(ascii: "\n") else {
      throw .missingNewline
    }
    guard let text = body.getString(at: body.readerIndex, length: body.readableBytes - 1),
      text.utf8.elementsEqual(body.readableBytesView.dropLast())
    else { throw .invalidUTF8 }
    buffer = probe
    return text
  }

  /// The body of an `ls` answer: one length-prefixed message whose text is every protocol followed by
  /// `\n` (nim-libp2p's form).
  public static func encodeList(_ protocols: [String], into buffer: inout ByteBuffer) {
    encode(protocols.joined(separator: "\n"), into: &buffer)
  }

  /// Parses the text of an `ls` answer; accepts the newline-joined form and go's nested length-prefixed form.
  public static func parseList(_ text: String) -> [String] {
    var bytes = ByteBufferAllocator().buffer(string: text + "\n")
    var nested: [String] = []
    while bytes.readableBytes > 1, let item = try? decode(&bytes) { nested.append(item) }
    if !nested.isEmpty && bytes.readableBytes <= 1 { return nested }
    return text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
  }
}
