"""py-libp2p 0.8.1 block-exchange peer for the swift-codex interop test.

Dials a Swift node that holds the single-block dataset "some file contents" (formats.md section 4.6), then, over
/codex/blockexc/1.0.0 (blockexc.md): sends a want-have for leaf 0 (bytes checked against the spec example), expects a
Have presence, sends a want-block, expects a delivery whose block hashes to its CID and whose proof verifies against
the tree CID (computed here independently). Also sends a want-have with sendDontHave for an unknown leaf and expects
DontHave. Replies arrive on the stream the Swift node opens to us (blockexc.md section 1.1).
Prints JSON lines; exit status 0 when every check passed.
"""

import argparse
import hashlib
import json
import sys

import multiaddr
import trio

from libp2p import new_host
from libp2p.crypto.secp256k1 import create_new_key_pair
from libp2p.crypto.x25519 import create_new_key_pair as create_x25519_key_pair
from libp2p.network.stream.exceptions import StreamEOF
from libp2p.peer.peerinfo import info_from_p2p_addr
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID, Transport as NoiseTransport
from libp2p.stream_muxer.mplex.mplex import MPLEX_PROTOCOL_ID, Mplex

BLOCKEXC = "/codex/blockexc/1.0.0"
SPEC_WANT_HAVE = bytes.fromhex(
    "0a3a0a360a2c0801122601839a031220050b50fa8145c235e1b817326d34f733420298a9aa511f13622dd81264e8d4df"
    "180010001800200128001000280032020a003a020a00")


def emit(obj):
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
    sys.stdout.flush()


# --- minimal protobuf (minprotobuf rules: fields in order, always written) ---

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def f_varint(field, v):
    return varint(field << 3) + varint(v)


def f_bytes(field, b):
    return varint(field << 3 | 2) + varint(len(b)) + b


def read_varint(buf, i):
    shift = 0
    v = 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        if not b & 0x80:
            return v, i
        shift += 7


def parse(buf):
    """field number -> list of values (int or bytes)."""
    out = {}
    i = 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        field, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(buf, i)
        elif wt == 2:
            n, i = read_varint(buf, i)
            v = bytes(buf[i:i + n])
            i += n
        elif wt == 1:
            v = bytes(buf[i:i + 8])
            i += 8
        elif wt == 5:
            v = bytes(buf[i:i + 4])
            i += 4
        else:
            raise ValueError("wire type %d" % wt)
        out.setdefault(field, []).append(v)
    return out


def leaf_address(tree_cid, index):
    return f_varint(1, 1) + f_bytes(2, tree_cid) + f_varint(3, index)


def want_message(address, want_type, send_dont_have=False):
    entry = f_bytes(1, address) + f_varint(2, 0) + f_varint(3, 0) + f_varint(4, want_type) + f_varint(
        5, 1 if send_dont_have else 0)
    wantlist = f_bytes(1, entry) + f_varint(2, 0)
    return f_bytes(1, wantlist) + f_varint(5, 0) + f_bytes(6, f_bytes(1, b"")) + f_bytes(7, f_bytes(1, b""))


# --- the dataset and the Codex SHA-256 tree ---

def compress(x, y, key):
    return hashlib.sha256(x + y + bytes([key])).digest()


def verify_proof(proof_bytes, leaf, root, expected_index):
    p = parse(proof_bytes)
    mcodec, index, nleaves = p[1][0], p[2][0], p[3][0]
    path = [parse(node)[1][0] for node in p.get(4, [])]
    if mcodec != 0x12 or index != expected_index:
        return False
    h, j, m, bottom = leaf, index, nleaves, 1
    for node in path:
        if j & 1:
            h = compress(node, h, bottom)
        elif j == m - 1:
            h = compress(h, node, bottom + 2)
        else:
            h = compress(h, node, bottom)
        bottom = 0
        j >>= 1
        m = (m + 1) >> 1
    return h == root


BLOCK = b"some file contents" + bytes(65536 - 18)
LEAF = hashlib.sha256(BLOCK).digest()
ROOT = compress(LEAF, bytes(32), 3)
TREE_CID = bytes.fromhex("01839a03") + bytes([0x12, 0x20]) + ROOT
BLOCK_CID = bytes.fromhex("01829a03") + bytes([0x12, 0x20]) + LEAF


class Reader:
    """Length-prefixed messages from one stream, pushed into a channel."""

    def __init__(self, stream, send_channel):
        self.stream = stream
        self.buf = bytearray()
        self.send = send_channel

    async def fill(self, n):
        while len(self.buf) < n:
            data = await self.stream.read(1 << 20)
            if not data:
                raise StreamEOF()
            self.buf += data

    async def run(self):
        try:
            while True:
                await self.fill(1)
                i = 0
                while True:
                    await self.fill(i + 1)
                    if not self.buf[i] & 0x80:
                        break
                    i += 1
                n, start = read_varint(self.buf, 0)
                await self.fill(start + n)
                body = bytes(self.buf[start:start + n])
                del self.buf[:start + n]
                await self.send.send(body)
        except (StreamEOF, trio.ClosedResourceError, trio.BrokenResourceError):
            pass
        except Exception as e:  # noqa: BLE001
            emit({"event": "reader-error", "error": repr(e)})


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dial", required=True)
    ap.add_argument("--timeout", type=float, default=30)
    args = ap.parse_args()

    results = {}
    key_pair = create_new_key_pair()
    sec = {NOISE_PROTOCOL_ID: NoiseTransport(key_pair, noise_privkey=create_x25519_key_pair().private_key)}
    listen = [multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0")]
    host = new_host(key_pair=key_pair, sec_opt=sec, muxer_opt={MPLEX_PROTOCOL_ID: Mplex}, listen_addrs=listen)
    send_ch, recv_ch = trio.open_memory_channel(100)

    async with host.run(listen_addrs=listen), trio.open_nursery() as nursery:
        async def inbound(stream):
            await Reader(stream, send_ch.clone()).run()

        host.set_stream_handler(BLOCKEXC, inbound)
        info = info_from_p2p_addr(multiaddr.Multiaddr(args.dial))
        await host.connect(info)
        emit({"event": "connected", "peer": info.peer_id.to_base58()})
        stream = await host.new_stream(info.peer_id, [BLOCKEXC])
        # No reader on our own stream: py-libp2p's mplex stream has a read/write lock, so a pending read would
        # block our next write. The Swift node answers on the stream it opens to us, as nim-codex does.

        async def send(msg):
            await stream.write(varint(len(msg)) + msg)

        async def next_message():
            with trio.fail_after(args.timeout):
                return parse(await recv_ch.receive())

        addr0 = leaf_address(TREE_CID, 0)
        want_have = want_message(addr0, 1)
        results["want-have bytes match blockexc.md"] = want_have == SPEC_WANT_HAVE
        await send(want_have)
        m = await next_message()
        presences = [parse(p) for p in m.get(4, [])]
        results["have presence for leaf 0"] = (
            len(presences) == 1 and presences[0][1][0] == addr0 + b"" and presences[0].get(2, [0])[0] == 0
            and presences[0].get(3, [b""])[0] == bytes(32))

        await send(want_message(addr0, 0))
        m = await next_message()
        deliveries = [parse(d) for d in m.get(3, [])]
        ok = len(deliveries) == 1
        if ok:
            d = deliveries[0]
            data = d[2][0]
            ok = (d[1][0] == BLOCK_CID and data == BLOCK and hashlib.sha256(data).digest() == LEAF
                  and d[3][0] == addr0 and verify_proof(d[4][0], LEAF, ROOT, 0))
        results["delivery of leaf 0 with a valid proof"] = ok

        unknown = leaf_address(TREE_CID, 5)
        await send(want_message(unknown, 1, send_dont_have=True))
        m = await next_message()
        presences = [parse(p) for p in m.get(4, [])]
        results["dont-have for an unknown leaf"] = (
            len(presences) == 1 and presences[0][1][0] == unknown and presences[0][2][0] == 1)
        await stream.close()
        nursery.cancel_scope.cancel()

    for name, ok in results.items():
        emit({"event": "result", "test": name, "ok": bool(ok)})
    all_ok = len(results) == 4 and all(results.values())
    emit({"event": "done", "ok": all_ok})
    sys.exit(0 if all_ok else 1)


if __name__ == "__main__":
    trio.run(main)
