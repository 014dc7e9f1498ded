"""Compile the Vyper contracts in contracts/src into JSON artifacts.

Usage: python contracts/build.py [OUT_DIR]   (default: <repo>/.build-contracts)

Each artifact <Name>.json holds: contractName, abi (Vyper's ABI plus one
"error" entry per custom error raised with raw_revert(method_id("E(...)"))),
bytecode, deployedBytecode, deployedSize. Fails if a runtime exceeds the
EIP-170 limit of 24,576 bytes.
"""

import json
import pathlib
import re
import sys

import vyper

SRC = pathlib.Path(__file__).resolve().parent / "src"
CODE_SIZE_LIMIT = 24576
# functions dispatched by hand in __default__ (see Marketplace.vy)
EXTRA_ABI = {
    "Marketplace": [
        {
            "type": "function",
            "name": "freeSlot",
            "stateMutability": "nonpayable",
            "inputs": [{"name": "slotId", "type": "bytes32"}],
            "outputs": [],
        }
    ]
}
_ERROR = re.compile(r'raw_revert\(\s*(?:concat\(\s*)?method_id\("([A-Za-z0-9_]+)\(([^)]*)\)"\)')


def error_abi(source: str) -> list[dict]:
    """ABI "error" entries for every raw_revert'ed custom error in a source."""
    seen = {}
    for name, args in _ERROR.findall(source):
        if name == "Panic":
            continue
        types = [t for t in args.split(",") if t]
        seen[name] = {
            "type": "error",
            "name": name,
            "inputs": [{"name": f"arg{i}", "type": t} for i, t in enumerate(types)],
        }
    return list(seen.values())


def compile_one(path: pathlib.Path) -> dict:
    source = path.read_text()
    out = vyper.compile_code(
        source,
        contract_path=str(path.name),
        output_formats=["abi", "bytecode", "bytecode_runtime"],
    )
    runtime = bytes.fromhex(out["bytecode_runtime"].removeprefix("0x"))
    abi = [e for e in out["abi"] if e["type"] != "fallback"]
    abi += EXTRA_ABI.get(path.stem, []) + error_abi(source)
    return {
        "contractName": path.stem,
        "compiler": f"vyper {vyper.__version__}",
        "abi": abi,
        "bytecode": out["bytecode"],
        "deployedBytecode": out["bytecode_runtime"],
        "deployedSize": len(runtime),
    }


def compile_all() -> dict[str, dict]:
    """Compile every contracts/src/*.vy; returns {name: artifact}."""
    artifacts = {}
    for path in sorted(SRC.glob("*.vy")):
        art = compile_one(path)
        if art["deployedSize"] > CODE_SIZE_LIMIT:
            raise SystemExit(
                f"{path.name}: runtime {art['deployedSize']} bytes exceeds {CODE_SIZE_LIMIT}"
            )
        artifacts[art["contractName"]] = art
    return artifacts


def main() -> None:
    repo = pathlib.Path(__file__).resolve().parent.parent
    out_dir = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else repo / ".build-contracts"
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, art in compile_all().items():
        (out_dir / f"{name}.json").write_text(json.dumps(art, indent=1))
        print(f"{name}: {art['deployedSize']} bytes runtime (limit {CODE_SIZE_LIMIT})")


if __name__ == "__main__":
    main()
