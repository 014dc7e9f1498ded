#!/usr/bin/env bash
# Verifiable manifests through a running node (issue 5 item 6): upload -> protect -> POST /data/{cid}/verifiable,
# GET /data shows slotRoots/verifyRoot/cellSize, the call is idempotent on the verifiable manifest, bad input gets
# 400/404/422, and `codex verifiable CID` (when the subcommand is registered) prints the same CID.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${SWIFT_BIN_PATH:=$(swift build --show-bin-path)}"
BIN="$SWIFT_BIN_PATH/codex"
[ -x "$BIN" ] || swift build --product codex
PASSED=0
FAILED=0
check() {  # name, condition result (0 = ok)
  if [ "$2" -eq 0 ]; then PASSED=$((PASSED + 1)); echo "ok   $1"; else FAILED=$((FAILED + 1)); echo "FAIL $1"; fi
}
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
PORT=$(free_port)
DISC=$(free_port)
WORK=$(mktemp -d)
NODE_PID=""
cleanup() {
  if [ -n "$NODE_PID" ]; then kill -TERM "$NODE_PID" 2>/dev/null || true; wait "$NODE_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -m 700 "$WORK/data"
"$BIN" --data-dir "$WORK/data" --api-port "$PORT" --disc-port "$DISC" --listen-addrs /ip4/127.0.0.1/tcp/0 \
  >"$WORK/node.log" 2>&1 &
NODE_PID=$!
BASE="http://127.0.0.1:$PORT/api/codex/v1"
for i in $(seq 300); do
  curl -sf "$BASE/space" >/dev/null 2>&1 && break
  [ "$i" -eq 300 ] && { echo "node did not start"; tail -20 "$WORK/node.log"; echo "0 passed, 1 failed"; exit 1; }
  sleep 0.1
done

head -c $((5 * 65536 - 1000)) /dev/urandom >"$WORK/in.bin"
CID=$(timeout 60 curl -sS --fail -X POST -H 'Expect:' -T "$WORK/in.bin" "$BASE/data")
PROT=$(timeout 120 curl -sS --fail -X POST "$BASE/data/$CID/protect")
VER=$(timeout 300 curl -sS --fail -X POST "$BASE/data/$PROT/verifiable")
t() { if "$@"; then echo 0; else echo 1; fi; }
check "POST /verifiable answers a CID" "$(t grep -Eq '^z[A-Za-z0-9]+$' <<<"$VER")"

timeout 30 curl -sS --fail "$BASE/data" >"$WORK/list.json"
cat >"$WORK/check.py" <<'PY'
import json, sys
items = {i["cid"]: i["manifest"] for i in json.load(open(sys.argv[1]))["content"]}
v, p = items[sys.argv[2]], items[sys.argv[3]]
assert v["protected"] and v["verifiable"] is True, v
assert len(v["slotRoots"]) == 3 and v["verifyRoot"].startswith("z") and v["cellSize"] == 2048, v
assert p["verifiable"] is False and "slotRoots" not in p and "verifyRoot" not in p, p
PY
check "GET /data shows slotRoots, verifyRoot, cellSize only for the verifiable manifest" \
  "$(t python3 "$WORK/check.py" "$WORK/list.json" "$VER" "$PROT")"

AGAIN=$(timeout 300 curl -sS --fail -X POST "$BASE/data/$VER/verifiable")
check "POST /verifiable on the verifiable manifest answers the same CID" "$(t [ "$AGAIN" = "$VER" ])"

code() { curl -s -o /dev/null -w '%{http_code}' -X POST "$BASE/data/$1/verifiable"; }
check "plain manifest -> 422" "$(t [ "$(code "$CID")" = 422 ])"
check "bad CID -> 400" "$(t [ "$(code not-a-cid)" = 400 ])"
head -c 1000 /dev/urandom >"$WORK/gone.bin"
GONE=$(timeout 60 curl -sS --fail -X POST -H 'Expect:' -T "$WORK/gone.bin" "$BASE/data")
curl -sS --fail -X DELETE "$BASE/data/$GONE" >/dev/null
check "deleted manifest -> 404" "$(t [ "$(code "$GONE")" = 404 ])"

if "$BIN" verifiable --help >/dev/null 2>&1; then
  OUT=$(timeout 300 "$BIN" verifiable --api "http://127.0.0.1:$PORT" "$PROT" || true)
  check "codex verifiable CID prints the verifiable manifest CID" "$(t [ "$OUT" = "$VER" ])"
else
  echo "skip codex verifiable (subcommand not registered)"
fi
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
