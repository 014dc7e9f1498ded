"""Groth16Verifier against a real snarkjs proof (the hardhat example proof of
the Codex storage-proof circuit, 3 public signals): checks the snarkjs key and
proof layout (G2 coordinates [c0 = real, c1 = imag]) and the pairing order.

The vector is data, looked up as shared/vectors/groth16_hardhat_example.json
(walking up from this file) or at $GROTH16_EXAMPLE_VECTOR; skipped if absent.
"""

import json
import os
import pathlib

import pytest

from evm import Chain

NAME = "groth16_hardhat_example.json"


def find_vector():
    env = os.environ.get("GROTH16_EXAMPLE_VECTOR")
    if env and pathlib.Path(env).exists():
        return pathlib.Path(env)
    for d in pathlib.Path(__file__).resolve().parents:
        p = d / "shared" / "vectors" / NAME
        if p.exists():
            return p
    return None


def g1(p):
    return (int(p[0]), int(p[1]))


def g2(p):
    return ((int(p[0][0]), int(p[0][1])), (int(p[1][0]), int(p[1][1])))


@pytest.fixture(scope="module")
def vector():
    path = find_vector()
    if path is None:
        pytest.skip(f"{NAME} not in shared/vectors")
    return json.loads(path.read_text())


def test_real_snarkjs_proof(artifacts, vector):
    vk, pr = vector["verification_key"], vector["proof"]
    key = (g1(vk["vk_alpha_1"]), g2(vk["vk_beta_2"]), g2(vk["vk_gamma_2"]), g2(vk["vk_delta_2"]),
           [g1(p) for p in vk["IC"]])
    chain = Chain(premine=0)
    verifier = chain.deploy(artifacts["Groth16Verifier"], key)
    proof = (g1(pr["pi_a"]), g2(pr["pi_b"]), g1(pr["pi_c"]))
    signals = [int(s) for s in vector["public"]]
    assert verifier.call("verify", proof, signals) is True
    assert verifier.call("verify", proof, signals[:2] + [signals[2] + 1]) is False  # other slot index
    assert verifier.call("verify", proof, [signals[0] + 1] + signals[1:]) is False  # other challenge
    swapped = (proof[0], ((proof[1][0][1], proof[1][0][0]), proof[1][1]), proof[2])
    assert verifier.call("verify", swapped, signals) is False
