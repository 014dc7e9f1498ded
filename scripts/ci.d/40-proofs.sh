#!/usr/bin/env bash
# CodexProofs: smoke run of the ProofsBenchmark executable (--quick, bounded by time) and a check that it prints
# well-formed JSON lines with positive values (or a "skipped" reason where this CPU lacks the feature measured).
# The golden-vector tests themselves run in `swift test`.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${SWIFT_BIN_PATH:=$(swift build --show-bin-path)}"
BIN="$SWIFT_BIN_PATH/ProofsBenchmark"
[ -x "$BIN" ] || swift build --product ProofsBenchmark
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
timeout 300 "$BIN" --quick >"$OUT"
cat "$OUT"
python3 - "$OUT" <<'PY'
import json, sys
expected = {"poseidon2_permutation_1core", "fr_mul_1core", "fr_mul_2chains_1core", "block_digest_tree_1core",
            "block_digest_tree_allcores_wall", "sha256_baseline_1core"}
passed = failed = 0
seen = set()
for line in open(sys.argv[1]):
    try:
        obj = json.loads(line)
        # A measurement this CPU cannot make (no AVX-512 IFMA) is a line with a "skipped" reason and value 0.
        measured = obj.get("value", 0) > 0 or (isinstance(obj.get("skipped"), str) and obj["skipped"] != "")
        ok = isinstance(obj.get("name"), str) and measured and isinstance(obj.get("unit"), str)
    except ValueError:
        ok = False
    if ok:
        seen.add(obj["name"])
        passed += 1
    else:
        print("bad benchmark line:", line.strip())
        failed += 1
missing = expected - seen
if missing:
    print("missing measurements:", sorted(missing))
    failed += len(missing)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
