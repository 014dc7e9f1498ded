#!/usr/bin/env bash
# Installs what is missing, builds the node (release) and starts it with the default data dir (~/.cache/codex).
# Extra arguments go to `codex`, e.g. scripts/run-node.sh --api-port 8081 --storage-quota 50GiB
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"
scripts/install-deps.sh
swift build -c release --product codex
exec "$(swift build -c release --show-bin-path)/codex" "$@"
