import NIOCore

/// One muxed stream's marks for the muxers' inactivity sweep (mplex and yamux): moving data sets `active`; a sweep
/// that finds it set clears it and starts the quiet period; a stream quiet for the whole timeout has expired.
struct StreamActivity {
  /// Data moved since the last sweep.
  var active = true
  /// When a sweep last found the stream active.
  var quietSince = NIODeadline.distantPast

  /// One sweep at `now`: true when the stream has moved no data for `timeout`.
  mutating func sweep(now: NIODeadline, timeout: TimeAmount) -> Bool {
    if active {
      active = false
      quietSince = now
      return false
    }
    return now - quietSince >= timeout
  }
}
