"""Minimal contract harness over eth-tester + py-evm (the real EVM).

Transactions are auto-mined, one block per transaction, each block one second
after the previous one (py-evm); `Chain.travel` moves the pending block's
timestamp. Reverts surface as `Reverted` with the raw revert data and, for
custom errors present in the ABI, the error's name.
"""

from __future__ import annotations

import ast
import dataclasses
from typing import Any

from eth_abi import decode, encode
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.exceptions import TransactionFailed
from eth_utils import keccak

GAS = 10_000_000
PANIC = keccak(b"Panic(uint256)")[:4]


def abi_type(param: dict) -> str:
    """Canonical ABI type string of an ABI JSON parameter (tuples expanded)."""
    t = param["type"]
    if t.startswith("tuple"):
        inner = ",".join(abi_type(c) for c in param["components"])
        return f"({inner}){t[len('tuple'):]}"
    return t


def selector(signature: str) -> bytes:
    return keccak(signature.encode())[:4]


class Reverted(Exception):
    """A call or transaction reverted; `name` is the custom error if known."""

    def __init__(self, data: bytes, name: str):
        super().__init__(f"reverted: {name or data.hex() or '<empty>'}")
        self.data = data
        self.name = name


def revert_data(exc: TransactionFailed) -> bytes:
    raw = exc.args[0] if exc.args else b""
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, str):
        if raw.startswith(("b'", 'b"')):
            return ast.literal_eval(raw)
        if raw.startswith("0x"):
            try:
                return bytes.fromhex(raw[2:])
            except ValueError:
                return raw.encode()
        return raw.encode()
    return b""


@dataclasses.dataclass
class Event:
    name: str
    args: dict[str, Any]
    address: str


@dataclasses.dataclass
class Receipt:
    status: int
    gas_used: int
    block_number: int
    timestamp: int
    events: list[Event]
    contract_address: str | None

    def named(self, name: str) -> list[Event]:
        return [e for e in self.events if e.name == name]


class Chain:
    """One in-memory chain with 256+ blocks mined (Proofs needs them)."""

    def __init__(self, premine: int = 256):
        self.tester = EthereumTester(PyEVMBackend())
        self.accounts: list[str] = list(self.tester.get_accounts())
        if premine:
            self.tester.mine_blocks(premine)
        self.contracts: list[Contract] = []

    # -- time and blocks --------------------------------------------------
    def pending_timestamp(self) -> int:
        return self.tester.get_block_by_number("pending")["timestamp"]

    def block_number(self) -> int:
        return self.tester.get_block_by_number("latest")["number"]

    def travel(self, timestamp: int) -> None:
        """Make the next transaction (and pending calls) run at `timestamp`."""
        assert timestamp >= self.pending_timestamp(), "cannot go back in time"
        if timestamp > self.pending_timestamp():
            self.tester.time_travel(timestamp)

    def advance(self, seconds: int) -> None:
        self.travel(self.pending_timestamp() + seconds)

    def mine(self, blocks: int = 1) -> None:
        self.tester.mine_blocks(blocks)

    def snapshot(self) -> int:
        return self.tester.take_snapshot()

    def revert(self, snapshot: int) -> None:
        self.tester.revert_to_snapshot(snapshot)

    # -- transactions -----------------------------------------------------
    def error_names(self) -> dict[bytes, str]:
        names = {}
        for c in self.contracts:
            names.update(c.errors)
        return names

    def _raise(self, exc: TransactionFailed) -> None:
        data = revert_data(exc)
        name = self.error_names().get(data[:4], "")
        if data[:4] == PANIC:
            name = "Panic"
        raise Reverted(data, name) from None

    def call_raw(self, to: str, data: bytes, sender: str | None = None) -> bytes:
        tx = {"from": sender or self.accounts[0], "to": to, "data": "0x" + data.hex(), "gas": GAS}
        try:
            out = self.tester.call(tx, "pending")
        except TransactionFailed as exc:
            self._raise(exc)
        return bytes.fromhex(out[2:]) if isinstance(out, str) else bytes(out)

    def send_raw(self, to: str | None, data: bytes, sender: str | None = None) -> Receipt:
        sender = sender or self.accounts[0]
        tx = {"from": sender, "data": "0x" + data.hex(), "gas": GAS, "value": 0}
        if to is not None:
            tx["to"] = to
            # same pending state as the transaction: surfaces the revert data
            self.call_raw(to, data, sender)
        txhash = self.tester.send_transaction(tx)
        r = self.tester.get_transaction_receipt(txhash)
        block = self.tester.get_block_by_number(r["block_number"])
        events = []
        for log in r["logs"]:
            for c in self.contracts:
                if c.address.lower() == log["address"].lower():
                    ev = c.decode_log(log)
                    if ev:
                        events.append(ev)
        receipt = Receipt(
            status=r["status"],
            gas_used=r["gas_used"],
            block_number=r["block_number"],
            timestamp=block["timestamp"],
            events=events,
            contract_address=r["contract_address"],
        )
        if receipt.status != 1:
            raise Reverted(b"", "")
        return receipt

    def deploy(self, artifact: dict, *args, sender: str | None = None) -> "Contract":
        ctor = next((e for e in artifact["abi"] if e["type"] == "constructor"), None)
        data = bytes.fromhex(artifact["bytecode"].removeprefix("0x"))
        if ctor:
            data += encode([abi_type(i) for i in ctor["inputs"]], list(args))
        try:
            receipt = self.send_raw(None, data, sender)
        except TransactionFailed as exc:  # pragma: no cover
            self._raise(exc)
        c = Contract(self, receipt.contract_address, artifact["abi"])
        self.contracts.append(c)
        return c

    def deploy_expect_revert(self, artifact: dict, *args) -> Reverted:
        """Deploy via eth_call (no state change) and return the revert."""
        ctor = next(e for e in artifact["abi"] if e["type"] == "constructor")
        data = bytes.fromhex(artifact["bytecode"].removeprefix("0x"))
        data += encode([abi_type(i) for i in ctor["inputs"]], list(args))
        tx = {"from": self.accounts[0], "data": "0x" + data.hex(), "gas": GAS}
        names = {selector(f"{e['name']}()"): e["name"] for e in artifact["abi"] if e["type"] == "error"}
        try:
            self.tester.call(tx, "pending")
        except TransactionFailed as exc:
            data = revert_data(exc)
            return Reverted(data, names.get(data[:4], ""))
        raise AssertionError("deployment did not revert")


class Contract:
    def __init__(self, chain: Chain, address: str, abi: list[dict]):
        self.chain = chain
        self.address = address
        self.abi = abi
        self.functions: dict[tuple[str, int], dict] = {}
        self.events: dict[bytes, dict] = {}
        self.errors: dict[bytes, str] = {}
        for e in abi:
            if e["type"] == "function":
                self.functions[(e["name"], len(e["inputs"]))] = e
            elif e["type"] == "event":
                sig = f"{e['name']}({','.join(abi_type(i) for i in e['inputs'])})"
                self.events[keccak(sig.encode())] = e
            elif e["type"] == "error":
                sig = f"{e['name']}({','.join(abi_type(i) for i in e['inputs'])})"
                self.errors[selector(sig)] = e["name"]

    def _encode(self, name: str, args: tuple) -> tuple[bytes, dict]:
        fn = self.functions[(name, len(args))]
        types = [abi_type(i) for i in fn["inputs"]]
        return selector(f"{name}({','.join(types)})") + encode(types, list(args)), fn

    def call(self, name: str, *args, sender: str | None = None) -> Any:
        data, fn = self._encode(name, args)
        out = self.chain.call_raw(self.address, data, sender)
        types = [abi_type(o) for o in fn["outputs"]]
        if not types:
            return None
        values = decode(types, out)
        return values[0] if len(values) == 1 else values

    def transact(self, name: str, *args, sender: str | None = None) -> Receipt:
        data, _ = self._encode(name, args)
        return self.chain.send_raw(self.address, data, sender)

    def decode_log(self, log: dict) -> Event | None:
        topics = [bytes.fromhex(t[2:]) if isinstance(t, str) else bytes(t) for t in log["topics"]]
        if not topics or topics[0] not in self.events:
            return None
        e = self.events[topics[0]]
        indexed = [i for i in e["inputs"] if i["indexed"]]
        plain = [i for i in e["inputs"] if not i["indexed"]]
        data = log["data"]
        data = bytes.fromhex(data[2:]) if isinstance(data, str) else bytes(data)
        values = decode([abi_type(i) for i in plain], data)
        args = {i["name"]: v for i, v in zip(plain, values)}
        for i, t in zip(indexed, topics[1:]):
            args[i["name"]] = decode([abi_type(i)], t)[0]
        return Event(e["name"], args, log["address"])
