#!/usr/bin/env bash
# Slot-building benchmark for the swift-codex node (issue 5): in one run, one JSON object per line:
#   poseidon2_permutation_1core  ProofsBenchmark --quick's permutation figure (us/perm, perms_per_sec), if the
#                                ProofsBenchmark executable sits beside `codex`; target <= 4 us
#   rest_space_idle              p50/p99 latency of GET /space at 20 requests per second, node idle (baseline)
#   slots_build_allcores         POST /data/{cid}/verifiable on a protected dataset of --size-mib MiB, MB/s
#   rest_space_during_slots      p50/p99 of GET /space at 20 rps while slots_build_allcores runs;
#                                target p99 <= 3 x idle p99 and < 50 ms
#   slots_build_1core            the same build with the node restarted under `taskset -c 0`, MB/s
# The dataset is protected with nodes=4 tolerance=2 (K = M = 2), so a 256 MiB protected dataset is a 128 MiB upload
# and its 4 slots need no padding. MB = 10^6 bytes of the protected dataset.
#
# Usage: scripts/bench-proofs-latency.sh [--bin PATH/TO/codex] [--size-mib N] [--tmp DIR] [--no-1core]
# Without --bin it builds `swift build -c release --product codex` (and ProofsBenchmark).
# Exit status: 0 when the run completed (targets are reported, not enforced), non-zero on errors.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=""
SIZE_MIB=256
TMP_PARENT="${TMPDIR:-/tmp}"
ONE_CORE=1
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN="$2"; shift 2 ;;
    --size-mib) SIZE_MIB="$2"; shift 2 ;;
    --tmp) TMP_PARENT="$2"; shift 2 ;;
    --no-1core) ONE_CORE=0; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "bench-proofs-latency: unknown argument $1" >&2; exit 64 ;;
  esac
done
[[ "$SIZE_MIB" =~ ^[0-9]+$ ]] && [ "$SIZE_MIB" -ge 4 ] && [ $((SIZE_MIB % 4)) -eq 0 ] \
  || { echo "bench-proofs-latency: --size-mib must be a multiple of 4, >= 4" >&2; exit 64; }
if [ -z "$BIN" ]; then
  echo "bench-proofs-latency: building release..." >&2
  swift build -c release --product codex >&2
  swift build -c release --product ProofsBenchmark >&2 || true
  BIN="$(swift build -c release --show-bin-path)/codex"
fi
[ -x "$BIN" ] || { echo "bench-proofs-latency: $BIN is not an executable" >&2; exit 66; }
for tool in curl python3 taskset; do
  command -v "$tool" >/dev/null || { echo "bench-proofs-latency: needs $tool" >&2; exit 69; }
done

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
PORT=$(free_port)
DISC_PORT=$(free_port)
WORK=$(mktemp -d "$TMP_PARENT/codex-bench-slots.XXXXXX")
NODE_PID=""
stop_node() {
  if [ -n "$NODE_PID" ] && kill -0 "$NODE_PID" 2>/dev/null; then
    kill -TERM "$NODE_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$NODE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$NODE_PID" 2>/dev/null || true
  fi
  NODE_PID=""
}
cleanup() { stop_node; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

API="http://127.0.0.1:$PORT"
BASE="$API/api/codex/v1"
PROTECTED_BYTES=$((SIZE_MIB * 1048576))
UPLOAD_BYTES=$((PROTECTED_BYTES / 2))

start_node() {  # [prefix command...]
  "$@" "$BIN" --data-dir "$WORK/data" --api-port "$PORT" --disc-port "$DISC_PORT" \
    --listen-addrs /ip4/127.0.0.1/tcp/0 --storage-quota $((PROTECTED_BYTES * 2 + 1073741824)) \
    >>"$WORK/node.log" 2>&1 &
  NODE_PID=$!
  for i in $(seq 300); do
    curl -sf "$BASE/space" >/dev/null 2>&1 && return 0
    kill -0 "$NODE_PID" 2>/dev/null || { echo "node exited; log:" >&2; tail -30 "$WORK/node.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "bench-proofs-latency: node API not ready after 30 s" >&2
  exit 1
}

# Latency probe: GET /space at 20 rps on a keep-alive connection, until the stop file appears (or for N seconds).
cat > "$WORK/probe.py" <<'PY'
import http.client, json, os, sys, time
port, stop_file, seconds, name = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), sys.argv[4]
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
lat = []
start = time.monotonic()
n = 0
while True:
    t = start + n * 0.05
    now = time.monotonic()
    if t > now:
        time.sleep(t - now)
    if (seconds > 0 and time.monotonic() - start >= seconds) or (seconds <= 0 and os.path.exists(stop_file)):
        break
    t0 = time.perf_counter()
    try:
        conn.request("GET", "/api/codex/v1/space")
        r = conn.getresponse()
        r.read()
        ok = r.status == 200
    except Exception:
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        ok = False
    lat.append((time.perf_counter() - t0) * 1000 if ok else float("inf"))
    n += 1
lat.sort()
def pct(p):
    return lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float("nan")
print(json.dumps({"name": name, "p50_ms": round(pct(0.50), 3), "p99_ms": round(pct(0.99), 3),
                  "max_ms": round(lat[-1], 3) if lat else None, "requests": len(lat),
                  "failed": sum(1 for x in lat if x == float("inf")), "rate_rps": 20}))
PY

# --- permutation speed (ProofsBenchmark beside codex) -----------------------------------------------------
PB="$(dirname "$BIN")/ProofsBenchmark"
if [ -x "$PB" ]; then
  "$PB" --quick 2>/dev/null | grep '"poseidon2_permutation' || true
else
  echo "bench-proofs-latency: $PB not built; skipping the permutation figure" >&2
fi

# --- dataset ------------------------------------------------------------------------------------------------
mkdir -m 700 "$WORK/data"
start_node
head -c "$UPLOAD_BYTES" /dev/urandom > "$WORK/input.bin"
CID=$(curl -sS --fail-with-body -X POST -H 'Expect:' -T "$WORK/input.bin" "$BASE/data")
rm -f "$WORK/input.bin"
PROTECTED=$(curl -sS --fail-with-body -X POST -H 'Content-Type: application/json' \
  -d '{"nodes": 4, "tolerance": 2}' "$BASE/data/$CID/protect")
echo "bench-proofs-latency: protected $PROTECTED ($SIZE_MIB MiB)" >&2

# --- idle baseline ------------------------------------------------------------------------------------------
IDLE=$(python3 "$WORK/probe.py" "$PORT" "$WORK/none" 15 rest_space_idle)
echo "$IDLE"
IDLE_P99=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["p99_ms"])' "$IDLE")

# --- slot building on all cores, with the latency probe running ------------------------------------------------
build() {  # name -> prints JSON, sets VERIFIABLE
  local t0 t1
  t0=$(date +%s.%N)
  VERIFIABLE=$(curl -sS --fail-with-body -X POST "$BASE/data/$PROTECTED/verifiable")
  t1=$(date +%s.%N)
  python3 -c 'import json,sys; b,t0,t1,n,c=sys.argv[1:]; d=float(t1)-float(t0)
print(json.dumps({"name": n, "value": round(int(b)/d/1e6, 2), "unit": "MB/s", "seconds": round(d, 2),
  "protected_mib": int(b)//1048576, "cores": int(c)}))' "$PROTECTED_BYTES" "$t0" "$t1" "$1" "$2"
}
rm -f "$WORK/stop"
python3 "$WORK/probe.py" "$PORT" "$WORK/stop" 0 rest_space_during_slots > "$WORK/during.json" &
PROBE_PID=$!
sleep 1
build slots_build_allcores "$(nproc)"
touch "$WORK/stop"
wait "$PROBE_PID"
python3 - "$WORK/during.json" "$IDLE_P99" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
idle = float(sys.argv[2])
d["baseline"] = "rest_space_idle"
d["baseline_p99_ms"] = idle
d["ratio_p99"] = round(d["p99_ms"] / idle, 2) if idle > 0 else None
d["target"] = "p99 <= 3 x idle p99 and < 50 ms"
d["pass"] = d["p99_ms"] <= 3 * idle and d["p99_ms"] < 50
print(json.dumps(d))
PY
curl -sS --fail "$BASE/data/$VERIFIABLE/network/manifest" >"$WORK/manifest.json" \
  || curl -sS --fail "$BASE/data" >"$WORK/manifest.json"
grep -q '"verifyRoot"' "$WORK/manifest.json" || { echo "bench-proofs-latency: no verifyRoot in the manifest" >&2; exit 1; }

# --- slot building on one core --------------------------------------------------------------------------------
if [ "$ONE_CORE" -eq 1 ]; then
  stop_node
  start_node taskset -c 0
  FIRST=$VERIFIABLE
  build slots_build_1core 1
  [ "$VERIFIABLE" = "$FIRST" ] || { echo "bench-proofs-latency: 1-core build gave $VERIFIABLE, not $FIRST" >&2; exit 1; }
fi
