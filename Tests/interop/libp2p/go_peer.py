"""A go-libp2p peer (PyPI libp2p-go 0.1.4, go-libp2p v0.24.2 via ctypes) for the Swift interop tests.

Runs in its own virtualenv with multiaddr==0.0.9. Secp256k1 identity, Noise only, go's default muxers
(yamux only). Prints JSON lines like py_peer.py. Serves /interop/echo/1.0.0 (read all, write back, close:
the wrapper has no half-close, so go cannot drive a streaming echo itself).
"""

import argparse
import asyncio
import json
import os
import sys
import time

from libp2p import (DefaultMuxers, DefaultTransports, Host, Identity, ListenAddrStrings, Ping,
                    SecurityNoise)
from libp2p.crypto import KeyType, PubKey, crypto_generate_keypair
from libp2p.peer import AddrInfo, Peer
from libp2p.utils import LibP2PError

ECHO = "/interop/echo/1.0.0"
IDENTIFY = "/ipfs/id/1.0.0"


def emit(obj):
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
    sys.stdout.flush()


def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def read_varint(data, i):
    shift = 0
    value = 0
    while True:
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def fields(data):
    """Minimal protobuf field reader: yields (number, value) for varint and length-delimited fields."""
    i = 0
    while i < len(data):
        key, i = read_varint(data, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(data, i)
        elif wt == 2:
            n, i = read_varint(data, i)
            v = data[i:i + n]
            i += n
        else:
            raise ValueError(f"unsupported wire type {wt}")
        yield num, v


def check_spr(envelope, expected_peer):
    env = {}
    for num, v in fields(envelope):
        env[num] = v
    domain = b"libp2p-peer-record"
    ptype, payload, sig = env[2], env[3], env[5]
    signed = varint(len(domain)) + domain + varint(len(ptype)) + ptype + varint(len(payload)) + payload
    key = PubKey.unmarshal(env[1])
    if ptype != b"\x03\x01" or not key.verify(signed, sig):
        return False, None
    record_peer = None
    for num, v in fields(payload):
        if num == 1:
            record_peer = Peer.from_bytes(v).string
    return record_peer == expected_peer and Peer.from_public_key(key).string == expected_peer, record_peer


async def echo_handler(stream):
    try:
        data = await stream.read_all()
        await stream.write(data)
        await stream.close()
    except Exception as e:  # noqa: BLE001
        emit({"event": "error", "where": "echo_handler", "error": repr(e)})


async def do_identify(host, peer):
    stream = await host.new_stream(peer, IDENTIFY)
    data = await stream.read_all()
    n, i = read_varint(data, 0)
    body = data[i:i + n] if i + n == len(data) else data
    msg = {"protocols": [], "listen": []}
    for num, v in fields(body):
        if num == 1:
            msg["key"] = v
        elif num == 2:
            msg["listen"].append(v.hex())
        elif num == 3:
            msg["protocols"].append(v.decode())
        elif num == 5:
            msg["protocolVersion"] = v.decode()
        elif num == 6:
            msg["agent"] = v.decode()
        elif num == 8:
            msg["spr"] = v
    key = PubKey.unmarshal(msg["key"])
    key_peer = Peer.from_public_key(key).string
    spr_ok, spr_peer = check_spr(msg["spr"], peer.string) if "spr" in msg else (False, None)
    ok = key_peer == peer.string and spr_ok and key.type == KeyType.Secp256k1
    emit({"event": "result", "action": "identify", "ok": ok, "peer": key_peer, "agent": msg.get("agent"),
          "protocolVersion": msg.get("protocolVersion"), "protocols": msg["protocols"],
          "sprValid": spr_ok, "sprPeer": spr_peer, "keyType": int(key.type)})
    await stream.close()
    return ok


async def do_ping(host, peer):
    """Three /ipfs/ping/1.0.0 round trips on one go stream.

    The wrapper's PingService.ping(peer_id) fails with "no addresses" for a connected peer (it does not
    decode the peer id text), so the go side drives the protocol through a plain go stream instead.
    """
    stream = await host.new_stream(peer, "/ipfs/ping/1.0.0")
    rtts = []
    for _ in range(3):
        payload = os.urandom(32)
        start = time.monotonic()
        await stream.write(payload)
        got = b""
        while len(got) < 32:
            n, chunk = await stream.read_bytes(32 - len(got))
            if n == 0:
                break
            got += chunk[:n]
        if got != payload:
            emit({"event": "result", "action": "ping", "ok": False, "error": "echo mismatch"})
            return False
        rtts.append(time.monotonic() - start)
    await stream.close()
    emit({"event": "result", "action": "ping", "ok": True, "rtt_s": rtts})
    return True


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=int, default=None)
    ap.add_argument("--dial", default=None)
    ap.add_argument("--actions", default="")
    args = ap.parse_args()
    priv, _pub = crypto_generate_keypair(KeyType.Secp256k1, 0)
    port = args.listen if args.listen is not None else 0
    host = Host(Identity(priv), ListenAddrStrings(f"/ip4/127.0.0.1/tcp/{port}"), SecurityNoise, DefaultTransports,
                DefaultMuxers, Ping(True))
    host.set_stream_handler(ECHO, echo_handler)
    emit({"event": "listening", "peer": host.id.string, "addrs": host.addrs})
    ok = True
    if args.dial:
        addr, _, peer_text = args.dial.rpartition("/p2p/")
        peer = Peer.decode(peer_text)
        try:
            await host.connect(AddrInfo(peer, [addr]))
            emit({"event": "connected", "peer": peer.string})
            for action in [a for a in args.actions.split(",") if a]:
                try:
                    if action == "identify":
                        r = await do_identify(host, peer)
                    elif action == "ping":
                        r = await do_ping(host, peer)
                    else:
                        r = False
                except (LibP2PError, Exception) as e:  # noqa: BLE001
                    emit({"event": "result", "action": action, "ok": False, "error": repr(e)})
                    r = False
                ok = ok and r
        except Exception as e:  # noqa: BLE001
            emit({"event": "result", "action": "connect", "ok": False, "error": repr(e)})
            ok = False
    else:
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    emit({"event": "done", "ok": ok})
    await host.close()
    return ok


if __name__ == "__main__":
    result = asyncio.run(main())
    sys.stdout.flush()
    import os
    os._exit(0 if result else 1)
