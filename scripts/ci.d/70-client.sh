#!/usr/bin/env bash
# End-to-end test of the codex client subcommands (upload, download, list, space, delete) against a real
# node started from the built binary: byte-exact round trips for 1 B, 64 KiB-1, 64 KiB, 64 KiB+1 and 10 MiB,
# metadata headers, error exit codes (404, bad CID, unreachable node). Bounded in time; kills the node at the
# end. Needs $SWIFT_BIN_PATH/codex (exported by scripts/test.sh), curl and python3 (for free ports).
set -euo pipefail
cd "$(dirname "$0")/../.."

REAL_BIN="${SWIFT_BIN_PATH:-.build/debug}/codex"
BUDGET=${CLIENT_CI_TIMEOUT:-240}
if [ ! -x "$REAL_BIN" ]; then
  echo "70-client: $REAL_BIN not built"; echo "0 passed, 1 failed"; exit 1
fi
if ! "$REAL_BIN" help upload >/dev/null 2>&1; then
  echo "70-client: SKIPPED: $REAL_BIN has no client subcommands wired in yet"; echo "0 passed, 0 failed"; exit 0
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/codex-client-ci.XXXXXX")
NODE_PID=""
cleanup() {
  if [ -n "$NODE_PID" ] && kill -0 "$NODE_PID" 2>/dev/null; then
    kill -TERM "$NODE_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$NODE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$NODE_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
# Every client call is bounded by its own timeout.
BIN="$WORK/codex"
printf '#!/bin/sh\nexec timeout 60 "%s" "$@"\n' "$(cd "$(dirname "$REAL_BIN")" && pwd)/codex" > "$BIN"
chmod +x "$BIN"
# Bound the whole script: a watchdog that kills this shell (and, via the trap, the node) after $BUDGET s.
( sleep "$BUDGET"; echo "70-client: timed out after ${BUDGET}s" >&2; kill -TERM $$ 2>/dev/null ) &
WATCHDOG=$!
trap 'kill $WATCHDOG 2>/dev/null || true; cleanup' EXIT
trap 'exit 124' TERM INT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
PORT=$(free_port)
API="http://127.0.0.1:$PORT"
BASE="$API/api/codex/v1"
mkdir -m 700 "$WORK/data"
"$REAL_BIN" --data-dir "$WORK/data" --api-port "$PORT" --disc-port "$(free_port)" \
  --listen-addrs /ip4/127.0.0.1/tcp/0 >"$WORK/node.log" 2>&1 &
NODE_PID=$!
for i in $(seq 600); do
  curl -sf -m 30 "$BASE/space" >/dev/null 2>&1 && break
  if ! kill -0 "$NODE_PID" 2>/dev/null || [ "$i" -eq 600 ]; then
    echo "70-client: node did not start; log:"; tail -30 "$WORK/node.log"; echo "0 passed, 1 failed"; exit 1
  fi
  sleep 0.1
done

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL $1"; }
check() {  # check NAME COMMAND...
  local name=$1; shift
  if "$@"; then ok "$name"; else bad "$name"; fi
}
codex() { "$BIN" "$@" --api "$API"; }

declare -A CIDS
for size in 1 65535 65536 65537 10485760; do
  head -c "$size" /dev/urandom > "$WORK/in-$size"
  if cid=$(codex upload "$WORK/in-$size" 2>"$WORK/err"); then
    CIDS[$size]=$cid
    ok "upload $size B -> $cid"
  else
    bad "upload $size B: $(cat "$WORK/err")"; continue
  fi
  check "download -o $size B byte-exact" bash -c "'$BIN' download '$cid' -o '$WORK/out-$size' --api '$API' \
    && cmp -s '$WORK/in-$size' '$WORK/out-$size'"
  check "download to stdout $size B byte-exact" bash -c "'$BIN' download '$cid' --api '$API' | cmp -s - '$WORK/in-$size'"
  check "exists $size B" bash -c "curl -sf -m 30 '$BASE/data/$cid/exists' | grep -q true"
done

# Metadata headers reach the manifest.
printf 'some file contents' > "$WORK/hello.txt"
if cid=$(codex upload "$WORK/hello.txt" --mime text/plain --filename greeting.txt 2>"$WORK/err"); then
  ok "upload with --mime/--filename"
  check "list shows filename and mimetype" bash -c "'$BIN' list --api '$API' | grep '$cid' | grep greeting.txt | grep -q text/plain"
  check "download sends Content-Disposition" bash -c \
    "curl -m 30 -sfD - -o /dev/null '$BASE/data/$cid' | tr -d '\r' | grep -qi '^content-disposition: attachment; filename=\"greeting.txt\"'"
else
  bad "upload with --mime/--filename: $(cat "$WORK/err")"
fi
check "upload of an unknown MIME type fails with 422" bash -c \
  "! '$BIN' upload '$WORK/hello.txt' --mime application/x-no-such-type --api '$API' 2>'$WORK/err' && grep -q 422 '$WORK/err'"

check "list -q lists every upload" bash -c "n=\$('$BIN' list -q --api '$API' | wc -l); [ \"\$n\" -ge 6 ]"
check "space reports blocks" bash -c "'$BIN' space --json --api '$API' | grep -q '\"totalBlocks\":[1-9]'"
check "space table" bash -c "'$BIN' space --api '$API' | grep -q '^Quota:'"

# Delete, then the CID is gone.
if [ -n "${CIDS[65537]:-}" ]; then
  c=${CIDS[65537]}
  check "delete" codex delete "$c"
  check "list no longer has the deleted CID" bash -c "'$BIN' list -q --api '$API' > '$WORK/list' && ! grep -qx '$c' '$WORK/list'"
  check "download of a deleted CID exits 2 (404)" bash -c \
    "'$BIN' download '$c' --api '$API' >/dev/null 2>'$WORK/err'; [ \$? -eq 2 ] && grep -q 404 '$WORK/err'"
fi
check "download of an invalid CID fails with 400" bash -c \
  "! '$BIN' download not-a-cid --api '$API' >/dev/null 2>'$WORK/err' && grep -q 400 '$WORK/err'"
check "upload of a missing file exits 74" bash -c "'$BIN' upload '$WORK/nope' --api '$API' 2>/dev/null; [ \$? -eq 74 ]"
closed=$(free_port)
check "unreachable node exits 69 and names the URL" bash -c \
  "'$BIN' space --api http://127.0.0.1:$closed 2>'$WORK/err'; [ \$? -eq 69 ] && grep -q '127.0.0.1:$closed' '$WORK/err'"
check "node still running" kill -0 "$NODE_PID"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
