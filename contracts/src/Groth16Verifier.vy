# pragma version 0.4.3
# pragma evm-version paris
"""
@title Groth16 verifier over BN254 (snarkjs-style verifying key)
@notice verify(proof, pubSignals) checks
        e(-A, B) * e(alpha, beta) * e(vk_x, gamma) * e(C, delta) == 1
        with vk_x = ic[0] + sum(pubSignals[i] * ic[i + 1]), using the ecAdd (6),
        ecMul (7) and ecPairing (8) precompiles. G2 coordinates are passed to
        the pairing precompile imaginary part first. Returns false (never
        reverts) on a wrong signal count, a signal >= r, or a failed precompile.
"""

MAX_IC: constant(uint256) = 33
MAX_SIGNALS: constant(uint256) = 32
# BN254 base field modulus and scalar field modulus
FIELD_P: constant(uint256) = 21888242871839275222246405745257275088696311157297823662689037894645226208583
FIELD_R: constant(uint256) = 21888242871839275222246405745257275088548364400416034343698204186575808495617


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


struct VerifyingKey:
    alpha1: G1Point
    beta2: G2Point
    gamma2: G2Point
    delta2: G2Point
    ic: DynArray[G1Point, MAX_IC]


_key: VerifyingKey


@deploy
def __init__(key: VerifyingKey):
    self._key = key


@internal
@pure
def _g2Words(p: G2Point) -> Bytes[128]:
    return concat(
        convert(p.x.imag, bytes32),
        convert(p.x.real, bytes32),
        convert(p.y.imag, bytes32),
        convert(p.y.real, bytes32),
    )


@internal
@pure
def _g1Words(p: G1Point) -> Bytes[64]:
    return concat(convert(p.x, bytes32), convert(p.y, bytes32))


@internal
@view
def _call(precompile: address, data: Bytes[768]) -> (bool, Bytes[64]):
    ok: bool = False
    out: Bytes[64] = b""
    ok, out = raw_call(precompile, data, max_outsize=64, is_static_call=True, revert_on_failure=False)
    return (ok and len(out) == 64, out)


@external
@view
def verify(proof: Groth16Proof, pubSignals: DynArray[uint256, MAX_SIGNALS]) -> bool:
    key: VerifyingKey = self._key
    if len(pubSignals) + 1 != len(key.ic):
        return False
    for s: uint256 in pubSignals:
        if s >= FIELD_R:
            return False

    acc: Bytes[64] = self._g1Words(key.ic[0])
    ok: bool = False
    product: Bytes[64] = b""
    for i: uint256 in range(len(pubSignals), bound=MAX_SIGNALS):
        ok, product = self._call(
            0x0000000000000000000000000000000000000007,
            concat(self._g1Words(key.ic[i + 1]), convert(pubSignals[i], bytes32)),
        )
        if not ok:
            return False
        ok, acc = self._call(0x0000000000000000000000000000000000000006, concat(acc, product))
        if not ok:
            return False

    negA: G1Point = G1Point(x=proof.a.x, y=(FIELD_P - proof.a.y) % FIELD_P)
    pairingInput: Bytes[768] = concat(
        self._g1Words(negA),
        self._g2Words(proof.b),
        self._g1Words(key.alpha1),
        self._g2Words(key.beta2),
        acc,
        self._g2Words(key.gamma2),
        self._g1Words(proof.c),
        self._g2Words(key.delta2),
    )
    success: bool = False
    result: Bytes[32] = b""
    success, result = raw_call(
        0x0000000000000000000000000000000000000008,
        pairingInput,
        max_outsize=32,
        is_static_call=True,
        revert_on_failure=False,
    )
    if not success or len(result) != 32:
        return False
    return convert(result, uint256) == 1
