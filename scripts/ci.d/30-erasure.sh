#!/usr/bin/env bash
# CodexErasure second oracle: parity from our Leopard codec vs the Python package reed-solomon-leopard
# (Rust reed-solomon-simd, always GF(2^16)), which is byte-identical to Leopard on Leopard's GF(2^16) path and
# for M = 1 (erasure.md §5). Random data, shapes beyond the golden vectors. Then a short benchmark smoke run.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=.venv-erasure
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import reed_solomon_leopard" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "reed-solomon-leopard==0.2.1"
fi
: "${SWIFT_BIN_PATH:=$(swift build --show-bin-path)}"
BIN="$SWIFT_BIN_PATH/ErasureBenchmark"
[ -x "$BIN" ] || swift build --product ErasureBenchmark
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$VENV/bin/python" - "$BIN" "$TMP" <<'PY'
import os, random, subprocess, sys
import reed_solomon_leopard as rsl

bin_path, tmp = sys.argv[1], sys.argv[2]

def next_pow2(x):
    p = 1
    while p < x:
        p <<= 1
    return p

def gf16_path(k, m):
    return m == 1 or next_pow2(next_pow2(m) + k) > 256

rng = random.Random(20261125)
shapes = [(255, 2), (129, 127), (200, 100), (300, 200), (1000, 1000), (3000, 17), (9, 1), (700, 1), (257, 256)]
while len(shapes) < 30:
    k = rng.randint(130, 2000)
    m = rng.randint(1, min(k, 600))
    if gf16_path(k, m):
        shapes.append((k, m))
passed = failed = 0
for k, m in shapes:
    size = 64 * rng.choice([1, 2, 3])
    data = [rng.randbytes(size) for _ in range(k)]
    with open(os.path.join(tmp, "in.bin"), "wb") as f:
        f.write(b"".join(data))
    out = os.path.join(tmp, "out.bin")
    r = subprocess.run([bin_path, "--encode-file", str(k), str(m), os.path.join(tmp, "in.bin"), out],
                       capture_output=True, text=True, timeout=300)
    expected = b"".join(bytes(p) for p in rsl.encode(data, m))
    ok = r.returncode == 0 and open(out, "rb").read() == expected
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"MISMATCH K={k} M={m} shard={size} rc={r.returncode} {r.stderr.strip()}")
print(f"oracle: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
oracle_rc=$?
bench_ok=0
if "$BIN" --quick > "$TMP/bench.jsonl"; then
  n=$(grep -c '"name"' "$TMP/bench.jsonl" || true)
  [ "$n" -ge 20 ] && bench_ok=1
fi
passed=0
failed=0
[ "$oracle_rc" -eq 0 ] && passed=$((passed + 1)) || failed=$((failed + 1))
[ "$bench_ok" -eq 1 ] && passed=$((passed + 1)) || failed=$((failed + 1))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
