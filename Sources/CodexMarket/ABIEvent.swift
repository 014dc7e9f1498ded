/// An event definition: decodes logs (indexed fields from topics 1…, the rest from data).
public struct ABIEvent: Sendable, Hashable {
  public struct Parameter: Sendable, Hashable {
    public let type: ABIType
    public let indexed: Bool
    public init(_ type: ABIType, indexed: Bool = false) {
      self.type = type
      self.indexed = indexed
    }
  }

  public let name: String
  public let parameters: [Parameter]

  public init(_ name: String, _ parameters: [Parameter]) {
    self.name = name
    self.parameters = parameters
  }

  /// `Name(type1,type2,…)`.
  public var signature: String { ABI.signature(name, parameters.map(\.type)) }
  /// Topic 0: `keccak256(signature)`.
  public var topic0: [UInt8] { ABI.topic(signature) }

  /// Decodes a log's fields in declaration order. An indexed field of a dynamic type decodes to
  /// `.fixedBytes(topic)` (the log holds only its hash). Throws when topic 0 does not match, topics are
  /// missing, or the data is malformed.
  public func decode(topics: [[UInt8]], data: [UInt8]) throws(ABIError) -> [ABIValue] {
    guard let first = topics.first, first == topic0 else {
      throw .typeMismatch(expected: "topic0 of \(signature)", got: topics.first.map { Hex.encode($0) } ?? "no topics")
    }
    let indexed = parameters.filter(\.indexed)
    guard topics.count == indexed.count + 1 else {
      throw .typeMismatch(expected: "\(indexed.count + 1) topics", got: "\(topics.count)")
    }
    let plain = try ABI.decode(parameters.filter { !$0.indexed }.map(\.type), from: data)
    var out: [ABIValue] = []
    var ti = 1
    var pi = 0
    for p in parameters {
      if p.indexed {
        let topic = topics[ti]
        ti += 1
        guard topic.count == 32 else { throw .truncated(offset: 0, needed: 32, available: topic.count) }
        if p.type.isDynamic || { if case .tuple = p.type { return true } else { return false } }() {
          out.append(.fixedBytes(topic))
        } else {
          out.append(try ABI.decode([p.type], from: topic)[0])
        }
      } else {
        out.append(plain[pi])
        pi += 1
      }
    }
    return out
  }
}
