#!/usr/bin/env bash
# libp2p interop: the Swift P2PInteropPeer against py-libp2p 0.8.1 and go-libp2p (PyPI libp2p-go 0.1.4)
# on 127.0.0.1, multi-process. Each Python peer lives in its own virtualenv (their import names clash).
set -euo pipefail
cd "$(dirname "$0")/../.."

PY_VENV=.venv-libp2p-py
GO_VENV=.venv-libp2p-go
PYTHON=${PYTHON:-python3}

setup_venv() { # dir, packages...
  local dir=$1
  shift
  if [ ! -x "$dir/bin/python" ] || ! "$dir/bin/python" -c "import libp2p" >/dev/null 2>&1; then
    rm -rf "$dir"
    "$PYTHON" -m venv "$dir"
    timeout 600 "$dir/bin/pip" install -q --disable-pip-version-check "$@"
  fi
}

py_ok=1
go_ok=1
setup_venv "$PY_VENV" "libp2p==0.8.1" || py_ok=0
setup_venv "$GO_VENV" "libp2p-go==0.1.4" "multiaddr==0.0.9" || go_ok=0

PEER=""
if [ -n "${SWIFT_BIN_PATH:-}" ] && [ -x "$SWIFT_BIN_PATH/P2PInteropPeer" ]; then
  PEER="$SWIFT_BIN_PATH/P2PInteropPeer"
else
  swift build --product P2PInteropPeer >/dev/null
  PEER="$(swift build --show-bin-path)/P2PInteropPeer"
fi

args=(--swift-peer "$PEER")
[ "$py_ok" = 1 ] && args+=(--py-python "$PY_VENV/bin/python")
[ "$go_ok" = 1 ] && args+=(--go-python "$GO_VENV/bin/python")

status=0
timeout 1200 "$PYTHON" Tests/interop/libp2p/run_interop.py "${args[@]}" || status=$?
if [ "$py_ok" = 0 ] || [ "$go_ok" = 0 ]; then
  echo "virtualenv setup failed (py: $py_ok, go: $go_ok)"
  echo "0 passed, 1 failed"
  exit 1
fi
exit $status
