#!/usr/bin/env bash
# Erasure coding on a real node process: upload, POST /data/{cid}/protect, download the protected manifest
# byte-identical (also after a restart), error statuses, and `codex protect`.
# The 3-node part (protect, lose a node, download through block exchange) waits for the block exchange.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=.venv-erasure-node
[ -x "$VENV/bin/pytest" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q "pytest==8.3.4" "requests==2.32.3"; }
: "${SWIFT_BIN_PATH:=$(swift build --show-bin-path)}"
export SWIFT_BIN_PATH
[ -x "$SWIFT_BIN_PATH/codex" ] || swift build --product codex
set +e
out=$(timeout 600 "$VENV/bin/pytest" -q -p no:cacheprovider tests/erasure-node "$@" 2>&1)
rc=$?
set -e
echo "$out"
passed=$( (echo "$out" | grep -oE '[0-9]+ passed' || true) | tail -1 | grep -oE '[0-9]+' || echo 0)
failed=$( (echo "$out" | grep -oE '[0-9]+ (failed|errors?)' || true) | awk '{s+=$1} END {print s+0}')
echo "${passed} passed, ${failed} failed"
[ "$rc" -eq 5 ] && { echo "no tests collected"; exit 1; }
exit "$rc"
