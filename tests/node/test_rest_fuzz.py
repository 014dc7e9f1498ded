"""Random requests against a live node: every route with broken CIDs, odd methods, odd headers and random bodies.

Bad input must get a 4xx answer with a message, never a 5xx, never a crash (a Content-Type of only ';' once
crashed the node). The only 5xx answers allowed are the documented ones: 503 for the marketplace routes of a node
without `persistence` and for `/spr` of a node without a DHT record, and 501 for marketplace routes not built.
Afterwards the node still serves a dataset uploaded first (whose CID the requests never use), and its repo checks out consistent after it stopped.
"""
import http.client
import os
import random
import subprocess

from codexnode import codex_binary

REQUESTS = 4000
SEED = 20261207

ROUTES = [
    "/data", "/data/{c}", "/data/{c}/exists", "/data/{c}/network", "/data/{c}/network/stream",
    "/data/{c}/network/manifest", "/data/{c}/network/download", "/data/{c}/protect", "/data/{c}/verifiable",
    "/connect/{c}", "/connect/{c}?addrs={c}", "/debug/slots/{c}/{n}", "/debug/info", "/debug/exchange", "/space",
    "/spr", "/peerid", "/debug/chronicles/loglevel?level={c}", "/sales/slots", "/sales/slots/{c}",
    "/sales/availability", "/storage/request/{c}", "/storage/purchases/{c}", "/{c}", "/data?{c}",
]
METHODS = ["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"]
RANGES = ["bytes=0-", "bytes=5-2", "bytes=-0", "bytes=abc", "bytes=0-1,3-4", "bytes=99999999999999999999-",
          "items=0-1", "bytes=-99999999999999999999", "bytes=", "bytes=1-1"]
DISPOSITIONS = ['attachment; filename="a"', "attachment; filename=", "inline", "attachment; filename*=UTF-8''%ff%fe",
                'attachment; filename="' + "x" * 5000 + '"', 'attachment; filename="a', ";", ""]
CONTENT_TYPES = ["", "a", ";", ";;;;", " ; charset=utf-8", "text/plain; charset=", "application/json", "\x7f/x",
                 "text/plain", "text/plain;;", "/", "a/b/c"]
ALPHABET = "zbfQm123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz%/.-_~"


def allowed_5xx(status, path, body):
    if status == 503 and "/spr" in path:
        return True
    market = any(p in path for p in ("/sales/", "/storage/")) or path.endswith("/sales/availability")
    return market and status in (501, 503)


def malformed_http(headers):
    """True when a header value holds a byte HTTP forbids (DEL): the HTTP parser refuses the request with a bare 400
    before any route sees it."""
    return any("\x7f" in v for v in headers.values())


def junk(rng, good):
    k = rng.randrange(8)
    if k == 0:
        return ""
    if k == 1:
        return rng.choice(good)[: rng.randrange(1, 50)]
    if k == 2:
        return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(1, 80)))
    if k == 3:
        c = list(rng.choice(good))
        c[rng.randrange(len(c))] = rng.choice("123456789abcdefghijkmnopqrstuvwxyz")
        return "".join(c)
    if k == 4:
        return "%" + "".join(rng.choice("0123456789abcdefXYZ%") for _ in range(rng.randrange(1, 10)))
    if k == 5:
        return "z" + "1" * rng.randrange(1, 300)
    if k == 6:
        return rng.choice(good) + rng.choice(["", "/", "//", "/x", "?a=b", "%00", "..", "/.."])
    return rng.choice(good)


def send(node, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def test_random_requests_get_4xx_answers_and_the_node_keeps_its_data(make_node):
    node = make_node("fuzz").start()
    base = "/api/codex/v1"
    original = os.urandom(200_000)
    status, cid = send(node, "POST", base + "/data", original)
    assert status == 200, cid
    cid = cid.decode()
    # The random requests use another dataset's CID (they may well delete it); the first one is never named.
    status, other = send(node, "POST", base + "/data", b"a dataset the random requests may delete")
    assert status == 200, other
    good = [other.decode(), "zDvZRwzmC3Q7e7NLkfsPmtgSCfectUc1ssn5xK2rzC9yRz1yeZuK",
            "zDzSvJTezk7bJNQqFq8k1iHXY84psNuUfZVusA5bBQQUSuyzDSVL",
            "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
            "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"]
    rng = random.Random(SEED)
    problems = []
    for i in range(REQUESTS):
        path = rng.choice(ROUTES).replace("{c}", junk(rng, good), 1).replace("{c}", junk(rng, good))
        path = path.replace("{n}", rng.choice(["0", "-1", "99999999999999999999", "x", ""]))
        method = rng.choice(METHODS)
        headers = {}
        if rng.random() < 0.3:
            headers["Range"] = rng.choice(RANGES)
        if rng.random() < 0.2:
            headers["Content-Disposition"] = rng.choice(DISPOSITIONS)
        if rng.random() < 0.2:
            headers["Content-Type"] = rng.choice(CONTENT_TYPES)
        body = None
        if method in ("POST", "PUT", "PATCH") and rng.random() < 0.7:
            size = rng.randrange(65_000, 120_000) if rng.random() < 0.05 else rng.randrange(0, 3000)
            body = rng.randbytes(size)
        try:
            status, answer = send(node, method, base + path, body, headers)
        except (OSError, http.client.HTTPException) as e:
            assert node.proc.poll() is None, (
                f"request {i} ({method} {path} {headers}) killed the node:\n{node.output()}")
            problems.append((i, method, path, headers, f"no answer: {e}"))
            continue
        if status >= 500 and not allowed_5xx(status, path, answer):
            problems.append((i, method, path, headers, status, answer[:200]))
        elif 400 <= status < 500 and method != "HEAD" and not answer.strip() and not malformed_http(headers):
            problems.append((i, method, path, headers, status, "empty error message"))
    assert not problems, f"{len(problems)} bad answers (seed {SEED}), first ones: {problems[:5]}"

    assert node.proc.poll() is None, node.output()
    status, data = send(node, "GET", base + f"/data/{cid}")
    assert status == 200 and data == original
    node.stop()
    check = subprocess.run([codex_binary(), "verify-repo", "--data-dir", node.data_dir], capture_output=True,
                           text=True, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr
