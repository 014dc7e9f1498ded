"""Groth16 test material without a circuit: a verifying key made from known
scalars (a "trapdoor"), which lets a test build a valid proof for any public
signals. Exercises the real BN254 pairing check of Groth16Verifier.vy."""

import secrets

from py_ecc.optimized_bn128 import G1, G2, add, curve_order, multiply, neg, normalize

R = curve_order


def g1(p):
    x, y = normalize(p)
    return (int(x), int(y))


def g2(p):
    x, y = normalize(p)
    # Fp2Element {real, imag}
    return ((int(x.coeffs[0]), int(x.coeffs[1])), (int(y.coeffs[0]), int(y.coeffs[1])))


class Trapdoor:
    def __init__(self, n_signals: int = 3):
        self.alpha, self.beta, self.gamma, self.delta = (secrets.randbelow(R - 1) + 1 for _ in range(4))
        self.ic = [secrets.randbelow(R - 1) + 1 for _ in range(n_signals + 1)]

    def verifying_key(self):
        """VerifyingKey tuple: (alpha1, beta2, gamma2, delta2, ic[])."""
        return (
            g1(multiply(G1, self.alpha)),
            g2(multiply(G2, self.beta)),
            g2(multiply(G2, self.gamma)),
            g2(multiply(G2, self.delta)),
            [g1(multiply(G1, k)) for k in self.ic],
        )

    def prove(self, signals):
        """A proof (A, B, C) with e(A,B) = e(alpha,beta) e(vk_x,gamma) e(C,delta)."""
        x = (self.ic[0] + sum(s * k for s, k in zip(signals, self.ic[1:]))) % R
        a = secrets.randbelow(R - 1) + 1
        b = secrets.randbelow(R - 1) + 1
        c = (a * b - self.alpha * self.beta - x * self.gamma) * pow(self.delta, -1, R) % R
        return (g1(multiply(G1, a)), g2(multiply(G2, b)), g1(multiply(G1, c)))
