#!/usr/bin/env bash
# Block-exchange interop: a py-libp2p 0.8.1 peer (tests/blockexc-interop/py_blockexc_peer.py) dials a Swift node
# running the CodexExchange engine and fetches leaf 0 of the "some file contents" dataset with want-have and
# want-block over /codex/blockexc/1.0.0, checking the bytes, the block hash and the Merkle proof.
# The Swift side is the test LibP2PExchangeTests/pyLibp2pInterop, enabled by BLOCKEXC_INTEROP_PYTHON.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=.venv-blockexc
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import libp2p" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "libp2p==0.8.1"
fi
export BLOCKEXC_INTEROP_PYTHON="$PWD/$VENV/bin/python"
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
set +e
if [ -n "${SWIFT_BIN_PATH:-}" ]; then
  timeout 600 swift test --skip-build --filter 'LibP2PExchangeTests' >"$LOG" 2>&1
else
  timeout 1200 swift test --filter 'LibP2PExchangeTests' >"$LOG" 2>&1
fi
rc=$?
set -e
grep -E '"event": "result"|"event": "done"|✘|error:' "$LOG" | head -40 || true
passed=$(grep -c '"event": "result", "ok": true' "$LOG" || true)
failed=$(grep -c '"event": "result", "ok": false' "$LOG" || true)
if [ "$rc" -ne 0 ] || ! grep -q '"event": "done", "ok": true' "$LOG"; then
  tail -30 "$LOG"
  echo "$passed passed, $((failed + 1)) failed"
  exit 1
fi
echo "$passed passed, $failed failed"
