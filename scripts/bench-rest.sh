#!/usr/bin/env bash
# REST data-path benchmark for the swift-codex node (issue 2).
#
# Starts a node on a temporary data directory and measures, in one run, printing one JSON object per line:
#   dd_write          baseline: dd of zeros with conv=fdatasync, MB/s
#   dd_write_direct   second disk baseline: dd of zeros in 8 MiB O_DIRECT writes, MB/s. On this VM kind, buffered
#                     writes are throttled to 100-500 MB/s in some periods (kernel dirty-page throttling; dd is
#                     off-CPU, sleeping) while direct writes stay at ~1.5 GB/s, so dd_write is bimodal; this one
#                     tells which period a run was in. The node writes its pack bytes with O_DIRECT.
#   cache_read        baseline: reading the (cached) input file with dd to /dev/null, MB/s
#   sha256_1core      baseline: openssl speed -evp sha256 -bytes 65536, MB/s
#   rest_upload       POST /data of a random file with curl (streamed, -T), MB/s; target >= 70% of dd_write
#   rest_upload_node_cpu  CPU seconds (user + system) the node spent per GiB uploaded
#   rest_upload_rss   peak RSS of the node during the upload, MB; target < 150
#   rest_download     GET /data/{cid} with curl to /dev/null (warm repo), MB/s; target >= 1000 MB/s
#   rest_download_rss peak RSS of the node during the download, MB; target < 150
#   client_download   `codex download CID -o /dev/null`, MB/s (plus a byte-exact check through cmp)
#   client_upload     `codex upload FILE` after deleting the dataset, MB/s, and the node's peak RSS then (the node has
#                     done an upload, three downloads and a delete before: the RSS of a node that has been busy)
# MB = 10^6 bytes. Peak RSS: VmHWM after resetting it through /proc/PID/clear_refs, else polled VmRSS.
#
# Usage: scripts/bench-rest.sh [--bin PATH/TO/codex] [--size-mib N] [--port N] [--tmp DIR] [--no-client]
#                              [--node-arg ARG]... [--pin]
# --pin runs the node on CPU 1 and curl on CPU 0 (taskset), so the client's send copy does not compete with the
# node; without it both float over every core (the default, and what the issue's targets are judged on).
# Without --bin it builds `swift build -c release --product codex` in the repo's default .build directory.
# Exit status: 0 when the run completed (targets are reported, not enforced), non-zero on errors.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=""
SIZE_MIB=1024
PORT=""
TMP_PARENT="${TMPDIR:-/tmp}"
WITH_CLIENT=1
NODE_ARGS=()
PIN=0
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN="$2"; shift 2 ;;
    --size-mib) SIZE_MIB="$2"; shift 2 ;;
    --port) PORT="$2"; shift 2 ;;
    --tmp) TMP_PARENT="$2"; shift 2 ;;
    --no-client) WITH_CLIENT=0; shift ;;
    --node-arg) NODE_ARGS+=("$2"); shift 2 ;;
    --pin) PIN=1; shift ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "bench-rest: unknown argument $1" >&2; exit 64 ;;
  esac
done
NODE_PIN=()
CLIENT_PIN=()
if [ "$PIN" -eq 1 ]; then
  command -v taskset >/dev/null || { echo "bench-rest: --pin needs taskset" >&2; exit 69; }
  [ "$(nproc)" -ge 2 ] || { echo "bench-rest: --pin needs 2 CPUs" >&2; exit 69; }
  NODE_PIN=(taskset -c 1)
  CLIENT_PIN=(taskset -c 0)
fi
[[ "$SIZE_MIB" =~ ^[0-9]+$ ]] && [ "$SIZE_MIB" -ge 1 ] || { echo "bench-rest: --size-mib must be >= 1" >&2; exit 64; }

if [ -z "$BIN" ]; then
  echo "bench-rest: building release (swift build -c release --product codex)..." >&2
  swift build -c release --product codex >&2
  BIN="$(swift build -c release --show-bin-path)/codex"
fi
[ -x "$BIN" ] || { echo "bench-rest: $BIN is not an executable" >&2; exit 66; }
for tool in curl openssl dd awk cmp; do
  command -v "$tool" >/dev/null || { echo "bench-rest: needs $tool" >&2; exit 69; }
done

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
[ -n "$PORT" ] || PORT=$(free_port)
DISC_PORT=$(free_port)

WORK=$(mktemp -d "$TMP_PARENT/codex-bench.XXXXXX")
NODE_PID=""
SAMPLER_PID=""
cleanup() {
  [ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null || true
  if [ -n "$NODE_PID" ] && kill -0 "$NODE_PID" 2>/dev/null; then
    kill -TERM "$NODE_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$NODE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$NODE_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

BYTES=$((SIZE_MIB * 1048576))
API="http://127.0.0.1:$PORT"
BASE="$API/api/codex/v1"

now() { date +%s.%N; }
# mbps BYTES START END
mbps() { awk -v b="$1" -v s="$2" -v e="$3" 'BEGIN { d = e - s; if (d <= 0) d = 1e-9; printf "%.1f", b / d / 1e6 }'; }
# json KEY=VALUE... (values that look numeric or true/false are unquoted)
json() {
  local out="{" first=1 kv k v
  for kv in "$@"; do
    k=${kv%%=*}; v=${kv#*=}
    [ $first -eq 1 ] || out+=","
    first=0
    if [[ "$v" =~ ^-?[0-9]+(\.[0-9]+)?$ || "$v" == true || "$v" == false || "$v" == null ]]; then
      out+="\"$k\":$v"
    else
      out+="\"$k\":\"$v\""
    fi
  done
  echo "$out}"
}
ge() { awk -v a="$1" -v b="$2" 'BEGIN { print (a >= b) ? "true" : "false" }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b) ? "true" : "false" }'; }

# --- baselines -----------------------------------------------------------------------------------------
t0=$(now)
dd if=/dev/zero of="$WORK/dd.bin" bs=1M count="$SIZE_MIB" conv=fdatasync status=none
t1=$(now)
DD_RATE=$(mbps "$BYTES" "$t0" "$t1")
rm -f "$WORK/dd.bin"
json name=dd_write value="$DD_RATE" unit=MB/s size_mib="$SIZE_MIB"
t0=$(now)
dd if=/dev/zero of="$WORK/dd.bin" bs=8M count="$(( (SIZE_MIB + 7) / 8 ))" oflag=direct conv=fdatasync status=none
t1=$(now)
DD_DIRECT_RATE=$(mbps "$(( (SIZE_MIB + 7) / 8 * 8388608 ))" "$t0" "$t1")
rm -f "$WORK/dd.bin"
json name=dd_write_direct value="$DD_DIRECT_RATE" unit=MB/s size_mib="$SIZE_MIB"

SHA_RATE=$(openssl speed -evp sha256 -bytes 65536 -seconds 2 2>/dev/null \
  | awk '/^sha256/ || /^SHA256/ { v = $NF } END { sub(/k$/, "", v); if (v == "") v = 0; printf "%.1f", v * 1000 / 1e6 }')
json name=sha256_1core value="$SHA_RATE" unit=MB/s block_bytes=65536

echo "bench-rest: writing $SIZE_MIB MiB of random input..." >&2
head -c "$BYTES" /dev/urandom > "$WORK/input.bin"
# Flush the input now: otherwise the kernel writes its 1 GiB of dirty pages back during the upload, competing with
# the node's own writes to the same disk (it made upload runs vary by 2x).
sync "$WORK/input.bin" 2>/dev/null || sync
t0=$(now)
dd if="$WORK/input.bin" of=/dev/null bs=1M status=none
t1=$(now)
json name=cache_read value="$(mbps "$BYTES" "$t0" "$t1")" unit=MB/s size_mib="$SIZE_MIB"

# --- node ----------------------------------------------------------------------------------------------
mkdir -m 700 "$WORK/data"
QUOTA=$((BYTES * 3 + 1073741824))
${NODE_PIN[@]+"${NODE_PIN[@]}"} "$BIN" --data-dir "$WORK/data" --api-port "$PORT" --disc-port "$DISC_PORT" \
  --listen-addrs /ip4/127.0.0.1/tcp/0 --storage-quota "$QUOTA" ${NODE_ARGS[@]+"${NODE_ARGS[@]}"} \
  >"$WORK/node.log" 2>&1 &
NODE_PID=$!
for i in $(seq 300); do
  curl -sf "$BASE/space" >/dev/null 2>&1 && break
  if ! kill -0 "$NODE_PID" 2>/dev/null; then
    echo "bench-rest: node exited during start-up; log:" >&2; tail -30 "$WORK/node.log" >&2; exit 1
  fi
  [ "$i" -eq 300 ] && { echo "bench-rest: node API not ready after 30 s; log:" >&2; tail -30 "$WORK/node.log" >&2; exit 1; }
  sleep 0.1
done

# Peak RSS tracking: reset VmHWM when the kernel allows it, and poll VmRSS as a fallback.
rss_kb() { awk -v key="$1:" '$1 == key { print $2 }' "/proc/$NODE_PID/status" 2>/dev/null || echo 0; }
phase_start() {
  CLEARED=0
  if echo 5 > "/proc/$NODE_PID/clear_refs" 2>/dev/null; then CLEARED=1; fi
  : > "$WORK/rss.max"
  ( max=0; while :; do
      v=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$NODE_PID/status" 2>/dev/null || echo 0)
      [ -n "$v" ] && [ "$v" -gt "$max" ] && { max=$v; echo "$max" > "$WORK/rss.max"; }
      sleep 0.05
    done ) &
  SAMPLER_PID=$!
}
phase_peak_mb() {  # prints peak RSS in MB and the method
  kill "$SAMPLER_PID" 2>/dev/null || true; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=""
  local polled hwm kb method
  polled=$(cat "$WORK/rss.max" 2>/dev/null || echo 0); polled=${polled:-0}
  hwm=$(rss_kb VmHWM); hwm=${hwm:-0}
  if [ "$CLEARED" -eq 1 ] && [ "$hwm" -gt 0 ]; then kb=$hwm; method=VmHWM; else kb=$polled; method=polled_VmRSS; fi
  [ "$polled" -gt "$kb" ] && kb=$polled
  awk -v k="$kb" -v m="$method" 'BEGIN { printf "%.1f %s", k * 1024 / 1e6, m }'
}

# --- REST upload (curl streams the file with -T; POST, no Expect: 100-continue) --------------------------
# CPU seconds (user + system) the node spent, from /proc/PID/stat (fields 14, 15, in clock ticks).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$NODE_PID/stat" 2>/dev/null || echo 0; }
TICKS=$(getconf CLK_TCK)
phase_start
CPU0=$(cpu_ticks)
t0=$(now)
CID=$(${CLIENT_PIN[@]+"${CLIENT_PIN[@]}"} curl -sS --fail-with-body -X POST -H 'Expect:' \
  -T "$WORK/input.bin" "$BASE/data")
t1=$(now)
CPU1=$(cpu_ticks)
read -r UP_RSS UP_METHOD <<<"$(phase_peak_mb)"
UP_RATE=$(mbps "$BYTES" "$t0" "$t1")
UP_RATIO=$(awk -v a="$UP_RATE" -v b="$DD_RATE" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }')
json name=rest_upload value="$UP_RATE" unit=MB/s size_mib="$SIZE_MIB" pinned="$([ "$PIN" -eq 1 ] && echo true || echo false)" baseline=dd_write \
  baseline_value="$DD_RATE" ratio="$UP_RATIO" target=">= 0.70 x dd_write" pass="$(ge "$UP_RATIO" 0.70)" \
  ratio_to_dd_write_direct="$(awk -v a="$UP_RATE" -v b="$DD_DIRECT_RATE" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }')"
json name=rest_upload_node_cpu value="$(awk -v a="$CPU0" -v b="$CPU1" -v t="$TICKS" -v m="$SIZE_MIB" \
  'BEGIN { printf "%.2f", (b - a) / t / (m / 1024) }')" unit=cpu_s_per_GiB
json name=rest_upload_rss value="$UP_RSS" unit=MB method="$UP_METHOD" target="< 150 MB" pass="$(lt "$UP_RSS" 150)"
[[ "$CID" =~ ^[A-Za-z0-9]+$ ]] || { echo "bench-rest: upload did not return a CID: $CID" >&2; exit 1; }

# --- REST download (warm repo, to /dev/null) -----------------------------------------------------------
curl -sS --fail -o /dev/null "$BASE/data/$CID"  # warm-up pass
phase_start
t0=$(now)
GOT=$(${CLIENT_PIN[@]+"${CLIENT_PIN[@]}"} curl -sS --fail -o /dev/null -w '%{size_download}' "$BASE/data/$CID")
t1=$(now)
read -r DOWN_RSS DOWN_METHOD <<<"$(phase_peak_mb)"
[ "$GOT" = "$BYTES" ] || { echo "bench-rest: download returned $GOT bytes, expected $BYTES" >&2; exit 1; }
DOWN_RATE=$(mbps "$BYTES" "$t0" "$t1")
json name=rest_download value="$DOWN_RATE" unit=MB/s size_mib="$SIZE_MIB" target=">= 1000 MB/s" \
  pass="$(ge "$DOWN_RATE" 1000)"
json name=rest_download_rss value="$DOWN_RSS" unit=MB method="$DOWN_METHOD" target="< 150 MB" \
  pass="$(lt "$DOWN_RSS" 150)"

# --- the codex client ------------------------------------------------------------------------------------
if [ "$WITH_CLIENT" -eq 1 ]; then
  cmp -s "$WORK/input.bin" <("$BIN" download --api "$API" "$CID") \
    || { echo "bench-rest: downloaded bytes differ from the input" >&2; exit 1; }
  t0=$(now)
  "$BIN" download --api "$API" "$CID" -o /dev/null
  t1=$(now)
  json name=client_download value="$(mbps "$BYTES" "$t0" "$t1")" unit=MB/s size_mib="$SIZE_MIB" \
    baseline=rest_download baseline_value="$DOWN_RATE" verified=true
  "$BIN" delete --api "$API" "$CID"
  phase_start
  t0=$(now)
  CID2=$("$BIN" upload --api "$API" --no-filename "$WORK/input.bin")
  t1=$(now)
  read -r CUP_RSS CUP_METHOD <<<"$(phase_peak_mb)"
  CUP_RATE=$(mbps "$BYTES" "$t0" "$t1")
  json name=client_upload value="$CUP_RATE" unit=MB/s size_mib="$SIZE_MIB" baseline=rest_upload \
    baseline_value="$UP_RATE" node_peak_rss_mb="$CUP_RSS" node_peak_rss_target="< 150 MB" \
    node_peak_rss_pass="$(lt "$CUP_RSS" 150)" same_cid="$([ "$CID2" = "$CID" ] && echo true || echo false)"
fi
