"""The client commands that join nodes and move data between them, run as a person would: `codex info` on one
node, `codex connect` with the address it printed on another, `codex fetch` of a dataset into that node."""
import json
import subprocess
import time

import requests

from conftest import codex_binary
from test_network import download_digest
from test_roundtrip import digest_of, stream


def cli(node, *args, timeout=120):
    return subprocess.run([codex_binary(), *args, "--api", f"http://127.0.0.1:{node.port}"], capture_output=True,
                          text=True, timeout=timeout)


def test_info_connect_fetch(make_node):
    a = make_node("a").start()
    b = make_node("b").start()
    size = 12 << 20
    cid = requests.post(a.url + "/data", data=stream(size, 41), timeout=120).text

    info = cli(a, "info")
    assert info.returncode == 0, info.stderr
    fields = json.loads(cli(a, "info", "--json").stdout)
    own = requests.get(a.url + "/debug/info", timeout=10).json()
    assert fields["id"] == own["id"] and fields["addrs"] == own["addrs"]
    assert f"peer id    {own['id']}" in info.stdout
    # The line printed for other nodes is a working command.
    line = [ln.strip() for ln in info.stdout.splitlines() if ln.strip().startswith("codex connect ")]
    assert len(line) == 1, info.stdout
    address = line[0].split()[2]
    assert address.endswith("/p2p/" + own["id"]), address

    joined = cli(b, "connect", address)
    assert joined.returncode == 0, joined.stderr
    assert joined.stdout.strip() == f"connected to {own['id']}"

    fetched = cli(b, "fetch", cid, timeout=300)
    assert fetched.returncode == 0, fetched.stderr
    assert fetched.stdout.strip() == cid
    # Every block is on B now: a second fetch finds nothing to do, and B serves the dataset alone.
    assert cli(b, "fetch", cid).returncode == 0
    status = requests.get(b.url + f"/data/{cid}/network/download", timeout=10).json()
    assert status["state"] == "completed" and status["doneBlocks"] == status["totalBlocks"], status
    a.kill()
    assert download_digest(b, cid, path="") == (digest_of(size, 41), size)

    # --no-wait returns at once, with nothing on stdout.
    started = cli(b, "fetch", cid, "--no-wait")
    assert started.returncode == 0 and started.stdout == "", started


def test_a_node_started_with_the_printed_bootstrap_address_fetches_at_once(make_node):
    a = make_node("a").start()
    size = 3 << 20
    cid = requests.post(a.url + "/data", data=stream(size, 43), timeout=120).text
    info = cli(a, "info").stdout
    line = [ln.strip() for ln in info.splitlines() if ln.strip().startswith("codex --bootstrap-node ")]
    assert len(line) == 1, info
    address = line[0].split()[2]
    b = make_node("b", "--bootstrap-node", address).start()
    # No `connect`: B dialled A at start.
    fetched = cli(b, "fetch", cid, timeout=300)
    assert fetched.returncode == 0, fetched.stderr
    a.kill()
    assert download_digest(b, cid, path="") == (digest_of(size, 43), size)


def test_cli_errors_say_what_to_do(make_node):
    lonely = make_node("lonely").start()
    absent = "zDvZRwzmC3Q7e7NLkfsPmtgSCfectUc1ssn5xK2rzC9yRz1yeZuK"
    t0 = time.time()
    r = cli(lonely, "fetch", absent)
    assert r.returncode == 2, r
    assert "no peer is connected to this node" in r.stderr and "codex connect" in r.stderr, r.stderr
    assert time.time() - t0 < 30
    # A peer that does not listen there: the node's reason, exit 1.
    other = make_node("other").start()
    peer = requests.get(other.url + "/debug/info", timeout=10).json()["id"]
    r = cli(lonely, "connect", f"/ip4/127.0.0.1/tcp/1/p2p/{peer}")
    assert r.returncode == 1 and "Unable to dial peer" in r.stderr, r
    # Arguments that name no peer are refused before the node is asked (usage error, 64).
    r = cli(lonely, "connect", "/ip4/127.0.0.1/tcp/1")
    assert r.returncode == 64 and "no peer id" in r.stderr, r
    r = cli(lonely, "fetch", "not-a-cid")
    assert r.returncode == 1 and "400" in r.stderr, r
