"""A py-libp2p 0.8.1 peer for the Swift interop tests (runs in the py-libp2p virtualenv).

Secp256k1 identity, Noise only, one muxer (mplex or yamux). Prints one JSON object per line:
listening / result / done. Serves /interop/echo/1.0.0 (echo until EOF). Listening: runs until stdin closes.
Dialing: runs --actions (identify, ping, echo) against the dialed peer and exits 0 when all succeeded.
"""

import argparse
import hashlib
import json
import random
import sys
import time

import multiaddr
import trio

from libp2p import new_host
from libp2p.crypto.secp256k1 import create_new_key_pair
from libp2p.crypto.serialization import deserialize_public_key
from libp2p.crypto.x25519 import create_new_key_pair as create_x25519_key_pair
from libp2p.host.ping import PingService
from libp2p.identity.identify.identify import ID as IDENTIFY_ID, parse_identify_response
from libp2p.network.stream.exceptions import StreamEOF
from libp2p.peer.envelope import consume_envelope
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import info_from_p2p_addr
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID, Transport as NoiseTransport
from libp2p.stream_muxer.mplex.mplex import MPLEX_PROTOCOL_ID, Mplex
from libp2p.stream_muxer.yamux.yamux import PROTOCOL_ID as YAMUX_PROTOCOL_ID, Yamux

ECHO = "/interop/echo/1.0.0"
CHUNK = 64 * 1024


def emit(obj):
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
    sys.stdout.flush()


def pattern(count, seed):
    """Deterministic bytes per stream (each side checks only what it sent itself)."""
    return random.Random(seed).randbytes(count)


async def read_all(stream):
    chunks = []
    while True:
        try:
            data = await stream.read(CHUNK)
        except StreamEOF:
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


async def echo_handler(stream):
    try:
        while True:
            try:
                data = await stream.read(CHUNK)
            except StreamEOF:
                break
            if not data:
                break
            await stream.write(data)
        await stream.close()
    except Exception as e:  # noqa: BLE001
        emit({"event": "error", "where": "echo_handler", "error": repr(e)})
        await stream.reset()


async def do_identify(host, peer_id):
    stream = await host.new_stream(peer_id, [IDENTIFY_ID])
    data = await read_all(stream)
    msg = parse_identify_response(data)
    key = deserialize_public_key(msg.public_key)
    key_peer = ID.from_pubkey(key)
    result = {
        "event": "result",
        "action": "identify",
        "peer": key_peer.to_base58(),
        "agent": msg.agent_version,
        "protocolVersion": msg.protocol_version,
        "protocols": list(msg.protocols),
        "listenAddrs": [str(multiaddr.Multiaddr(a)) for a in msg.listen_addrs],
        "observed": str(multiaddr.Multiaddr(msg.observed_addr)) if msg.observed_addr else "",
    }
    spr_ok = False
    try:
        _env, record = consume_envelope(msg.signedPeerRecord, "libp2p-peer-record")
        result["sprPeer"] = record.peer_id.to_base58()
        result["sprAddrs"] = [str(a) for a in record.addrs]
        spr_ok = record.peer_id == peer_id
    except Exception as e:  # noqa: BLE001
        result["sprError"] = repr(e)
    result["sprValid"] = spr_ok
    result["ok"] = key_peer == peer_id and spr_ok and key.get_type().name.lower() == "secp256k1"
    result["keyType"] = key.get_type().name
    emit(result)
    return result["ok"]


async def do_ping(host, peer_id):
    rtts = await PingService(host).ping(peer_id, 3)
    emit({"event": "result", "action": "ping", "ok": len(rtts) == 3, "rtt_ms": rtts})
    return len(rtts) == 3


async def echo_one(host, peer_id, data, results, lockstep):
    """One echo stream. Duplex (writer and reader tasks) or, for mplex, lock-step per chunk.

    py-libp2p's MplexStream guards read and write with one read/write lock and delivers frames through a
    channel of depth 1 with a 5 s timeout, so a writer blocked in send starves that stream's reader and the
    stream gets reset; lock-step (write a chunk, read its echo) avoids that.
    """
    nbytes = len(data)
    stream = await host.new_stream(peer_id, [ECHO])
    expected = hashlib.sha256(data).hexdigest()
    got = hashlib.sha256()
    count = 0

    async def writer():
        for off in range(0, len(data), CHUNK):
            await stream.write(data[off:off + CHUNK])
        await stream.close()

    async def reader(limit=None):
        nonlocal count
        while limit is None or count < limit:
            try:
                chunk = await stream.read(CHUNK if limit is None else min(CHUNK, limit - count))
            except StreamEOF:
                break
            if not chunk:
                break
            got.update(chunk)
            count += len(chunk)

    if lockstep:
        for off in range(0, len(data), CHUNK):
            piece = data[off:off + CHUNK]
            await stream.write(piece)
            await reader(off + len(piece))
        await stream.close()
        await reader()
    else:
        async with trio.open_nursery() as n:
            n.start_soon(writer)
            n.start_soon(reader)
    results.append(count == nbytes and got.hexdigest() == expected)


async def do_echo(host, peer_id, total, streams, lockstep):
    start = time.monotonic()
    results = []
    per = total // streams
    payloads = [pattern(per, i + 1) for i in range(streams)]
    async with trio.open_nursery() as n:
        for data in payloads:
            n.start_soon(echo_one, host, peer_id, data, results, lockstep)
    ok = len(results) == streams and all(results)
    emit({"event": "result", "action": "echo", "ok": ok, "bytes": per * streams, "streams": streams,
          "seconds": time.monotonic() - start})
    return ok


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--muxer", choices=["mplex", "yamux"], default="mplex")
    ap.add_argument("--listen", type=int, default=None, help="TCP port on 127.0.0.1")
    ap.add_argument("--dial", default=None)
    ap.add_argument("--actions", default="")
    ap.add_argument("--echo-bytes", type=int, default=64 << 20)
    ap.add_argument("--echo-streams", type=int, default=8)
    args = ap.parse_args()

    key_pair = create_new_key_pair()
    sec = {NOISE_PROTOCOL_ID: NoiseTransport(key_pair, noise_privkey=create_x25519_key_pair().private_key)}
    mux = {MPLEX_PROTOCOL_ID: Mplex} if args.muxer == "mplex" else {YAMUX_PROTOCOL_ID: Yamux}
    listen = [multiaddr.Multiaddr(f"/ip4/127.0.0.1/tcp/{args.listen if args.listen is not None else 0}")]
    host = new_host(key_pair=key_pair, sec_opt=sec, muxer_opt=mux, listen_addrs=listen)
    host.set_stream_handler(ECHO, echo_handler)
    ok = True
    async with host.run(listen_addrs=listen):
        emit({"event": "listening", "peer": host.get_id().to_base58(),
              "addrs": [str(a) for a in host.get_addrs()]})
        if args.dial:
            info = info_from_p2p_addr(multiaddr.Multiaddr(args.dial))
            try:
                await host.connect(info)
                emit({"event": "connected", "peer": info.peer_id.to_base58()})
            except Exception as e:  # noqa: BLE001
                emit({"event": "result", "action": "connect", "ok": False, "error": repr(e)})
                ok = False
            if ok:
                for action in [a for a in args.actions.split(",") if a]:
                    try:
                        if action == "identify":
                            r = await do_identify(host, info.peer_id)
                        elif action == "ping":
                            r = await do_ping(host, info.peer_id)
                        elif action == "echo":
                            r = await do_echo(host, info.peer_id, args.echo_bytes, args.echo_streams,
                                              args.muxer == "mplex")
                        else:
                            r = False
                    except Exception as e:  # noqa: BLE001
                        emit({"event": "result", "action": action, "ok": False, "error": repr(e)})
                        r = False
                    ok = ok and r
        else:
            await trio.to_thread.run_sync(sys.stdin.read, abandon_on_cancel=True)
        emit({"event": "done", "ok": ok})
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    trio.run(main)
