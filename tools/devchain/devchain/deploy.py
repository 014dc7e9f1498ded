"""Deploy TestToken, a verifier and the Marketplace onto a DevChain."""

from __future__ import annotations

import importlib.util
import json
import pathlib
from typing import Any

from eth_abi import encode

from .rpc import DevChain

REPO = pathlib.Path(__file__).resolve().parents[3]

# hardhat / local column of spec section 1.2
LOCAL_CONFIG = {
    "collateral": {"repairRewardPercentage": 10, "maxNumberOfSlashes": 2, "slashPercentage": 20,
                   "validatorRewardPercentage": 20},
    "proofs": {"period": 90, "timeout": 30, "downtime": 96, "downtimeProduct": 97, "zkeyHash": ""},
    "reservations": {"maxReservations": 3},
    "requestDurationLimit": 30 * 24 * 3600,
}


def load_artifacts(directory: str | None) -> dict[str, dict]:
    """Artifacts from a directory of <Name>.json files, or compiled now."""
    if directory:
        d = pathlib.Path(directory)
        return {p.stem: json.loads(p.read_text()) for p in d.glob("*.json")}
    spec = importlib.util.spec_from_file_location("contracts_build", REPO / "contracts" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.compile_all()


def config_tuple(c: dict) -> tuple:
    col, pr = c["collateral"], c["proofs"]
    return (
        (col["repairRewardPercentage"], col["maxNumberOfSlashes"], col["slashPercentage"],
         col["validatorRewardPercentage"]),
        (pr["period"], pr["timeout"], pr["downtime"], pr["downtimeProduct"], pr["zkeyHash"]),
        (c["reservations"]["maxReservations"],),
        c["requestDurationLimit"],
    )


def snarkjs_key(path: str) -> tuple:
    """VerifyingKey tuple from a snarkjs verification_key.json."""
    vk = json.loads(pathlib.Path(path).read_text())

    def g1(p):
        return (int(p[0]), int(p[1]))

    def g2(p):  # snarkjs: [[x.c0, x.c1], [y.c0, y.c1], ...], c0 = real part
        return ((int(p[0][0]), int(p[0][1])), (int(p[1][0]), int(p[1][1])))

    return (g1(vk["vk_alpha_1"]), g2(vk["vk_beta_2"]), g2(vk["vk_gamma_2"]), g2(vk["vk_delta_2"]),
            [g1(p) for p in vk["IC"]])


def _ctor_types(artifact: dict) -> list[str]:
    def t(p):
        if p["type"].startswith("tuple"):
            return "(" + ",".join(t(c) for c in p["components"]) + ")" + p["type"][5:]
        return p["type"]

    ctor = next((e for e in artifact["abi"] if e["type"] == "constructor"), None)
    return [t(i) for i in ctor["inputs"]] if ctor else []


def deploy_contract(chain: DevChain, artifact: dict, args: list, sender: str) -> str:
    data = bytes.fromhex(artifact["bytecode"].removeprefix("0x"))
    if args:
        data += encode(_ctor_types(artifact), args)
    txhash = chain.tester.send_transaction(
        {"from": sender, "data": "0x" + data.hex(), "gas": 15_000_000, "value": 0}
    )
    receipt = chain.tester.get_transaction_receipt(txhash)
    if receipt["status"] != 1:
        raise RuntimeError(f"deploying {artifact['contractName']} failed")
    return receipt["contract_address"]


def call_tx(chain: DevChain, sender: str, to: str, signature: str, types: list[str], args: list) -> None:
    from eth_utils import keccak

    data = keccak(signature.encode())[:4] + encode(types, args)
    txhash = chain.tester.send_transaction(
        {"from": sender, "to": to, "data": "0x" + data.hex(), "gas": 200_000, "value": 0}
    )
    if chain.tester.get_transaction_receipt(txhash)["status"] != 1:
        raise RuntimeError(f"{signature} failed")


def deploy_all(chain: DevChain, artifacts: dict, config: dict, mint: int, verifier: str = "test",
               vk_path: str | None = None) -> dict[str, Any]:
    """Deploy token -> verifier -> marketplace from account 0, mint `mint` tokens
    to every account. Returns {token, verifier, marketplace, verifierKind}."""
    deployer = chain.accounts[0]
    with chain.lock:
        token = deploy_contract(chain, artifacts["TestToken"], [], deployer)
        if verifier == "groth16":
            if not vk_path:
                raise SystemExit("--verifier groth16 needs --vk verification_key.json")
            ver = deploy_contract(chain, artifacts["Groth16Verifier"], [snarkjs_key(vk_path)], deployer)
        else:
            ver = deploy_contract(chain, artifacts["TestVerifier"], [], deployer)
        market = deploy_contract(chain, artifacts["Marketplace"], [config_tuple(config), token, ver], deployer)
        for account in chain.accounts:
            call_tx(chain, deployer, token, "mint(address,uint256)", ["address", "uint256"], [account, mint])
    return {"token": token, "verifier": ver, "marketplace": market,
            "verifierKind": "Groth16Verifier" if verifier == "groth16" else "TestVerifier"}
