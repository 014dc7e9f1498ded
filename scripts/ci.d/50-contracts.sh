#!/usr/bin/env bash
# Marketplace contracts (Vyper) + dev chain: build and test on a real EVM.
# Creates .venv-contracts/ (pinned deps from contracts/requirements.txt),
# compiles contracts/src/*.vy into .build-contracts/, runs the pytest suites of
# contracts/tests and tools/devchain/tests. Bounded in time; prints a final
# "N passed, N failed" line. pytest's exit code 5 (no tests) counts as failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=${CONTRACTS_VENV:-.venv-contracts}
BUDGET=${CONTRACTS_CI_TIMEOUT:-600}
PY=${PYTHON:-python3}
# setup failures (venv, pip, compile) still end with the summary line
trap 'echo "contracts: setup failed"; echo "0 passed, 1 failed"' ERR

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
if ! cmp -s contracts/requirements.txt "$VENV/.requirements.txt" 2>/dev/null; then
  timeout 600 "$VENV/bin/pip" install -q --disable-pip-version-check -r contracts/requirements.txt
  cp contracts/requirements.txt "$VENV/.requirements.txt"
fi

timeout 300 "$VENV/bin/python" contracts/build.py .build-contracts

suites=(contracts/tests)
[ -d tools/devchain/tests ] && suites+=(tools/devchain/tests)

trap - ERR
log=$(mktemp)
set +e
timeout --kill-after=20 "$BUDGET" "$VENV/bin/python" -m pytest -q -p no:cacheprovider \
  "${suites[@]}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e

passed=$(grep -Eo '[0-9]+ passed' "$log" | tail -1 | grep -Eo '[0-9]+' || true)
failed=$(grep -Eo '[0-9]+ (failed|error|errors)' "$log" | awk '{s+=$1} END {print s+0}' || true)
passed=${passed:-0}
failed=${failed:-0}
rm -f "$log"
if [ "$rc" -eq 5 ]; then
  echo "contracts: pytest collected no tests"
  rc=1
fi
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
  echo "contracts: pytest exceeded ${BUDGET}s"
fi
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1
fi
echo "${passed} passed, ${failed} failed"
exit "$rc"
