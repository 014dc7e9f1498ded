#!/usr/bin/env bash
# Block-exchange benchmark (issue #4): a dataset from 1 seeder and from 4 seeders to one leecher, all separate
# `codex` processes on 127.0.0.1 talking TCP + Noise + mplex, next to the single-stream raw libp2p throughput
# (P2PBenchmark, noise+mplex, 1 stream) measured in the same run as the baseline.
#
# For each case a fresh leecher downloads the whole dataset twice over (two fresh leechers):
#   stream      GET  /data/{cid}/network/stream  -> /dev/null (bytes arrive in order while fetching)
#   background  POST /data/{cid}/network         (into the leecher's repo; done when /space counts every block)
# and reports MB/s (1 MB = 10^6 bytes), the leecher's peak RSS (VmHWM), the CPU seconds per GiB the leecher and
# the seeders used (leecher_cpu_s_per_gib, seeders_cpu_s_per_gib: all processes share this machine's cores, so their
# sum against the wall time tells a CPU-bound download) and the ratio to the baseline.
# Then blockexc_4streams_1seeder: four different datasets of SIZE/4 streamed at once from one seeder by one fresh
# leecher (more wants than one peer's in-flight slots; total MB/s and the leecher's CPU per GiB).
# blockexc_ceiling: what no download that stores its blocks can beat on this machine, from numbers measured in the
# same run: the disk's O_DIRECT write rate with fdatasync (dd into the leechers' filesystem, as the store writes its
# packs), and the cores divided by the CPU every downloaded GiB needs at least: the transport's (the baseline's CPU
# per GiB, both ends), one SHA-256 per block (the leecher must check every block) and the kernel's share of the
# disk write. Protobuf, metadata, the engine and the HTTP reply to the client come on top, so the real ceiling is
# lower. The summary lines also give each median's ratio to this ceiling.
#
# Usage: scripts/bench-blockexc.sh [SIZE_MIB (default 1024)] [REPEATS (default 1)]
#   BIN_DIR=...         use already built release binaries (codex, P2PBenchmark) instead of building here
#   BENCH_TIMEOUT=SECS  overall bound (default 1800)
#   VERIFY=1            also check the streamed bytes' SHA-256 (costs leecher-side CPU)
# Prints one JSON object per line (name, value, unit, baseline, baseline_value, ratio, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-1024}
REPEATS=${2:-1}
if [ -z "${BIN_DIR:-}" ]; then
  swift build -c release --product codex >&2
  swift build -c release --product P2PBenchmark >&2
  BIN_DIR=$(swift build -c release --show-bin-path)
fi
for b in codex P2PBenchmark; do
  [ -x "$BIN_DIR/$b" ] || { echo "missing $BIN_DIR/$b" >&2; exit 1; }
done
command -v curl >/dev/null || { echo "curl is required" >&2; exit 1; }
export BIN_DIR SIZE_MIB REPEATS VERIFY="${VERIFY:-0}"
exec timeout --signal=TERM "${BENCH_TIMEOUT:-1800}" python3 - <<'PY'
import hashlib, json, os, re, resource, shutil, signal, socket, subprocess, sys, tempfile, threading, time, urllib.request, urllib.parse

BIN = os.environ["BIN_DIR"]
SIZE = int(os.environ["SIZE_MIB"]) << 20
REPEATS = int(os.environ["REPEATS"])
VERIFY = os.environ.get("VERIFY") == "1"
BLOCK = 65536
work = tempfile.mkdtemp(prefix="bench-blockexc-")
procs = []


sys.path.insert(0, "tests")  # the script runs from the repo root
from ports import free_port  # noqa: E402  (the same ports as the node tests: below the ephemeral range, never twice)


def emit(o):
    print(json.dumps(o, sort_keys=True), flush=True)


def log(msg):
    print(f"[bench-blockexc] {msg}", file=sys.stderr, flush=True)


def get(url, timeout=60):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read()


def post(url, timeout=60):
    req = urllib.request.Request(url, method="POST", data=b"")
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


class Node:
    def __init__(self, name, level="warn"):
        self.dir = os.path.join(work, name)
        self.port = free_port()
        self.log = open(os.path.join(work, name + ".log"), "ab")
        self.proc = subprocess.Popen(
            [os.path.join(BIN, "codex"), "--data-dir", self.dir, "--api-port", str(self.port), "--log-level", level,
             "--listen-addrs", "/ip4/127.0.0.1/tcp/0", "--disc-port", str(free_port())],
            stdout=self.log, stderr=self.log)
        procs.append(self.proc)
        self.url = f"http://127.0.0.1:{self.port}/api/codex/v1"
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {self.proc.returncode}")
            try:
                if get(self.url + "/space", timeout=1)[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"{name} did not start")
        info = json.loads(get(self.url + "/debug/info")[1])
        self.id, self.addrs = info["id"], info["addrs"]

    def status(self, key):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024  # MiB
        return -1

    def cpu_seconds(self):
        """User + system CPU seconds the process has used (utime + stime of /proc/PID/stat)."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def blocks(self):
        return json.loads(get(self.url + "/space")[1])["totalBlocks"]

    def connect(self, other):
        q = urllib.parse.urlencode([("addrs", a) for a in other.addrs])
        status, body = get(self.url + f"/connect/{other.id}?{q}")
        assert status == 200, body

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def disk_write(size):
    """Writes `size` bytes (whole 4 MiB blocks) into the work dir with O_DIRECT and fdatasync, like the store's pack
    writes (buffered where the filesystem has no O_DIRECT, e.g. tmpfs); returns (MB/s, dd's CPU seconds per GiB)."""
    path = os.path.join(work, "dd.bin")
    count = max(1, size >> 22)
    args = ["dd", "if=/dev/zero", f"of={path}", "bs=4M", f"count={count}", "conv=fdatasync", "status=none"]
    for extra in (["oflag=direct"], []):
        cpu0, t0 = children_cpu(), time.time()
        if subprocess.run(args + extra, capture_output=True, timeout=600).returncode == 0:
            break
    else:
        raise RuntimeError("dd could not write into " + work)
    dt, cpu = time.time() - t0, children_cpu() - cpu0
    os.unlink(path)
    n = count << 22
    return n / dt / 1e6, cpu / (n / (1 << 30))


def sha256_per_cpu_second():
    """Single-core SHA-256 of 64 KiB blocks (OpenSSL through hashlib), MB per CPU second."""
    block = os.urandom(BLOCK)
    n = 4096
    t0 = time.process_time()
    for _ in range(n):
        hashlib.sha256(block).digest()
    return n * BLOCK / (time.process_time() - t0) / 1e6


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def baseline():
    out = subprocess.run(
        [os.path.join(BIN, "P2PBenchmark"), "--bytes", str(min(SIZE, 512 << 20)), "--idle-connections", "0",
         "--only", "mplex_1stream"], capture_output=True, text=True, timeout=600)
    for line in out.stdout.splitlines():
        try:
            o = json.loads(line)
        except ValueError:
            continue
        if o.get("name") == "p2p_throughput_noise_mplex_1stream":
            return o["value"], o.get("setup", ""), o["mb_per_cpu_second"]
    raise RuntimeError("P2PBenchmark printed no p2p_throughput_noise_mplex_1stream line:\n" + out.stdout + out.stderr)


def download(seeders, mode, cid, expect_sha):
    leech = Node(f"leech-{mode}-{len(seeders)}", level="info")
    try:
        for s in seeders:
            leech.connect(s)
        status, _ = get(leech.url + f"/data/{cid}/network/manifest")
        assert status == 200
        rss0 = leech.status("VmRSS")
        cpu0 = leech.cpu_seconds(), sum(s.cpu_seconds() for s in seeders)
        t0 = time.time()
        if mode == "stream":
            h = hashlib.sha256() if VERIFY else None
            n = 0
            with urllib.request.urlopen(leech.url + f"/data/{cid}/network/stream", timeout=900) as r:
                while True:
                    piece = r.read(1 << 20)
                    if not piece:
                        break
                    n += len(piece)
                    if h:
                        h.update(piece)
            assert n == SIZE, f"streamed {n} bytes, expected {SIZE}"
            if h:
                assert h.hexdigest() == expect_sha, "streamed bytes differ from the uploaded file"
        else:
            status, _ = post(leech.url + f"/data/{cid}/network")
            assert status == 200
            want = SIZE // BLOCK + 1  # every block and the manifest
            while leech.blocks() < want:
                if time.time() - t0 > 900:
                    raise RuntimeError("background download did not finish in 900 s")
                time.sleep(0.05)
        dt = time.time() - t0
        gib = SIZE / (1 << 30)
        cpu = ((leech.cpu_seconds() - cpu0[0]) / gib, (sum(s.cpu_seconds() for s in seeders) - cpu0[1]) / gib)
        return SIZE / dt / 1e6, dt, leech.status("VmHWM"), rss0, cpu
    except Exception:
        leech.log.flush()
        with open(os.path.join(work, os.path.basename(leech.dir) + ".log"), "rb") as f:
            log("leecher log tail:\n" + f.read()[-4000:].decode(errors="replace"))
        raise
    finally:
        leech.stop()


def random_file(path, size):
    """Writes `size` random bytes to `path`."""
    with open("/dev/urandom", "rb") as src, open(path, "wb") as dst:
        left = size
        while left:
            chunk = src.read(min(left, 4 << 20))
            dst.write(chunk)
            left -= len(chunk)


def upload(node, path):
    """Uploads the file at `path` to `node` with curl (streamed); returns the manifest CID."""
    out = subprocess.run(
        ["curl", "-sS", "-f", "-X", "POST", "-H", "Content-Type: application/octet-stream", "--upload-file", path,
         node.url + "/data"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def concurrent_streams(seeder, cids, part):
    """Streams every dataset of `cids` (each `part` bytes, all held by `seeder`) at once on one fresh leecher."""
    leech = Node("leech-concurrent", level="info")
    try:
        leech.connect(seeder)
        for c in cids:
            assert get(leech.url + f"/data/{c}/network/manifest")[0] == 200
        cpu0 = leech.cpu_seconds(), seeder.cpu_seconds()
        counts = []

        def one(c):
            n = 0
            with urllib.request.urlopen(leech.url + f"/data/{c}/network/stream", timeout=900) as r:
                while piece := r.read(1 << 20):
                    n += len(piece)
            counts.append(n)

        t0 = time.time()
        threads = [threading.Thread(target=one, args=(c,)) for c in cids]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        dt = time.time() - t0
        assert counts == [part] * len(cids), f"streamed {counts}, expected {part} each"
        gib = part * len(cids) / (1 << 30)
        cpu = (leech.cpu_seconds() - cpu0[0]) / gib, (seeder.cpu_seconds() - cpu0[1]) / gib
        return part * len(cids) / dt / 1e6, dt, leech.status("VmHWM"), cpu
    finally:
        leech.stop()


try:
    log(f"workdir {work}; load {loadavg()}")
    base, setup, transport_mb_per_cpu_s = baseline()
    emit({"name": "p2p_throughput_noise_mplex_1stream", "value": round(base, 1), "unit": "MB/s",
          "note": f"P2PBenchmark single stream, noise+mplex, loopback ({setup})", "loadavg": loadavg()})
    GIB_MB = (1 << 30) / 1e6
    disk_mb_s, disk_cpu = disk_write(SIZE)
    transport_cpu, sha_cpu = GIB_MB / transport_mb_per_cpu_s, GIB_MB / sha256_per_cpu_second()
    cores = len(os.sched_getaffinity(0))
    floor = transport_cpu + sha_cpu + disk_cpu
    cpu_ceiling = cores * GIB_MB / floor
    ceiling = min(disk_mb_s, cpu_ceiling)
    emit({"name": "blockexc_ceiling", "value": round(ceiling, 1), "unit": "MB/s",
          "bound_by": "disk" if disk_mb_s < cpu_ceiling else "cpu", "disk_write_mb_s": round(disk_mb_s, 1),
          "cpu_ceiling_mb_s": round(cpu_ceiling, 1), "cores": cores, "cpu_floor_s_per_gib": round(floor, 2),
          "transport_cpu_s_per_gib": round(transport_cpu, 2), "sha256_cpu_s_per_gib": round(sha_cpu, 2),
          "disk_write_cpu_s_per_gib": round(disk_cpu, 2),
          "baseline": "p2p_throughput_noise_mplex_1stream", "baseline_value": round(base, 1),
          "ratio": round(ceiling / base, 3), "loadavg": loadavg(),
          "note": "upper bound for a download that stores and checks its blocks here (disk, and cores / CPU floor)"})
    log(f"ceiling {ceiling:.1f} MB/s ({ceiling / base:.2f} of the raw stream): disk {disk_mb_s:.0f} MB/s, "
        f"{cores} cores / {floor:.2f} CPU-s per GiB = {cpu_ceiling:.0f} MB/s")
    data = os.path.join(work, "data.bin")
    random_file(data, SIZE)
    sha = None
    if VERIFY:
        h = hashlib.sha256()
        with open(data, "rb") as f:
            while chunk := f.read(4 << 20):
                h.update(chunk)
        sha = h.hexdigest()
    seeders = [Node(f"seed{i}") for i in range(4)]
    cids = {upload(s, data) for s in seeders}
    assert len(cids) == 1, cids
    cid = cids.pop()
    os.unlink(data)
    log(f"uploaded {SIZE >> 20} MiB to 4 seeders: {cid}")
    results = {}
    for rep in range(REPEATS):
        for n in (1, 4):
            for mode in ("stream", "background"):
                try:
                    mbps, dt, hwm, rss0, cpu = download(seeders[:n], mode, cid, sha)
                except Exception as e:
                    emit({"name": f"blockexc_{mode}_{n}seeder", "error": str(e)[:300], "repeat": rep + 1})
                    continue
                results.setdefault((n, mode), []).append(mbps)
                emit({"name": f"blockexc_{mode}_{n}seeder", "value": round(mbps, 1), "unit": "MB/s",
                      "bytes": SIZE, "seconds": round(dt, 2), "leecher_peak_rss_mb": round(hwm, 1),
                      "leecher_start_rss_mb": round(rss0, 1), "repeat": rep + 1,
                      "leecher_cpu_s_per_gib": round(cpu[0], 2), "seeders_cpu_s_per_gib": round(cpu[1], 2),
                      "baseline": "p2p_throughput_noise_mplex_1stream", "baseline_value": round(base, 1),
                      "ratio": round(mbps / base, 3), "loadavg": loadavg()})
                log(f"{mode} from {n} seeder(s): {mbps:.1f} MB/s in {dt:.1f} s, leecher peak RSS {hwm:.0f} MiB")
    # Four different datasets streamed at once from one seeder: more wants than one peer's in-flight slots.
    part = SIZE // 4
    extra = []
    for i in range(4):
        piece = os.path.join(work, f"part{i}.bin")
        random_file(piece, part)
        extra.append(upload(seeders[0], piece))
        os.unlink(piece)
    try:
        mbps, dt, hwm, cpu = concurrent_streams(seeders[0], extra, part)
        emit({"name": "blockexc_4streams_1seeder", "value": round(mbps, 1), "unit": "MB/s", "bytes": part * 4,
              "seconds": round(dt, 2), "leecher_peak_rss_mb": round(hwm, 1), "leecher_cpu_s_per_gib": round(cpu[0], 2),
              "seeders_cpu_s_per_gib": round(cpu[1], 2), "note": "4 different datasets of SIZE/4 streamed at once",
              "baseline": "p2p_throughput_noise_mplex_1stream", "baseline_value": round(base, 1),
              "ratio": round(mbps / base, 3), "loadavg": loadavg()})
        log(f"4 concurrent streams from 1 seeder: {mbps:.1f} MB/s in {dt:.1f} s, leecher peak RSS {hwm:.0f} MiB")
    except Exception as e:
        emit({"name": "blockexc_4streams_1seeder", "error": str(e)[:300]})
    for (n, mode), values in sorted(results.items()):
        values.sort()
        med = values[len(values) // 2]
        emit({"name": f"blockexc_{mode}_{n}seeder_summary", "value": round(med, 1), "unit": "MB/s",
              "min": round(values[0], 1), "max": round(values[-1], 1), "runs": len(values), "statistic": "median",
              "baseline": "p2p_throughput_noise_mplex_1stream", "baseline_value": round(base, 1),
              "ratio": round(med / base, 3), "ratio_to_ceiling": round(med / ceiling, 3)})
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    shutil.rmtree(work, ignore_errors=True)
PY
