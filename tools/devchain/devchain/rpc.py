"""A JSON-RPC 2.0 front end for an in-memory eth-tester/py-evm chain.

Implements what an Ethereum client of the Codex marketplace needs (eth_*,
net_*, web3_* plus evm_*/hardhat_* test controls), hex-encoding every
quantity and byte string. Reverts come back as JSON-RPC errors with code 3,
message "execution reverted" and the raw revert data in `error.data`.
All chain access is serialised by one lock; a background thread mines a
block every `block_time` seconds (transactions are also mined at once).
"""

from __future__ import annotations

import ast
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from eth.exceptions import Revert as EVMRevert
from eth.exceptions import VMError
from eth_abi import encode
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.backends.pyevm import main as pyevm_main
from eth_tester.exceptions import (
    BlockNotFound,
    FilterNotFound,
    TransactionFailed,
    TransactionNotFound,
    ValidationError,
)

log = logging.getLogger("devchain")

HARDHAT_MNEMONIC = "test test test test test test test test test test test junk"
HARDHAT_PATH = "m/44'/60'/0'/0"
PRIORITY_FEE = 10**9
ERROR_STRING = bytes.fromhex("08c379a0")


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: str | None = None):
        super().__init__(message)
        self.code, self.message, self.data = code, message, data


# ------------------------------------------------------------ formatting --

RENAMES = {"coinbase": "miner", "data": "input"}


def camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(p.capitalize() for p in rest)


def hexq(n: int) -> str:
    return hex(n)


def to_rpc(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "state_root" and v in (b"", "0x"):
                continue
            if k == "type" and v == "mined":  # eth-tester's log marker
                out["removed"] = False
                continue
            name = camel(k)
            if k == "logs_bloom":
                out["logsBloom"] = "0x" + (v if isinstance(v, int) else 0).to_bytes(256, "big").hex()
                continue
            out[name] = to_rpc(v, k)
        return out
    if isinstance(value, (list, tuple)):
        return [to_rpc(v, key) for v in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return hexq(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return value


def format_tx(tx: dict) -> dict:
    out = to_rpc(tx)
    if "data" in tx:
        out["input"] = out.pop("data")
    if out.get("to") in ("", "0x"):
        out["to"] = None
    if "yParity" in out:
        out.setdefault("v", out["yParity"])
    return out


def format_block(block: dict) -> dict:
    out = to_rpc(block)
    out["miner"] = out.pop("coinbase", "0x" + "00" * 20)
    txs = block.get("transactions", [])
    out["transactions"] = [format_tx(t) if isinstance(t, dict) else t for t in txs]
    return out


def format_receipt(r: dict, tx: dict | None) -> dict:
    out = to_rpc(r)
    out.setdefault("logsBloom", "0x" + "00" * 256)
    if out.get("to") in ("", "0x"):
        out["to"] = None
    if tx is not None:
        out.setdefault("from", tx.get("from"))
        out["type"] = tx.get("type", "0x2")
    for i, lg in enumerate(out.get("logs", [])):
        lg.setdefault("removed", False)
    return out


def quantity(v: Any) -> int:
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        return int(v, 16) if v.startswith(("0x", "0X")) else int(v)
    raise RpcError(-32602, f"invalid quantity {v!r}")


def block_id(v: Any) -> Any:
    if v is None:
        return "latest"
    if isinstance(v, dict):  # EIP-1898
        if "blockNumber" in v:
            return block_id(v["blockNumber"])
        raise RpcError(-32602, "blockHash selectors are not supported")
    if v in ("latest", "earliest", "pending"):
        return v
    if v in ("safe", "finalized"):
        return "latest"
    return quantity(v)


def revert_bytes(exc: TransactionFailed) -> bytes:
    raw = exc.args[0] if exc.args else b""
    if isinstance(raw, (bytes, bytearray)):
        return bytes(raw)
    if isinstance(raw, str):
        if raw.startswith(("b'", 'b"')):
            return ast.literal_eval(raw)
        if raw.startswith("0x"):
            try:
                return bytes.fromhex(raw[2:])
            except ValueError:
                pass
        if raw.startswith("execution reverted: "):
            raw = raw[len("execution reverted: "):]
        if raw in ("", "execution reverted"):
            return b""
        return ERROR_STRING + encode(["string"], [raw])
    return b""


def tx_in(obj: dict, for_call: bool) -> dict:
    """JSON-RPC transaction object -> eth-tester transaction dict."""
    tx: dict[str, Any] = {}
    tx["from"] = obj.get("from") or "0x" + "00" * 20
    if obj.get("to"):
        tx["to"] = obj["to"]
    data = obj.get("input") or obj.get("data")
    if data:
        tx["data"] = data
    for rpc, ours in (("gas", "gas"), ("value", "value"), ("gasPrice", "gas_price"),
                      ("maxFeePerGas", "max_fee_per_gas"), ("maxPriorityFeePerGas", "max_priority_fee_per_gas"),
                      ("nonce", "nonce")):
        if obj.get(rpc) is not None:
            tx[ours] = quantity(obj[rpc])
    if for_call and "gas" not in tx:
        tx["gas"] = 30_000_000
    if "gas_price" in tx and ("max_fee_per_gas" in tx or "max_priority_fee_per_gas" in tx):
        del tx["gas_price"]
    return tx


# ------------------------------------------------------------- the chain --

def _costless_execute_and_revert(chain, transaction, block_number="latest"):
    """eth_call without gas costs (like geth with a zero gas price): any
    sender, funded or not, may call; block number and timestamp unchanged."""
    vm = pyevm_main._get_vm_for_block_number(chain, block_number)
    with vm.in_costless_state() as state:
        snapshot = state.snapshot()
        computation = state.apply_transaction(transaction)
        state.revert(snapshot)
    return computation


def _without_fees(tx: dict) -> dict:
    tx = {k: v for k, v in tx.items() if k not in ("max_fee_per_gas", "max_priority_fee_per_gas")}
    tx["gas_price"] = 0
    return tx


class DevChain:
    """The chain and its JSON-RPC method table."""

    def __init__(self, chain_id: int = 31337, accounts: int = 20, balance: int = 10**22,
                 mnemonic: str = HARDHAT_MNEMONIC):
        backend = PyEVMBackend.from_mnemonic(
            mnemonic, num_accounts=accounts, genesis_state_overrides={"balance": balance}, hd_path=HARDHAT_PATH
        )
        pyevm_main._execute_and_revert_transaction = _costless_execute_and_revert
        # the chain class is private to this backend: override its chain id
        type(backend.chain).chain_id = chain_id
        self.backend = backend
        self.tester = EthereumTester(backend)
        self.chain_id = chain_id
        self.lock = threading.RLock()
        self.private_keys = ["0x" + k.to_bytes().hex() for k in backend.account_keys]
        self.accounts = list(self.tester.get_accounts())
        self._stop = threading.Event()
        self._miner: threading.Thread | None = None
        self.methods = {
            "web3_clientVersion": lambda: "swift-codex-devchain/0.1 (eth-tester, py-evm)",
            "net_version": lambda: str(self.chain_id),
            "net_listening": lambda: True,
            "net_peerCount": lambda: "0x0",
            "eth_chainId": lambda: hexq(self.chain_id),
            "eth_syncing": lambda: False,
            "eth_mining": lambda: True,
            "eth_accounts": lambda: list(self.accounts),
            "eth_blockNumber": self.block_number,
            "eth_getBalance": self.get_balance,
            "eth_getTransactionCount": self.get_nonce,
            "eth_getCode": self.get_code,
            "eth_getStorageAt": self.get_storage_at,
            "eth_gasPrice": self.gas_price,
            "eth_maxPriorityFeePerGas": lambda: hexq(PRIORITY_FEE),
            "eth_feeHistory": self.fee_history,
            "eth_estimateGas": self.estimate_gas,
            "eth_call": self.call,
            "eth_sendRawTransaction": self.send_raw_transaction,
            "eth_sendTransaction": self.send_transaction,
            "eth_getTransactionReceipt": self.get_receipt,
            "eth_getTransactionByHash": self.get_transaction,
            "eth_getBlockByNumber": self.get_block_by_number,
            "eth_getBlockByHash": self.get_block_by_hash,
            "eth_getLogs": self.get_logs,
            "eth_newFilter": self.new_filter,
            "eth_newBlockFilter": lambda: self.tester.create_block_filter(),
            "eth_getFilterChanges": self.filter_changes,
            "eth_getFilterLogs": self.filter_logs,
            "eth_uninstallFilter": self.uninstall_filter,
            "evm_mine": self.evm_mine,
            "hardhat_mine": self.hardhat_mine,
            "evm_increaseTime": self.increase_time,
            "evm_setNextBlockTimestamp": self.set_next_timestamp,
            "testing_timeTravel": self.time_travel,
            "evm_snapshot": lambda: hexq(self.tester.take_snapshot()),
            "evm_revert": self.evm_revert,
        }

    # -- mining ---------------------------------------------------------------
    def start_miner(self, block_time: float) -> None:
        if block_time <= 0:
            return

        def loop():
            while not self._stop.wait(block_time):
                with self.lock:
                    self.tester.mine_blocks(1)

        self._miner = threading.Thread(target=loop, name="devchain-miner", daemon=True)
        self._miner.start()

    def stop(self) -> None:
        self._stop.set()

    # -- dispatch -------------------------------------------------------------
    def handle(self, request: dict) -> dict | None:
        rid = request.get("id")
        method = request.get("method")
        params = request.get("params") or []
        if not isinstance(params, list):
            params = [params]
        try:
            fn = self.methods.get(method)
            if fn is None:
                raise RpcError(-32601, f"method not found: {method}")
            with self.lock:
                result = fn(*params)
            response = {"jsonrpc": "2.0", "id": rid, "result": result}
        except RpcError as e:
            err = {"code": e.code, "message": e.message}
            if e.data is not None:
                err["data"] = e.data
            response = {"jsonrpc": "2.0", "id": rid, "error": err}
        except TransactionFailed as e:
            data = revert_bytes(e)
            response = {"jsonrpc": "2.0", "id": rid,
                        "error": {"code": 3, "message": "execution reverted", "data": "0x" + data.hex()}}
        except (ValidationError, TypeError, ValueError, KeyError) as e:
            response = {"jsonrpc": "2.0", "id": rid, "error": {"code": -32000, "message": str(e)}}
        except Exception as e:  # never let a bad request kill the server
            log.exception("internal error in %s", method)
            response = {"jsonrpc": "2.0", "id": rid, "error": {"code": -32603, "message": f"internal error: {e}"}}
        return response if "id" in request else None

    # -- state ------------------------------------------------------------------
    def block_number(self):
        return hexq(self.tester.get_block_by_number("latest")["number"])

    def get_balance(self, address, block="latest"):
        return hexq(self.tester.get_balance(address, block_id(block)))

    def get_nonce(self, address, block="latest"):
        return hexq(self.tester.get_nonce(address, block_id(block)))

    def get_code(self, address, block="latest"):
        return to_rpc(self.tester.get_code(address, block_id(block)))

    def get_storage_at(self, address, slot, block="latest"):
        value = self.tester.get_storage_at(address, quantity(slot), block_id(block))
        if isinstance(value, str):
            return "0x" + value[2:].rjust(64, "0")
        return "0x" + bytes(value).rjust(32, b"\0").hex()

    def base_fee(self) -> int:
        return self.tester.get_block_by_number("pending").get("base_fee_per_gas", 0)

    def gas_price(self):
        return hexq(self.base_fee() + PRIORITY_FEE)

    def fee_history(self, count, newest="latest", percentiles=None):
        count = max(1, min(quantity(count), 1024))
        newest_n = self.tester.get_block_by_number(block_id(newest))["number"]
        oldest = max(0, newest_n - count + 1)
        base, ratio, reward = [], [], []
        for n in range(oldest, newest_n + 1):
            b = self.tester.get_block_by_number(n)
            base.append(hexq(b.get("base_fee_per_gas", 0)))
            ratio.append(b["gas_used"] / b["gas_limit"] if b["gas_limit"] else 0.0)
            reward.append([hexq(PRIORITY_FEE) for _ in (percentiles or [])])
        base.append(hexq(self.base_fee()))
        out = {"oldestBlock": hexq(oldest), "baseFeePerGas": base, "gasUsedRatio": ratio}
        if percentiles:
            out["reward"] = reward
        return out

    # -- execution --------------------------------------------------------------
    def estimate_gas(self, tx, block="pending"):
        """Binary-searched gas at the given block (default: pending), costless."""
        backend, tester = self.backend, self.tester
        raw = tester.normalizer.normalize_inbound_transaction(_without_fees(tx_in(tx, False)))
        raw["gas"] = 21000
        blk = block_id(block)
        unsigned = backend._get_normalized_and_unsigned_evm_transaction(raw, "latest" if blk == "pending" else blk)
        spoofed = pyevm_main.EVMSpoofTransaction(unsigned, from_=raw["from"])
        chain = backend.chain
        if blk == "pending":
            header = chain.header
        elif blk == "latest":
            header = chain.get_canonical_head()
        else:
            header = chain.get_canonical_block_header_by_number(0 if blk == "earliest" else blk)
        try:
            with chain.get_vm(header).in_costless_state() as state:
                return hexq(chain.gas_estimator(state, spoofed))
        except EVMRevert as e:
            data = e.args[0] if e.args and isinstance(e.args[0], (bytes, bytearray)) else b""
            raise RpcError(3, "execution reverted", "0x" + bytes(data).hex()) from None
        except VMError as e:
            raise RpcError(-32000, f"gas estimation failed: {e}") from None

    def call(self, tx, block="latest"):
        out = self.tester.call(_without_fees(tx_in(tx, True)), block_id(block))
        return out if isinstance(out, str) else "0x" + bytes(out).hex()

    def send_raw_transaction(self, raw):
        return self.tester.send_raw_transaction(raw)

    def send_transaction(self, tx):
        """For the dev accounts only (their keys are known to the chain)."""
        t = tx_in(tx, False)
        if "gas" not in t:
            t["gas"] = int(self.estimate_gas(tx), 16) * 2
        if "gas_price" not in t and "max_fee_per_gas" not in t:
            t["max_fee_per_gas"] = self.base_fee() * 2 + PRIORITY_FEE
            t["max_priority_fee_per_gas"] = PRIORITY_FEE
        return self.tester.send_transaction(t)

    def get_receipt(self, txhash):
        try:
            r = self.tester.get_transaction_receipt(txhash)
        except TransactionNotFound:
            return None
        if r.get("block_number") is None:
            return None
        tx = self.tester.get_transaction_by_hash(txhash)
        return format_receipt(r, tx)

    def get_transaction(self, txhash):
        try:
            return format_tx(self.tester.get_transaction_by_hash(txhash))
        except TransactionNotFound:
            return None

    def get_block_by_number(self, block, full=False):
        try:
            return format_block(self.tester.get_block_by_number(block_id(block), bool(full)))
        except BlockNotFound:
            return None

    def get_block_by_hash(self, block_hash, full=False):
        try:
            return format_block(self.tester.get_block_by_hash(block_hash, bool(full)))
        except BlockNotFound:
            return None

    # -- logs and filters -------------------------------------------------------
    def _filter_params(self, f: dict) -> dict:
        f = f or {}
        params: dict[str, Any] = {}
        if f.get("blockHash"):
            n = self.tester.get_block_by_hash(f["blockHash"])["number"]
            params["from_block"] = params["to_block"] = n
        else:
            for rpc, ours in (("fromBlock", "from_block"), ("toBlock", "to_block")):
                b = block_id(f.get(rpc, "latest"))
                if b == "pending":
                    b = "latest"
                if b == "latest":
                    b = self.tester.get_block_by_number("latest")["number"]
                if b == "earliest":
                    b = 0
                params[ours] = b
        addr = f.get("address")
        if addr:
            params["address"] = [addr] if isinstance(addr, str) else list(addr)
        topics = f.get("topics")
        if topics:
            params["topics"] = [t if t is None or isinstance(t, str) else list(t) for t in topics]
        return params

    def get_logs(self, f=None):
        return [to_rpc(x) for x in self.tester.get_logs(**self._filter_params(f))]

    def new_filter(self, f=None):
        params = self._filter_params(f)
        if not (f or {}).get("toBlock"):
            params.pop("to_block", None)  # open-ended: follows new blocks
        if not (f or {}).get("fromBlock"):
            params.pop("from_block", None)
        return hexq(self.tester.create_log_filter(**params))

    def filter_changes(self, fid):
        try:
            return to_rpc(list(self.tester.get_only_filter_changes(quantity(fid))))
        except FilterNotFound:
            raise RpcError(-32000, "filter not found") from None

    def filter_logs(self, fid):
        try:
            return to_rpc(list(self.tester.get_all_filter_logs(quantity(fid))))
        except FilterNotFound:
            raise RpcError(-32000, "filter not found") from None

    def uninstall_filter(self, fid):
        try:
            self.tester.delete_filter(quantity(fid))
            return True
        except FilterNotFound:
            return False

    # -- test controls ----------------------------------------------------------
    def evm_mine(self, arg=None):
        """evm_mine: no argument mines one block; {blocks, timestamp}; a number
        below 1e9 mines that many blocks, a larger one is the next block's timestamp."""
        blocks, ts = 1, None
        if isinstance(arg, dict):
            blocks = quantity(arg.get("blocks", 1))
            ts = quantity(arg["timestamp"]) if "timestamp" in arg else None
        elif arg is not None:
            n = quantity(arg)
            if n >= 10**9:
                ts = n
            else:
                blocks = n
        if ts is not None:
            self.set_next_timestamp(ts)
        self.tester.mine_blocks(max(blocks, 0))
        return "0x0"

    def hardhat_mine(self, count="0x1", interval=None):
        self.tester.mine_blocks(quantity(count))
        return True

    def _pending_timestamp(self) -> int:
        return self.backend.chain.header.timestamp

    def set_next_timestamp(self, ts):
        ts = quantity(ts)
        latest = self.tester.get_block_by_number("latest")["timestamp"]
        if ts <= latest:
            raise RpcError(-32000, f"timestamp {ts} is not after the latest block's {latest}")
        chain = self.backend.chain
        chain.header = chain.header.copy(timestamp=ts)
        return hexq(ts)

    def increase_time(self, seconds):
        seconds = quantity(seconds)
        self.set_next_timestamp(self._pending_timestamp() + seconds)
        return hexq(seconds)

    def time_travel(self, ts):
        self.tester.time_travel(quantity(ts))
        return True

    def evm_revert(self, snapshot):
        self.tester.revert_to_snapshot(quantity(snapshot))
        return True


# ------------------------------------------------------------------- HTTP --

def make_handler(chain: DevChain):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # headers and body are separate writes: without TCP_NODELAY, Nagle +
        # delayed ACKs add ~40 ms to every keep-alive request
        disable_nagle_algorithm = True

        def log_message(self, fmt, *args):  # quiet
            log.debug(fmt, *args)

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(body)

        def do_OPTIONS(self):  # noqa: N802
            self.send_response(204)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Allow-Headers", "content-type")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            if length > 16 * 1024 * 1024:
                self._send(413, b'{"error":"request too large"}')
                return
            raw = self.rfile.read(length)
            try:
                req = json.loads(raw)
            except ValueError:
                body = {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}}
                self._send(200, json.dumps(body).encode())
                return
            if isinstance(req, list):
                out = [r for r in (chain.handle(x) if isinstance(x, dict) else None for x in req) if r]
            elif isinstance(req, dict):
                out = chain.handle(req)
            else:
                out = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "invalid request"}}
            self._send(200, json.dumps(out).encode() if out is not None else b"")

    return Handler


def serve(chain: DevChain, host: str = "127.0.0.1", port: int = 8545) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), make_handler(chain))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="devchain-http", daemon=True).start()
    return server


def now() -> int:
    return int(time.time())
