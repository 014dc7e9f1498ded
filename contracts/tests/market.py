"""Helpers for marketplace tests: requests, ids, proofs, a deployed environment."""

from __future__ import annotations

import dataclasses
import os
import secrets

from eth_abi import encode
from eth_utils import keccak

from evm import Chain, Contract, Reverted

ASK_T = "(uint256,uint256,uint256,uint64,uint64,uint64,uint64)"
REQUEST_T = f"(address,{ASK_T},(bytes,bytes32),uint64,bytes32)"

# RequestState / SlotState
NEW, STARTED, CANCELLED, FINISHED, FAILED = range(5)
FREE, FILLED, SLOT_FINISHED, SLOT_FAILED, PAID, SLOT_CANCELLED, REPAIR = range(7)

VALID_PROOF = ((1, 2), ((3, 4), (5, 6)), (7, 8))
INVALID_PROOF = ((0, 0), ((0, 0), (0, 0)), (0, 0))


def config(
    repair=10, max_slashes=2, slash=20, validator=20,
    period=10, timeout=5, downtime=64, product=67, zkey="", max_res=3,
    duration_limit=30 * 24 * 3600,
):
    """MarketplaceConfig tuple (defaults: hardhat-like slashing, short periods)."""
    return ((repair, max_slashes, slash, validator), (period, timeout, downtime, product, zkey), (max_res,), duration_limit)


@dataclasses.dataclass
class Ask:
    proofProbability: int = 4
    pricePerBytePerSecond: int = 3
    collateralPerByte: int = 5
    slots: int = 4
    slotSize: int = 1024
    duration: int = 3600
    maxSlotLoss: int = 1

    def tuple(self):
        return (self.proofProbability, self.pricePerBytePerSecond, self.collateralPerByte,
                self.slots, self.slotSize, self.duration, self.maxSlotLoss)


@dataclasses.dataclass
class Request:
    client: str
    ask: Ask = dataclasses.field(default_factory=Ask)
    cid: bytes = b"zb2rhheVmk3bLks5MgzTqyznLu1zqGH5jrfTA1eAZXrjx7Vob"
    merkleRoot: bytes = dataclasses.field(default_factory=lambda: secrets.token_bytes(32))
    expiry: int = 600
    nonce: bytes = dataclasses.field(default_factory=lambda: secrets.token_bytes(32))

    def tuple(self):
        return (self.client, self.ask.tuple(), (self.cid, self.merkleRoot), self.expiry, self.nonce)

    def id(self) -> bytes:
        return keccak(encode([REQUEST_T], [self.tuple()]))

    @property
    def price_per_slot_per_second(self) -> int:
        return self.ask.pricePerBytePerSecond * self.ask.slotSize

    @property
    def collateral_per_slot(self) -> int:
        return self.ask.collateralPerByte * self.ask.slotSize

    @property
    def max_price(self) -> int:
        return self.ask.slots * self.ask.duration * self.price_per_slot_per_second


def slot_id(request_id: bytes, index: int) -> bytes:
    return keccak(encode(["bytes32", "uint64"], [request_id, index]))


class Env:
    """Token + verifier + marketplace on one chain; accounts by role."""

    def __init__(self, artifacts: dict, cfg=None, verifier: str = "TestVerifier", verifier_args=()):
        self.chain = Chain()
        self.cfg = cfg or config()
        acc = self.chain.accounts
        self.deployer, self.client, self.hosts, self.validator = acc[0], acc[1], acc[2:7], acc[7]
        self.others = acc[8:]
        self.token = self.chain.deploy(artifacts["TestToken"])
        self.verifier = self.chain.deploy(artifacts[verifier], *verifier_args)
        self.market = self.chain.deploy(artifacts["Marketplace"], self.cfg, self.token.address, self.verifier.address)
        for a in acc:
            self.token.transact("mint", a, 10**30)
        self.initial_balances = {a: 10**30 for a in acc}

    # -- config shortcuts -------------------------------------------------
    @property
    def period(self) -> int:
        return self.cfg[1][0]

    @property
    def timeout(self) -> int:
        return self.cfg[1][1]

    @property
    def downtime(self) -> int:
        return self.cfg[1][2]

    def next_period(self) -> int:
        """Move to the first second of the next period; returns that period."""
        p = self.chain.pending_timestamp() // self.period + 1
        self.chain.travel(p * self.period)
        return p

    def balance(self, who: str) -> int:
        return self.token.call("balanceOf", who)

    # -- flows ------------------------------------------------------------
    def new_request(self, **ask) -> Request:
        expiry = ask.pop("expiry", 600)
        return Request(client=self.client, ask=Ask(**ask), expiry=expiry)

    def request(self, req: Request | None = None, **ask):
        req = req or self.new_request(**ask)
        self.token.transact("approve", self.market.address, req.max_price, sender=req.client)
        receipt = self.market.transact("requestStorage", req.tuple(), sender=req.client)
        return req, receipt

    def fill(self, req: Request, index: int, host: str, proof=VALID_PROOF, reserve=True, collateral=None):
        rid = req.id()
        if reserve:
            self.market.transact("reserveSlot", rid, index, sender=host)
        amount = req.collateral_per_slot if collateral is None else collateral
        self.token.transact("approve", self.market.address, amount, sender=host)
        return self.market.transact("fillSlot", rid, index, proof, sender=host)

    def start(self, req: Request):
        """Fill every slot of `req` (slot i by host i mod len(hosts))."""
        receipts = []
        for i in range(req.ask.slots):
            receipts.append(self.fill(req, i, self.hosts[i % len(self.hosts)]))
        return receipts

    def missable_period(self, sid: bytes, tries: int = 40) -> int:
        """Advance to the first period after which `sid`'s proof can be marked
        missing (the pointer must be outside downtime); returns that period."""
        for _ in range(tries):
            now = self.chain.pending_timestamp()
            p = now // self.period
            # go to the first second after the end of period p
            self.chain.travel((p + 1) * self.period + 1)
            try:
                self.market.call("canMarkProofAsMissing", sid, p, sender=self.validator)
                return p
            except Reverted as r:
                if r.name not in ("Proofs_ProofNotRequired", "Proofs_ProofNotMissing"):
                    raise
        raise AssertionError("no period with a required proof found")
