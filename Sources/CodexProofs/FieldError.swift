/// Why a byte string or text could not be read as a BN254 scalar field element.
public enum FieldError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The input had the wrong number of bytes.
  case wrongLength(expected: Int, actual: Int)
  /// The encoded integer is ≥ p; canonical encodings are always below the modulus.
  case nonCanonical
  /// A decimal or hexadecimal string was empty or contained a character that is not a digit.
  case invalidString(String)

  public var description: String {
    switch self {
    case .wrongLength(let expected, let actual):
      return "field element encoding must be \(expected) bytes, got \(actual)"
    case .nonCanonical:
      return "field element encoding is not canonical: value is not below the BN254 scalar modulus"
    case .invalidString(let s):
      return "not a field element literal: \"\(s.prefix(80))\""
    }
  }
}
