#!/usr/bin/env bash
# CodexMarket on a real EVM: starts tools/devchain (eth-tester + py-evm JSON-RPC on loopback), runs the Swift
# client's integration lifecycle (MarketBenchmark integration: deploy, request, reserve, fill, proofs, a missed
# proof slashed by a third account, payouts, balances vs. formulas, typed errors) and a short benchmark smoke.
# Own virtualenv .venv-market/, own outputs under .build-market/. Bounded in time; final "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/../.."

BUDGET=${MARKET_CI_TIMEOUT:-480}
OUT=.build-market
passed=0
failed=0

if [ ! -x tools/devchain/start ] || [ ! -f contracts/build.py ]; then
  echo "market: tools/devchain or contracts/ is absent; SKIPPING the dev-chain integration test"
  echo "0 passed, 0 failed"
  exit 0
fi

dpkg -s libsecp256k1-dev >/dev/null 2>&1 || apt-get install -y -qq libsecp256k1-dev

BIN=${SWIFT_BIN_PATH:-}
if [ -z "$BIN" ] || [ ! -x "$BIN/MarketBenchmark" ]; then
  swift build --product MarketBenchmark >/dev/null
  BIN=$(swift build --show-bin-path)
fi

mkdir -p "$OUT/contracts"
export DEVCHAIN_VENV="$PWD/.venv-market"
# First use creates the venv with the dev chain's pinned requirements (tools/devchain/start does the same).
if [ ! -x "$DEVCHAIN_VENV/bin/python" ]; then python3 -m venv "$DEVCHAIN_VENV"; fi
if ! cmp -s tools/devchain/requirements.txt "$DEVCHAIN_VENV/.requirements.txt" 2>/dev/null; then
  timeout 300 "$DEVCHAIN_VENV/bin/pip" install -q --disable-pip-version-check -r tools/devchain/requirements.txt
  cp tools/devchain/requirements.txt "$DEVCHAIN_VENV/.requirements.txt"
fi
. scripts/lib/devchain.sh
devchain_up market "$OUT"

log=$(mktemp)
set +e
timeout --kill-after=10 "$BUDGET" "$BIN/MarketBenchmark" integration --devchain-json "$OUT/devchain.json" \
  --artifacts "$OUT/contracts" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
p=$(grep -c '^PASS ' "$log" || true)
f=$(grep -c '^FAIL ' "$log" || true)
passed=$((passed + p))
failed=$((failed + f))
if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); fi

# Benchmark smoke: 4 concurrent senders must leave no nonce gap; fillSlot -> SlotFilled must arrive.
set +e
timeout --kill-after=10 120 "$BIN/MarketBenchmark" bench --devchain-json "$OUT/devchain.json" \
  --artifacts "$OUT/contracts" --seconds 2 --fills 2 2>&1 | tee "$log"
brc=${PIPESTATUS[0]}
set -e
if [ "$brc" -eq 0 ] && grep -q '"market.fillSlot_to_SlotFilled.median"' "$log"; then
  passed=$((passed + 1))
else
  echo "FAIL benchmark smoke (exit $brc)"
  failed=$((failed + 1))
fi
rm -f "$log"

echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
