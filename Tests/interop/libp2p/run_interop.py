"""Multi-process libp2p interop tests: the Swift P2PInteropPeer against py-libp2p 0.8.1 and go-libp2p
(libp2p-go 0.1.4) on 127.0.0.1. Standard library only; each peer runs in its own virtualenv.

Usage: python3 run_interop.py --swift-peer PATH --py-python PATH --go-python PATH [--echo-bytes N]
Prints one line per test and a final `N passed, N failed`; exit status 1 on any failure.
"""

import argparse
import json
import os
import queue
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))


class Peer:
    """A peer process whose stdout JSON lines are collected; stdin kept open to keep listeners alive."""

    def __init__(self, name, argv, env=None):
        self.name = name
        self.events = []
        self.q = queue.Queue()
        self.stderr_lines = []
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env, text=True)
        threading.Thread(target=self._pump, daemon=True).start()
        threading.Thread(target=self._pump_err, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            self.events.append(ev)
            self.q.put(ev)
        self.q.put(None)

    def _pump_err(self):
        for line in self.proc.stderr:
            self.stderr_lines.append(line.rstrip())
            del self.stderr_lines[:-40]

    def wait_for(self, event, timeout):
        deadline = time.monotonic() + timeout
        for ev in self.events:
            if ev.get("event") == event:
                return ev
        while time.monotonic() < deadline:
            try:
                ev = self.q.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if ev is None:
                break
            if ev.get("event") == event:
                return ev
        raise TimeoutError(f"{self.name}: no '{event}' event within {timeout}s; stderr tail: {self.stderr_lines[-5:]}")

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise TimeoutError(f"{self.name}: did not finish within {timeout}s")

    def stop(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def results(self):
        return {ev["action"]: ev for ev in self.events if ev.get("event") == "result"}


def full_addr(listening):
    addr = listening["addrs"][0]
    return addr if "/p2p/" in addr else addr + "/p2p/" + listening["peer"]


def check(cond, message):
    if not cond:
        raise AssertionError(message)


def expect_results(peer, actions):
    res = peer.results()
    for a in actions:
        check(a in res, f"{peer.name}: no result for {a}: {[e for e in peer.events if e.get('event') == 'result']}")
        check(res[a].get("ok") is True, f"{peer.name}: {a} failed: {res[a]}")
    return res


def identified(peer, remote_id):
    for ev in peer.events:
        if ev.get("event") == "identified" and ev.get("peer") == remote_id:
            return ev
    return None


def wait_identified(peer, remote_id, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ev = identified(peer, remote_id)
        if ev:
            return ev
        time.sleep(0.05)
    raise AssertionError(f"{peer.name}: never identified {remote_id}")


def run_case(name, fn, results):
    start = time.monotonic()
    try:
        detail = fn()
        results.append((name, True))
        print(f"PASS {name} ({time.monotonic() - start:.1f}s) {detail or ''}", flush=True)
    except Exception as e:  # noqa: BLE001
        results.append((name, False))
        print(f"FAIL {name} ({time.monotonic() - start:.1f}s): {e}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--swift-peer", required=True)
    ap.add_argument("--py-python", default=None)
    ap.add_argument("--go-python", default=None)
    ap.add_argument("--echo-bytes", type=int, default=64 << 20)
    ap.add_argument("--go-echo-bytes", type=int, default=8 << 20)

    args = ap.parse_args()
    swift = args.swift_peer
    py_peer = os.path.join(HERE, "py_peer.py")
    go_peer = os.path.join(HERE, "go_peer.py")
    results = []
    actions = ["identify", "ping", "echo"]

    def swift_dials_py(muxer):
        def case():
            listener = Peer(f"py-{muxer}", [args.py_python, py_peer, "--listen", "0", "--muxer", muxer])
            try:
                lst = listener.wait_for("listening", 60)
                dialer = Peer("swift", [swift, "--muxers", muxer, "--dial", full_addr(lst), "--actions",
                                        ",".join(actions), "--echo-bytes", str(args.echo_bytes), "--echo-streams", "8"])
                code = dialer.wait_exit(300)
                res = expect_results(dialer, actions)
                check(code == 0, f"swift peer exit {code}")
                conn = dialer.wait_for("connected", 1)
                check(conn["muxer"] == f"/{muxer}/" + ("6.7.0" if muxer == "mplex" else "1.0.0"), f"muxer {conn}")
                ident = res["identify"]
                check(ident["peer"] == lst["peer"], "identify peer id")
                check(ident["agent"].startswith("py-libp2p"), f"agent {ident['agent']}")
                check(ident["sprValid"] and ident["sprPeer"] == lst["peer"], "py signed peer record")
                check("/interop/echo/1.0.0" in ident["protocols"], "echo protocol advertised")
                check(res["echo"]["bytes"] == args.echo_bytes, "echo size")
                return f"echo {args.echo_bytes >> 20} MiB in {res['echo']['seconds']:.1f}s"
            finally:
                listener.stop()
        return case

    def py_dials_swift(muxer):
        # py_peer.py drives mplex echo lock-step per chunk (see echo_one there); yamux runs duplex.
        echo_bytes = args.echo_bytes

        def case():
            listener = Peer("swift", [swift, "--listen", "/ip4/127.0.0.1/tcp/0"])
            try:
                lst = listener.wait_for("listening", 60)
                dialer = Peer(f"py-{muxer}", [args.py_python, py_peer, "--muxer", muxer, "--dial", full_addr(lst),
                                              "--actions", ",".join(actions), "--echo-bytes", str(echo_bytes),
                                              "--echo-streams", "8"])
                code = dialer.wait_exit(400)
                res = expect_results(dialer, actions)
                check(code == 0, f"py peer exit {code}")
                py_id = dialer.wait_for("listening", 1)["peer"]
                ident = res["identify"]
                check(ident["peer"] == lst["peer"] and ident["sprPeer"] == lst["peer"], "swift identity/record")
                check(ident["agent"] == "swift-codex-interop", f"agent {ident['agent']}")
                check(ident["keyType"].lower() == "secp256k1", "secp256k1 key")
                back = wait_identified(listener, py_id)
                check(back["sprValid"] and back["agent"].startswith("py-libp2p"), f"swift identified py: {back}")
                conn = listener.wait_for("connected", 1)
                check(muxer in conn["muxer"], f"muxer {conn}")
                check(res["echo"]["bytes"] == echo_bytes, "echo size")
                return f"echo {echo_bytes >> 20} MiB in {res['echo']['seconds']:.1f}s"
            finally:
                listener.stop()
        return case

    def swift_dials_go():
        listener = Peer("go", [args.go_python, go_peer, "--listen", "0"])
        try:
            lst = listener.wait_for("listening", 60)
            dialer = Peer("swift", [swift, "--dial", full_addr(lst), "--actions", "identify,ping,echo",
                                    "--echo-bytes", str(args.go_echo_bytes), "--echo-streams", "8"])
            code = dialer.wait_exit(300)
            res = expect_results(dialer, ["identify", "ping", "echo"])
            check(code == 0, f"swift peer exit {code}")
            check(dialer.wait_for("connected", 1)["muxer"] == "/yamux/1.0.0", "go negotiates yamux")
            ident = res["identify"]
            check(ident["agent"] == "github.com/libp2p/go-libp2p", f"agent {ident['agent']}")
            check(ident["sprValid"] and ident["sprPeer"] == lst["peer"], "go signed peer record")
            return "identify, ping, echo ok"
        finally:
            listener.stop()

    def go_dials_swift():
        listener = Peer("swift", [swift, "--listen", "/ip4/127.0.0.1/tcp/0"])
        try:
            lst = listener.wait_for("listening", 60)
            dialer = Peer("go", [args.go_python, go_peer, "--dial", full_addr(lst), "--actions", "identify,ping"])
            code = dialer.wait_exit(120)
            res = expect_results(dialer, ["identify", "ping"])
            check(code == 0, f"go peer exit {code}")
            check(res["identify"]["sprValid"] and res["identify"]["peer"] == lst["peer"], "swift record verified by go")
            go_id = dialer.wait_for("listening", 1)["peer"]
            back = wait_identified(listener, go_id)
            check(back["agent"] == "github.com/libp2p/go-libp2p" and back["sprValid"], f"swift identified go: {back}")
            return "identify both ways, ping ok"
        finally:
            listener.stop()

    if args.py_python:
        for m in ["mplex", "yamux"]:
            run_case(f"swift_dials_py_noise_{m}", swift_dials_py(m), results)
            run_case(f"py_dials_swift_noise_{m}", py_dials_swift(m), results)
    if args.go_python:
        run_case("swift_dials_go_noise_yamux", swift_dials_go, results)
        run_case("go_dials_swift_noise_yamux", go_dials_swift, results)
    passed = sum(1 for _, ok in results if ok)
    failed = len(results) - passed
    print(f"{passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 and passed > 0 else 1)


if __name__ == "__main__":
    main()
