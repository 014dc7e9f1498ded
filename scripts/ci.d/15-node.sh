#!/usr/bin/env bash
# Multi-process node tests: REST round trips of 1 GiB through a real node process, SIGTERM shutdown, and
# SIGKILL crash consistency during uploads and deletes.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=.venv-node
[ -x "$VENV/bin/pytest" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q "pytest==8.3.4" "requests==2.32.3"; }
: "${SWIFT_BIN_PATH:=$(swift build --show-bin-path)}"
export SWIFT_BIN_PATH
[ -x "$SWIFT_BIN_PATH/codex" ] || swift build --product codex
set +e
"$VENV/bin/pytest" -q -p no:cacheprovider tests/node "$@"
rc=$?
set -e
[ "$rc" -eq 5 ] && { echo "no tests collected"; exit 1; }
exit "$rc"
