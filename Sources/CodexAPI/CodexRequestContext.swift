import Hummingbird
import NIOCore

/// The API's request context: Hummingbird's core context and the event loop of the request's connection.
///
/// A streamed response needs the event loop to bound what it has queued. `ResponseBodyWriter.write` suspends only
/// once the connection reports itself unwritable, and that report comes from the event loop; a response producer
/// that runs while the event loop is starved of CPU keeps handing it 1 MiB buffers that wait in its task queue.
/// Measured: 30 concurrent 20 MB/s downloads on a node whose two cores were also busy with other work peaked at
/// 250-424 MB RSS; with the producer waiting while the loop has not taken its previous write (`WriteQueueGauge`),
/// 162-166 MB. Single 1 GiB downloads: same throughput (1.7-2.0 GB/s either way, within this machine's noise).
public struct CodexRequestContext: RequestContext {
  public var coreContext: CoreRequestContextStorage
  /// The event loop of the request's connection.
  public let eventLoop: any EventLoop

  public init(source: ApplicationRequestContextSource) {
    coreContext = .init(source: source)
    eventLoop = source.channel.eventLoop
  }
}
