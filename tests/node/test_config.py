"""Configuration precedence (CLI > CODEX_* env > TOML file), sizes/durations, metrics, expiry and start-up checks,
each through a real node process."""
import os
import subprocess
import time

import pytest
import requests

from conftest import Node, codex_binary, free_port


def run_node(workdir, name, *args, env=None):
    n = Node(os.path.join(workdir, name), *args)
    if env:
        old = dict(os.environ)
        os.environ.update(env)
        try:
            n.start()
        finally:
            os.environ.clear()
            os.environ.update(old)
    else:
        n.start()
    return n


def test_precedence_cli_over_env_over_file(workdir):
    cfg = os.path.join(workdir, "codex.toml")
    with open(cfg, "w") as f:
        f.write('storage-quota = "1GiB"\nblock-mn = 7\n')
    nodes = []
    try:
        a = run_node(workdir, "a", "--config-file", cfg)
        nodes.append(a)
        assert a.space()["quotaMaxBytes"] == 1 << 30
        b = run_node(workdir, "b", "--config-file", cfg, env={"CODEX_STORAGE_QUOTA": "2GiB"})
        nodes.append(b)
        assert b.space()["quotaMaxBytes"] == 2 << 30
        c = run_node(workdir, "c", "--config-file", cfg, "--storage-quota", "3g", env={"CODEX_STORAGE_QUOTA": "2GiB"})
        nodes.append(c)
        assert c.space()["quotaMaxBytes"] == 3 << 30
    finally:
        for n in nodes:
            n.kill()


def test_config_file_keys_no_option_uses_are_named_in_a_warning(workdir):
    # Every option of the node as a key (none may be reported), plus a typo and a marketplace option.
    cfg = os.path.join(workdir, "typo.toml")
    with open(cfg, "w") as f:
        f.write('agent-string = "x"\napi-bindaddr = "127.0.0.1"\napi-idle-timeout = "2m"\nblock-mi = "10m"\n'
                'block-mn = 1000\nblock-retries = 3000\nblock-ttl = "30d"\nbootstrap-node = []\ncache-size = 0\n'
                'api-cors-origin = "*"\nlisten-addrs = ["/ip4/127.0.0.1/tcp/0"]\nlog-format = "nocolors"\n'
                'max-peers = 160\nmetrics = false\nmetrics-address = "127.0.0.1"\nnat = "any"\n'
                'net-privkey = "key"\nnum-threads = 0\nrepo-kind = "fs"\nstorage-qouta = "1GiB"\n'
                'eth-provider = "http://127.0.0.1:9"\n')
    n = run_node(workdir, "typo", "--config-file", cfg)
    try:
        assert n.space()["quotaMaxBytes"] == 20 << 30  # the typo changed nothing
    finally:
        n.kill()
    with open(n.log.name, "rb") as f:
        log = f.read().decode()
    assert "keys 'eth-provider', 'storage-qouta' not used by this command" in log, log


def test_bad_options_fail_with_a_clear_message(workdir):
    for args, needle in [
        (["--storage-quota", "lots"], "not a size"),
        (["--block-ttl", "3 fortnights"], "duration"),
        (["--api-idle-timeout", "soon"], "api-idle-timeout"),
        (["--api-idle-timeout", "99999999999999w"], "too long"),  # trapped on the overflow before
        (["--block-ttl", "99999999999999w"], "too long"),
        (["--block-ttl", "9223372036854775807s"], "too long"),  # the upload trapped on the expiry before
        (["--block-ttl", "99999999999999999999"], "too long"),
        (["--block-ttl=-5"], "not a duration"),
        (["--block-mi", "9223372036854775807"], "too long"),  # trapped in the maintenance loop's sleep before
        (["--block-mi", "5300w"], "too long"),
        (["--log-level", "chatty"], "log-level"),
        (["--log-format", "xml"], "--log-format: 'xml' is not one of"),
        (["--nat", "sometimes"], "nat"),
        (["--nat", "extip:nowhere"], "is not an IP address"),
        (["--listen-addrs", "garbage"], "--listen-addrs: 'garbage' is not a multiaddr"),
        (["--bootstrap-node", "node-a:8070"], "neither an spr: record nor a multiaddr"),
        (["--bootstrap-node", "/ip4/127.0.0.1/tcp/8070"], "does not end in /p2p/<peer id>"),
        (["--bootstrap-node", "spr:notarecord"], "not a valid spr: record"),
    ]:
        r = subprocess.run([codex_binary(), "--data-dir", os.path.join(workdir, "bad"), *args],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 64, (args, r.returncode, r.stderr)  # EX_USAGE, as for every option error
        assert needle in (r.stderr + r.stdout), (args, r.stderr)


def test_ports_in_use_fail_with_a_clear_message(workdir):
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = subprocess.run([codex_binary(), "--data-dir", os.path.join(workdir, "busy"), "--api-port", str(port),
                            "--listen-addrs", "/ip4/127.0.0.1/tcp/0", "--disc-port", str(free_port())],
                           capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    out = r.stderr + r.stdout
    assert f"127.0.0.1:{port} is already in use" in out, out
    assert "--api-port" in out
    # The same for the libp2p listen address.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = subprocess.run([codex_binary(), "--data-dir", os.path.join(workdir, "busy"), "--api-port", str(free_port()),
                            "--listen-addrs", f"/ip4/127.0.0.1/tcp/{port}", "--disc-port", str(free_port())],
                           capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    out = r.stderr + r.stdout
    assert f"/ip4/127.0.0.1/tcp/{port}) is already in use" in out, out
    assert "--listen-addrs" in out


def test_a_bind_address_that_is_not_this_machines_fails_with_a_clear_message(workdir):
    # Not an IP address at all, and an address no interface here has (TEST-NET-3, never assigned).
    for address in ("999.1.1.1", "203.0.113.7"):
        r = subprocess.run([codex_binary(), "--data-dir", os.path.join(workdir, "bind"), "--api-port", str(free_port()),
                            "--api-bindaddr", address, "--listen-addrs", "/ip4/127.0.0.1/tcp/0",
                            "--disc-port", str(free_port())], capture_output=True, text=True, timeout=60)
        assert r.returncode == 1
        out = r.stderr + r.stdout
        assert f"--api-bindaddr '{address}' is not an address of this machine" in out, out


def test_a_second_node_on_the_same_data_dir_is_refused(workdir):
    d = os.path.join(workdir, "shared")
    a = run_node(workdir, "shared")
    try:
        cid = requests.post(a.url + "/data", data=b"some file contents", timeout=30).text
        assert cid == "zDvZRwzmC3Q7e7NLkfsPmtgSCfectUc1ssn5xK2rzC9yRz1yeZuK"
        # Other ports, same data dir: two writers of one repo would corrupt it, so the second must not start.
        r = subprocess.run([codex_binary(), "--data-dir", d, "--api-port", str(free_port()),
                            "--listen-addrs", "/ip4/127.0.0.1/tcp/0", "--disc-port", str(free_port())],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 1
        out = r.stderr + r.stdout
        assert f"{d} is in use by another process (pid {a.proc.pid})" in out, out
        assert "--data-dir" in out
        # The first node did not notice.
        assert requests.get(a.url + f"/data/{cid}", timeout=30).content == b"some file contents"
        assert a.space()["totalBlocks"] == 2
    finally:
        a.kill()
    a.proc.wait(timeout=30)
    # A node killed with SIGKILL leaves no stale lock: the next one starts on the same data dir at once.
    b = run_node(workdir, "shared")
    try:
        assert requests.get(b.url + f"/data/{cid}", timeout=30).content == b"some file contents"
    finally:
        b.kill()


def test_insecure_key_file_is_refused(workdir):
    d = os.path.join(workdir, "keyed")
    n = run_node(workdir, "keyed")
    n.stop()
    os.chmod(os.path.join(d, "key"), 0o644)
    r = subprocess.run([codex_binary(), "--data-dir", d, "--api-port", str(free_port()),
                        "--listen-addrs", "/ip4/127.0.0.1/tcp/0"], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "chmod 600" in r.stderr + r.stdout


def test_expiry_removes_what_expired_and_nothing_else(workdir):
    n = run_node(workdir, "ttl", "--block-ttl", "2s", "--block-mi", "1s")
    try:
        cid = requests.post(n.url + "/data", data=b"short lived" * 1000, timeout=30).text
        assert requests.get(n.url + f"/data/{cid}", timeout=30).status_code == 200
        deadline = time.time() + 30
        while time.time() < deadline and n.space()["totalBlocks"] > 0:
            time.sleep(0.5)
        space = n.space()
        assert space["totalBlocks"] == 0
        assert space["quotaUsedBytes"] == 0
        assert requests.get(n.url + f"/data/{cid}", timeout=30).status_code == 404
    finally:
        n.kill()


def test_a_file_uploaded_again_after_it_expired_survives_deleting_a_file_sharing_its_block(workdir):
    # A 1-byte file's only block (padded to 64 KiB) is also the last block of a 65,537-byte file ending in that
    # byte. Once the first file expired, the block was stored again by its re-upload without counting the leaf row
    # that still named it, and deleting the second file deleted the block from under the first (found by the soak).
    n = run_node(workdir, "again", "--block-ttl", "2s", "--block-mi", "1s")
    try:
        small = requests.post(n.url + "/data", data=b"\x07", timeout=30).text
        deadline = time.time() + 30
        while time.time() < deadline and n.space()["totalBlocks"] > 0:
            time.sleep(0.3)
        assert n.space()["totalBlocks"] == 0
        assert requests.post(n.url + "/data", data=b"\x07", timeout=30).text == small
        big = requests.post(n.url + "/data", data=os.urandom(65536) + b"\x07", timeout=30).text
        assert n.space()["totalBlocks"] == 2 + 2  # two manifests, the big file's first block and the shared one
        assert requests.delete(n.url + f"/data/{big}", timeout=30).status_code == 204
        r = requests.get(n.url + f"/data/{small}", timeout=30)
        assert (r.status_code, r.content) == (200, b"\x07")
    finally:
        n.kill()


def test_metrics_endpoint(workdir):
    port = free_port()
    n = run_node(workdir, "metrics", "--metrics", "--metrics-port", str(port))
    try:
        requests.post(n.url + "/data", data=b"x" * 100, timeout=30)
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        assert "codex_uploads_total" in text
    finally:
        n.kill()


def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in metrics:\n{text}")


def test_block_exchange_metrics(workdir):
    sport, lport = free_port(), free_port()
    seeder = run_node(workdir, "seeder", "--metrics", "--metrics-port", str(sport))
    leecher = run_node(workdir, "leecher", "--metrics", "--metrics-port", str(lport))
    try:
        cid = requests.post(seeder.url + "/data", data=os.urandom(3 << 20), timeout=60).text
        info = requests.get(seeder.url + "/debug/info", timeout=10).json()
        r = requests.get(leecher.url + f"/connect/{info['id']}", params=[("addrs", a) for a in info["addrs"]], timeout=30)
        assert r.status_code == 200, r.text
        with requests.get(leecher.url + f"/data/{cid}/network/stream", timeout=120) as d:
            assert d.status_code == 200 and len(d.content) == 3 << 20
        lt = requests.get(f"http://127.0.0.1:{lport}/metrics", timeout=10).text
        st = requests.get(f"http://127.0.0.1:{sport}/metrics", timeout=10).text
        # 48 data blocks and the manifest.
        assert metric(lt, "codex_block_exchange_blocks_received") == 49
        assert metric(st, "codex_block_exchange_blocks_sent") == 49
        assert metric(lt, "codex_block_exchange_connected_peers") == 1
        assert metric(lt, "codex_block_exchange_rejected_deliveries") == 0
        assert metric(lt, "codex_block_exchange_blocks_not_stored") == 0
        assert metric(lt, "codex_network_downloads_running") == 0
        # Counters only move forward between scrapes.
        again = requests.get(f"http://127.0.0.1:{lport}/metrics", timeout=10).text
        assert metric(again, "codex_block_exchange_blocks_received") == 49
    finally:
        seeder.kill()
        leecher.kill()


def test_log_level_changes_at_run_time_and_spr_is_503(workdir):
    n = run_node(workdir, "loglevel")
    try:
        url = n.url + "/debug/chronicles/loglevel"
        r = requests.post(url, timeout=10)
        assert r.status_code == 400 and r.text == "Missing log level"
        r = requests.post(url, params={"level": "chatty"}, timeout=10)
        assert r.status_code == 400 and "chatty" in r.text
        # Topic parts are checked too (they used to be ignored, and a spec of only topics reset the level to info).
        for spec in ("x:y:z", ";;;", "DEBUG;TRACE:", "DEBUG;LOUD:codex"):
            r = requests.post(url, params={"level": spec}, timeout=10)
            assert r.status_code == 400 and "log-level" in r.text, (spec, r.text)
        assert requests.post(url, params={"level": "TRACE:libp2p"}, timeout=10).status_code == 200  # level unchanged
        # At the level the test nodes start with (warn) the memory reclaimer's debug line is not written...
        requests.post(n.url + "/data", data=b"first", headers={"Content-Type": ""}, timeout=30)
        time.sleep(3)
        log = os.path.join(os.path.dirname(n.data_dir), f"node-{os.path.basename(n.data_dir)}.log")
        assert "returned free memory" not in open(log).read()
        # ...after switching to debug (nim-codex's spec form) it is.
        r = requests.post(url, params={"level": "DEBUG;TRACE:codex"}, timeout=10)
        assert r.status_code == 200, r.text
        requests.post(n.url + "/data", data=b"second", headers={"Content-Type": ""}, timeout=30)
        deadline = time.time() + 10
        while "returned free memory" not in open(log).read():
            assert time.time() < deadline, "no debug line after switching to DEBUG"
            time.sleep(0.2)
        r = requests.get(n.url + "/spr", timeout=10)
        assert r.status_code == 503
    finally:
        n.kill()


def test_a_quota_larger_than_the_disk_is_warned_about(workdir):
    # 1 EiB is more than any test machine's disk: the node starts, and says so once.
    port = free_port()
    n = run_node(workdir, "huge-quota", "--storage-quota", "1048576TiB", "--metrics", "--metrics-port", str(port))
    log = os.path.join(os.path.dirname(n.data_dir), f"node-{os.path.basename(n.data_dir)}.log")
    try:
        deadline = time.time() + 20
        while "larger than the free disk space" not in open(log).read():
            assert time.time() < deadline, open(log).read()
            time.sleep(0.2)
        text = open(log).read()
        assert text.count("larger than the free disk space") == 1
        assert "lower --storage-quota or free disk space" in text
        disk = os.statvfs(n.data_dir)
        exported = metric(requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text,
                          "codex_repo_disk_available_bytes")
        assert abs(exported - disk.f_bavail * disk.f_frsize) < 1 << 30
        assert requests.post(n.url + "/data", data=b"some file contents", timeout=30).status_code == 200
    finally:
        n.kill()
    # The default quota (20 GiB) fits this disk: no warning.
    if os.statvfs(workdir).f_bavail * os.statvfs(workdir).f_frsize > 40 << 30:
        m = run_node(workdir, "default-quota")
        try:
            time.sleep(1)
            log = os.path.join(os.path.dirname(m.data_dir), f"node-{os.path.basename(m.data_dir)}.log")
            assert "larger than the free disk space" not in open(log).read()
        finally:
            m.kill()


def test_a_quota_smaller_than_what_the_repo_holds_keeps_the_data_and_refuses_new_data(workdir):
    n = run_node(workdir, "shrink")
    data = os.urandom(3_000_000)
    cid = requests.post(n.url + "/data", data=data, timeout=60).text
    n.stop()
    n2 = Node(n.data_dir, "--storage-quota", "1MiB")
    n2.start()
    try:
        out = n2.output()
        assert "the repo holds more than the storage quota" in out, out
        space = n2.space()
        assert space["quotaMaxBytes"] == 1 << 20 and space["quotaUsedBytes"] > 1 << 20
        assert requests.get(n2.url + f"/data/{cid}", timeout=60).content == data
        r = requests.post(n2.url + "/data", data=b"more", timeout=60)
        assert r.status_code == 413 and "quota" in r.text, r.text
        # Deleting the dataset brings it back under the quota; then uploads work again.
        assert requests.delete(n2.url + f"/data/{cid}", timeout=60).status_code == 204
        assert requests.post(n2.url + "/data", data=b"more", timeout=60).status_code == 200
    finally:
        n2.stop()
