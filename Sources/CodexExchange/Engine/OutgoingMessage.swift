import NIOCore

/// A message queued to a peer: a control message (wants, cancels, presences), or a delivery message already framed
/// for the wire by `DeliveryMessageBuilder`.
enum OutgoingMessage: Sendable {
  case message(Message)
  case framed(ByteBuffer)
}
