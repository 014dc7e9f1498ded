import Crypto
import NIOCore

/// Settings for upgrading a raw TCP channel to a secured, multiplexed libp2p connection.
struct UpgradeSettings {
  var identity: PrivateKey
  /// Muxers in order of preference (dialer proposes in this order; listener accepts any).
  var muxers: [String]
  var muxerConfiguration: MuxerConfiguration
  var handshakeTimeout: TimeAmount
}

/// Builds the connection pipeline: multistream(`/noise`) → Noise XX → multistream(muxer) → mplex/yamux.
enum ConnectionUpgrader {
  /// Supported security protocol.
  static let noiseProtocol = "/noise"

  /// Installs the upgrade handlers on `channel` (on its event loop) and returns the upgraded connection.
  ///
  /// - Parameters:
  ///   - expectedPeer: when dialing a known peer, the Noise identity must match it.
  ///   - onInboundStream: called on the event loop for every stream the remote opens.
  static func upgrade(
    channel: any Channel, isInitiator: Bool, settings: UpgradeSettings, expectedPeer: PeerID?,
    onInboundStream: @escaping @Sendable (P2PStream) -> Void
  ) -> EventLoopFuture<P2PConnection> {
    let promise = channel.eventLoop.makePromise(of: P2PConnection.self)
    let done = NIOLoopBoundBox(false, eventLoop: channel.eventLoop)
    let failed = { @Sendable (error: any Error) in
      guard !done.value else { return }
      done.value = true
      promise.fail(error)
    }
    let securityRole: MultistreamNegotiationHandler.Role =
      isInitiator ? .dialer(proposals: [noiseProtocol]) : .listener(supported: [noiseProtocol])
    let security = MultistreamNegotiationHandler(
      role: securityRole,
      onSelected: { _, context in
        let noise = NoiseHandler(
          isInitiator: isInitiator, identity: settings.identity, expectedPeer: expectedPeer,
          timeout: settings.handshakeTimeout,
          onComplete: { result, noiseContext in
            let muxRole: MultistreamNegotiationHandler.Role =
              isInitiator ? .dialer(proposals: settings.muxers) : .listener(supported: settings.muxers)
            let muxSelect = MultistreamNegotiationHandler(
              role: muxRole,
              onSelected: { muxer, muxContext in
                let info = ConnectionInfo(
                  remotePeer: result.remotePeer, remoteAddress: muxContext.channel.remoteAddress,
                  localAddress: muxContext.channel.localAddress, isInitiator: isInitiator, muxer: muxer)
                let handler: any ChannelHandler & StreamMuxerCore
                switch muxer {
                case MplexFrame.protocolID:
                  handler = MplexHandler(
                    connectionInfo: info, configuration: settings.muxerConfiguration,
                    onInboundStream: { onInboundStream($0) })
                case YamuxHeader.protocolID:
                  handler = YamuxHandler(
                    connectionInfo: info, configuration: settings.muxerConfiguration,
                    onInboundStream: { onInboundStream($0) })
                default:
                  throw MultistreamError.unexpectedResponse(muxer)
                }
                try muxContext.pipeline.syncOperations.addHandler(handler, position: .last)
                let connection = P2PConnection(
                  info: info, channel: muxContext.channel,
                  muxer: MuxerRef(core: handler, eventLoop: muxContext.eventLoop))
                if !done.value {
                  done.value = true
                  promise.succeed(connection)
                }
              },
              onFailure: failed)
            try noiseContext.pipeline.syncOperations.addHandler(muxSelect, position: .after(noiseContext.handler))
          },
          onFailure: failed)
        try context.pipeline.syncOperations.addHandler(noise, position: .after(context.handler))
      },
      onFailure: failed)
    do {
      try channel.pipeline.syncOperations.addHandler(security)
    } catch {
      failed(error)
    }
    channel.closeFuture.whenComplete { _ in failed(StreamError.connectionClosed) }
    return promise.futureResult
  }
}
