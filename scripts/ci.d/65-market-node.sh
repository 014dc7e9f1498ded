#!/usr/bin/env bash
# Node + marketplace, multi-process: starts tools/devchain (eth-tester + py-evm JSON-RPC on loopback, contracts
# deployed) and runs tests/market-node against real `codex ... persistence` processes: /debug/info shows the chain,
# the account derived from the key and the balances the dev chain funded; an unreachable provider, an address without
# code and a 0644 key file each stop start-up with a clear message. Own virtualenv .venv-market-node/, own outputs
# under .build-market-node/. Bounded in time; final line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/../.."

BUDGET=${MARKET_NODE_CI_TIMEOUT:-300}
OUT=.build-market-node

if [ ! -x tools/devchain/start ] || [ ! -f contracts/build.py ]; then
  echo "market-node: tools/devchain or contracts/ is absent; SKIPPING"
  echo "0 passed, 0 failed"
  exit 0
fi

dpkg -s libsecp256k1-dev >/dev/null 2>&1 || apt-get install -y -qq libsecp256k1-dev

: "${SWIFT_BIN_PATH:=$(swift build --show-bin-path)}"
export SWIFT_BIN_PATH
[ -x "$SWIFT_BIN_PATH/codex" ] || swift build --product codex >/dev/null

mkdir -p "$OUT/contracts"
export DEVCHAIN_VENV="$PWD/.venv-market-node"
if [ ! -x "$DEVCHAIN_VENV/bin/python" ]; then python3 -m venv "$DEVCHAIN_VENV"; fi
want=$(cat tools/devchain/requirements.txt; echo "pytest==8.3.4")
if [ "$want" != "$(cat "$DEVCHAIN_VENV/.requirements.txt" 2>/dev/null)" ]; then
  timeout 300 "$DEVCHAIN_VENV/bin/pip" install -q --disable-pip-version-check -r tools/devchain/requirements.txt \
    "pytest==8.3.4"
  # tools/devchain/start reinstalls when its copy differs; keep its marker too.
  cp tools/devchain/requirements.txt "$DEVCHAIN_VENV/.requirements.txt.devchain"
  echo "$want" >"$DEVCHAIN_VENV/.requirements.txt"
fi
. scripts/lib/devchain.sh
devchain_up market-node "$OUT"

export MARKET_NODE_DEVCHAIN_JSON="$PWD/$OUT/devchain.json"
log=$(mktemp)
set +e
timeout --kill-after=10 "$BUDGET" "$DEVCHAIN_VENV/bin/pytest" -q -p no:cacheprovider -rA tests/market-node "$@" \
  2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
passed=$(grep -cE '^PASSED ' "$log" || true)
failed=$(grep -cE '^(FAILED|ERROR) ' "$log" || true)
rm -f "$log"
if [ "$rc" -eq 5 ]; then
  echo "market-node: no tests collected"
  failed=$((failed + 1))
elif [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "market-node: pytest exited with $rc"
  failed=$((failed + 1))
fi
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
