"""HTTP details of the REST API through a real node process, spoken over raw sockets where a client library would
hide them: `Expect: 100-continue`, malformed chunked bodies, HEAD, 416 answers, and uploads admitted while others
hold their part of the quota."""
import os
import socket
import time

import requests

from ports import free_port


def connect(node):
    s = socket.create_connection(("127.0.0.1", node.port), timeout=10)
    s.settimeout(10)
    return s


def read_head(s, buffered=b""):
    """Reads one response head; returns (status line, {lower-case name: value}, bytes read past the head)."""
    data = buffered
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        assert chunk, f"connection closed before a response head: {data!r}"
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    fields = {}
    for line in lines[1:]:
        name, value = line.split(":", 1)
        fields[name.strip().lower()] = value.strip()
    return lines[0], fields, rest


def read_body(s, fields, rest):
    want = int(fields["content-length"])
    while len(rest) < want:
        chunk = s.recv(65536)
        assert chunk, "connection closed inside a response body"
        rest += chunk
    return rest[:want], rest[want:]


def test_expect_100_continue_is_answered_before_the_body(make_node):
    node = make_node("expect").start()
    body = os.urandom(3 << 20)
    with connect(node) as s:
        # Two requests on one connection: the interim answer must not upset keep-alive.
        cids = []
        left = b""
        for _ in range(2):
            s.sendall(
                b"POST /api/codex/v1/data HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode())
            # Nothing of the body is sent until the node says 100 Continue (a 10 s socket timeout otherwise).
            status, _, left = read_head(s, left)
            assert status == "HTTP/1.1 100 Continue"
            s.sendall(body)
            status, fields, left = read_head(s, left)
            assert status == "HTTP/1.1 200 OK"
            cid, left = read_body(s, fields, left)
            cids.append(cid.decode())
        assert cids[0] == cids[1]
    assert requests.get(node.url + f"/data/{cids[0]}", timeout=60).content == body


def test_expect_100_continue_over_quota_is_413_and_stores_nothing(make_node):
    node = make_node("expect-quota", "--storage-quota", "8MiB").start()
    before = node.space()
    with connect(node) as s:
        s.sendall(
            b"POST /api/codex/v1/data HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
            + f"Content-Length: {64 << 20}\r\n\r\n".encode())
        status, _, left = read_head(s)
        if status == "HTTP/1.1 100 Continue":
            status, fields, left = read_head(s, left)
        assert status.startswith("HTTP/1.1 413"), status
    after = node.space()
    assert after["quotaUsedBytes"] == before["quotaUsedBytes"]
    assert after["totalBlocks"] == before["totalBlocks"]
    assert node.datasets() == []


def test_uploads_that_fit_only_some_at_a_time_are_admitted_in_turn(make_node):
    """Uploads that each fit in the free quota but not all together: the first ones keep their room, the next is
    refused at once (it used to start too, and then all of them could fail half-way when the quota ran out)."""
    metrics_port = free_port()
    node = make_node("promises", "--storage-quota", "10MiB", "--metrics", "--metrics-port", str(metrics_port)).start()
    size = 4 << 20  # 64 blocks: two fit in 10 MiB, not three
    bodies = [os.urandom(size) for _ in range(3)]
    head = lambda n: (b"POST /api/codex/v1/data HTTP/1.1\r\nHost: x\r\n"
                      + f"Content-Length: {n}\r\n\r\n".encode())
    first, second = connect(node), connect(node)
    try:
        # Two uploads declare their size and send part of it (less than a batch: nothing is stored yet).
        for s, body in ((first, bodies[0]), (second, bodies[1])):
            s.sendall(head(size) + body[: 1 << 20])
        # Both were admitted (the node read their heads): they hold their size.
        deadline = time.monotonic() + 30
        while promised(metrics_port) != (2 * size, 2):
            assert time.monotonic() < deadline, promised(metrics_port)
            time.sleep(0.05)
        # A third is refused before its body is read, naming who holds the room.
        r = requests.post(node.url + "/data", data=bodies[2], timeout=60)
        assert r.status_code == 413, r.text
        assert f"Not enough storage quota: {size} bytes needed" in r.text, r.text
        assert f"of which {2 * size} are promised to the 2 uploads running" in r.text, r.text
        # An upload of unknown size may not take their room either: refused when its blocks would, nothing kept.
        before = node.space()
        r = requests.post(node.url + "/data", data=iter([bodies[2][: 3 << 20]]), timeout=60)  # chunked
        assert r.status_code == 413, r.text
        assert "promised to the 2 uploads running" in r.text, r.text
        assert node.space()["quotaUsedBytes"] == before["quotaUsedBytes"]
        # The first two complete.
        cids = []
        for s, body in ((first, bodies[0]), (second, bodies[1])):
            s.sendall(body[1 << 20:])
            status, fields, left = read_head(s)
            assert status == "HTTP/1.1 200 OK", status
            cids.append(read_body(s, fields, left)[0].decode())
    finally:
        first.close()
        second.close()
    for cid, body in zip(cids, bodies):
        assert requests.get(node.url + f"/data/{cid}", timeout=60).content == body
    space = node.space()
    assert space["quotaUsedBytes"] <= space["quotaMaxBytes"]
    assert sorted(d["cid"] for d in node.datasets()) == sorted(cids)
    # The promises ended with their uploads: now the quota itself is short, and the answer says so.
    r = requests.post(node.url + "/data", data=bodies[2], timeout=60)
    assert r.status_code == 413, r.text
    assert "promised" not in r.text, r.text
    small = requests.post(node.url + "/data", data=bodies[2][: 1 << 20], timeout=60)
    assert small.status_code == 200, small.text
    assert promised(metrics_port) == (0, 0)


def promised(metrics_port):
    """The node's promised quota from its metrics: (bytes, uploads)."""
    text = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
    values = {}
    for line in text.splitlines():
        for name in ("codex_quota_promised_bytes", "codex_quota_promised_uploads"):
            if line.startswith(name + " "):
                values[name] = int(float(line.rsplit(" ", 1)[1]))
    return values.get("codex_quota_promised_bytes"), values.get("codex_quota_promised_uploads")


def test_content_length_near_2_to_the_64_is_413_not_a_crash(make_node):
    # Rounding such a length up to whole blocks overflowed and stopped the node.
    node = make_node("huge-length").start()
    for length in (2**64 - 1, 2**64 - 16, 2**63 - 1):
        with connect(node) as s:
            s.sendall(b"POST /api/codex/v1/data HTTP/1.1\r\nHost: x\r\n" + f"Content-Length: {length}\r\n\r\nabc".encode())
            status, fields, left = read_head(s)
            assert status.startswith("HTTP/1.1 413"), status
            assert b"Not enough storage quota" in read_body(s, fields, left)[0]
    assert node.proc.poll() is None
    assert node.space()["quotaUsedBytes"] == 0


def test_malformed_chunked_upload_is_400_and_stores_nothing(make_node):
    node = make_node("chunked").start()
    before = node.space()
    with connect(node) as s:
        s.sendall(
            b"POST /api/codex/v1/data HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"%x\r\n" % 70000 + b"\x07" * 70000 + b"\r\n"
            + b"ZZZ\r\nnot a chunk\r\n")
        status, _, _ = read_head(s)
        assert status.startswith("HTTP/1.1 400"), status
    after = node.space()
    assert after["quotaUsedBytes"] == before["quotaUsedBytes"]
    assert after["totalBlocks"] == before["totalBlocks"]
    assert node.datasets() == []
    # The node carries on.
    r = requests.post(node.url + "/data", data=b"some file contents", timeout=30)
    assert r.status_code == 200
    assert r.text == "zDvZRwzmC3Q7e7NLkfsPmtgSCfectUc1ssn5xK2rzC9yRz1yeZuK"


def test_head_and_unsatisfiable_ranges(make_node):
    node = make_node("head").start()
    data = os.urandom(200_000)
    cid = requests.post(node.url + "/data", data=data, timeout=30,
                        headers={"Content-Disposition": 'attachment; filename="a.bin"'}).text
    h = requests.head(node.url + f"/data/{cid}", timeout=30)
    assert h.status_code == 200
    assert h.headers["Content-Length"] == str(len(data))
    assert h.headers["Accept-Ranges"] == "bytes"
    assert h.headers["Content-Disposition"] == 'attachment; filename="a.bin"'
    assert h.content == b""
    h = requests.head(node.url + f"/data/{cid}", headers={"Range": "bytes=100-199"}, timeout=30)
    assert h.status_code == 206
    assert h.headers["Content-Length"] == "100"
    assert h.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    r = requests.get(node.url + f"/data/{cid}", headers={"Range": f"bytes={len(data)}-"}, timeout=30)
    assert r.status_code == 416
    assert r.headers["Content-Range"] == f"bytes */{len(data)}"
    # HEAD answers carry no body, errors included: the next request on the same connection still works.
    with connect(node) as s:
        missing = "zDvZRwzmC3Q7e7NLkfsPmtgSCfectUc1ssn5xK2rzC9yRz1yeZuA"
        # Another last character (the data is random: the CID itself may end in "x", 1 run in 58).
        other = cid[:-1] + ("y" if cid.endswith("x") else "x")
        s.sendall(f"HEAD /api/codex/v1/data/{other} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
                  + f"HEAD /api/codex/v1/data/{missing} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
                  + f"GET /api/codex/v1/data/{cid} HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\n\r\n".encode())
        status, _, left = read_head(s)
        assert status.startswith("HTTP/1.1 4"), status
        status, _, left = read_head(s, left)
        assert status.startswith("HTTP/1.1 4"), status
        status, fields, left = read_head(s, left)
        assert status == "HTTP/1.1 206 Partial Content"
        body, _ = read_body(s, fields, left)
        assert body == data[:10]


def closed_within(s, seconds):
    """True if the server closes `s` within `seconds` (it sends nothing first)."""
    s.settimeout(seconds)
    try:
        return s.recv(65536) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def test_silent_connections_are_closed_after_the_idle_timeout_but_slow_readers_are_not(make_node):
    import time
    node = make_node("idle", "--api-idle-timeout", "2s").start()
    data = os.urandom(3 << 20)
    cid = requests.post(node.url + "/data", data=data, headers={"Content-Type": ""}, timeout=60).text
    before = node.space()
    # An upload that stopped sending: closed, and the part it sent leaves nothing behind.
    upload = connect(node)
    upload.sendall(b"POST /api/codex/v1/data HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\n\r\n"
                   + os.urandom(1 << 20))
    # A keep-alive connection with no request after its first one.
    idle = connect(node)
    idle.sendall(b"GET /api/codex/v1/space HTTP/1.1\r\nHost: x\r\n\r\n")
    status, fields, rest = read_head(idle)
    assert status.endswith("200 OK"), status
    read_body(idle, fields, rest)
    t0 = time.time()
    assert closed_within(upload, 10), "a stalled upload was not closed"
    assert closed_within(idle, 10), "an idle connection was not closed"
    assert 1.5 < time.time() - t0 < 10
    deadline = time.time() + 10
    while node.space() != before and time.time() < deadline:
        time.sleep(0.1)
    assert node.space() == before
    assert [d["cid"] for d in node.datasets()] == [cid]
    # A download whose reader pauses longer than the timeout is not cut: the node is the one sending.
    reader = connect(node)
    reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    reader.sendall(f"GET /api/codex/v1/data/{cid} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    status, fields, rest = read_head(reader)
    assert status.endswith("200 OK"), status
    time.sleep(4)
    body, _ = read_body(reader, fields, rest)
    assert body == data
    # Nor is a connection busy sending a body, however long the upload takes.
    slow = connect(node)
    size = 4 << 20
    slow.sendall(f"POST /api/codex/v1/data HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n\r\n".encode())
    chunk = size // 8
    payload = os.urandom(size)
    for i in range(8):
        slow.sendall(payload[i * chunk:(i + 1) * chunk])
        time.sleep(0.75)  # 6 s in all, every pause under the timeout
    status, fields, rest = read_head(slow)
    assert status.endswith("200 OK"), status
    new_cid, _ = read_body(slow, fields, rest)
    assert requests.get(node.url + f"/data/{new_cid.decode()}", timeout=60).content == payload
