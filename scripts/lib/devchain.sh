# Sourced by scripts/ci.d steps that need a dev chain (60-market, 65-market-node).
#
# devchain_up LABEL OUT: builds the contracts into OUT/contracts with $DEVCHAIN_VENV's python (the caller has
# installed tools/devchain/requirements.txt there), starts tools/devchain on a free loopback port with 1 s blocks
# and waits (up to 120 s) for OUT/devchain.json. Sets chain_pid and an EXIT trap that stops the chain. On failure
# prints the chain's log tail and the step's "0 passed, 1 failed" line and exits 1.
devchain_up() {
  local label=$1 out=$2
  timeout 120 "$DEVCHAIN_VENV/bin/python" contracts/build.py "$out/contracts" >/dev/null
  rm -f "$out/devchain.json"
  # Started directly (not through tools/devchain/start, which keeps its own requirements marker in the venv).
  (cd tools/devchain && exec "$DEVCHAIN_VENV/bin/python" -m devchain --port 0 --block-time 1 \
    --artifacts "$PWD/../../$out/contracts" --out "$PWD/../../$out/devchain.json") >"$out/devchain.log" 2>&1 &
  chain_pid=$!
  trap 'kill "$chain_pid" 2>/dev/null || true; wait "$chain_pid" 2>/dev/null || true' EXIT
  for _ in $(seq 1 240); do
    [ -f "$out/devchain.json" ] && return 0
    kill -0 "$chain_pid" 2>/dev/null || break
    sleep 0.5
  done
  echo "$label: dev chain did not start"
  tail -20 "$out/devchain.log" || true
  echo "0 passed, 1 failed"
  exit 1
}
