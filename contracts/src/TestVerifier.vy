# pragma version 0.4.3
# pragma evm-version paris
"""
@title TestVerifier: accepts every Groth16 proof except the all-zero one
@notice For development networks and tests (simulated proofs). Same ABI as the
        real verifier: verify(Groth16Proof, uint256[]) -> bool.
"""

MAX_SIGNALS: constant(uint256) = 64


struct G1Point:
    x: uint256
    y: uint256


struct Fp2Element:
    real: uint256
    imag: uint256


struct G2Point:
    x: Fp2Element
    y: Fp2Element


struct Groth16Proof:
    a: G1Point
    b: G2Point
    c: G1Point


@external
@pure
def verify(proof: Groth16Proof, pubSignals: DynArray[uint256, MAX_SIGNALS]) -> bool:
    return (
        proof.a.x | proof.a.y | proof.b.x.real | proof.b.x.imag | proof.b.y.real
        | proof.b.y.imag | proof.c.x | proof.c.y
    ) != 0
