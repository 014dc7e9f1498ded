"""Start the dev chain as a subprocess and talk raw JSON-RPC over HTTP."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest
import requests
from eth_abi import decode, encode
from eth_account import Account
from eth_utils import keccak

HERE = pathlib.Path(__file__).resolve().parent
DEVCHAIN = HERE.parent
REPO = DEVCHAIN.parent.parent


def sel(sig: str) -> bytes:
    return keccak(sig.encode())[:4]


class Rpc:
    def __init__(self, url):
        self.url = url
        self.session = requests.Session()
        self.next_id = 0

    def raw(self, payload):
        r = self.session.post(self.url, data=payload if isinstance(payload, (str, bytes)) else json.dumps(payload),
                              headers={"Content-Type": "application/json"}, timeout=30)
        r.raise_for_status()
        return r.json()

    def request(self, method, *params):
        self.next_id += 1
        return self.raw({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": list(params)})

    def __call__(self, method, *params):
        out = self.request(method, *params)
        assert "error" not in out, out
        return out["result"]


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    out = tmp_path_factory.mktemp("devchain") / "devchain.json"
    artifacts = REPO / ".build-contracts"
    args = [sys.executable, "-m", "devchain", "--port", "0", "--out", str(out), "--block-time", "1"]
    if (artifacts / "Marketplace.json").exists():
        args += ["--artifacts", str(artifacts)]
    proc = subprocess.Popen(args, cwd=DEVCHAIN, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 120
    while not out.exists():
        if proc.poll() is not None:
            raise AssertionError("devchain exited: " + proc.stdout.read())
        if time.time() > deadline:
            proc.kill()
            raise AssertionError("devchain did not become ready")
        time.sleep(0.2)
    info = json.loads(out.read_text())
    yield info, Rpc(info["rpcUrl"])
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def send_tx(rpc, info, key, to, data, value=0, gas=None):
    """Sign an EIP-1559 (type 2) transaction locally and send it raw."""
    acct = Account.from_key(key)
    nonce = int(rpc("eth_getTransactionCount", acct.address, "pending"), 16)
    tip = int(rpc("eth_maxPriorityFeePerGas"), 16)
    base = int(rpc("eth_getBlockByNumber", "latest", False)["baseFeePerGas"], 16)
    tx = {"type": 2, "chainId": info["chainId"], "nonce": nonce, "maxPriorityFeePerGas": tip,
          "maxFeePerGas": 2 * base + tip, "to": to, "value": value, "data": "0x" + data.hex()}
    if gas is None:
        est = {"from": acct.address, "to": to, "data": tx["data"], "value": hex(value)}
        gas = int(rpc("eth_estimateGas", est), 16) * 2
    tx["gas"] = gas
    signed = acct.sign_transaction(tx)
    txhash = rpc("eth_sendRawTransaction", "0x" + signed.raw_transaction.hex())
    for _ in range(100):
        receipt = rpc("eth_getTransactionReceipt", txhash)
        if receipt:
            return txhash, receipt
        time.sleep(0.1)
    raise AssertionError("no receipt")


def eth_call(rpc, to, data, sender=None, block="latest"):
    obj = {"to": to, "data": "0x" + data.hex()}
    if sender:
        obj["from"] = sender
    return bytes.fromhex(rpc("eth_call", obj, block)[2:])


def test_chain_basics(chain):
    info, rpc = chain
    assert rpc("eth_chainId") == hex(info["chainId"]) == "0x7a69"
    assert rpc("net_version") == "31337"
    assert info["accounts"][0]["address"] == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert Account.from_key(info["accounts"][5]["privateKey"]).address == info["accounts"][5]["address"]
    n0 = int(rpc("eth_blockNumber"), 16)
    assert n0 >= 256
    time.sleep(2.5)  # the miner produces about one block per second
    assert int(rpc("eth_blockNumber"), 16) >= n0 + 1
    bal = int(rpc("eth_getBalance", info["accounts"][3]["address"], "latest"), 16)
    assert bal > 10**18
    assert int(rpc("eth_gasPrice"), 16) >= int(rpc("eth_maxPriorityFeePerGas"), 16) == 10**9
    fh = rpc("eth_feeHistory", "0x4", "latest", [25, 75])
    assert len(fh["baseFeePerGas"]) == 5 and len(fh["gasUsedRatio"]) == 4 and len(fh["reward"][0]) == 2
    block = rpc("eth_getBlockByNumber", "latest", True)
    for key in ("number", "hash", "parentHash", "timestamp", "baseFeePerGas", "gasLimit", "transactions", "miner"):
        assert key in block
    assert rpc("eth_getBlockByNumber", hex(10**6), False) is None
    code = rpc("eth_getCode", info["contracts"]["marketplace"], "latest")
    assert len(code) > 2000


def test_deployed_contracts(chain):
    info, rpc = chain
    c = info["contracts"]
    token, market = c["token"], c["marketplace"]
    out = eth_call(rpc, token, sel("balanceOf(address)") + encode(["address"], [info["accounts"][7]["address"]]))
    assert int.from_bytes(out, "big") == int(info["accounts"][7]["tokens"])
    assert decode(["address"], eth_call(rpc, market, sel("token()")))[0].lower() == token.lower()
    cfg_t = "((uint8,uint8,uint8,uint8),(uint64,uint64,uint8,uint8,string),(uint8),uint64)"
    cfg = decode([cfg_t], eth_call(rpc, market, sel("configuration()")))[0]
    assert cfg == ((10, 2, 20, 20), (90, 30, 96, 97, ""), (3,), 30 * 24 * 3600)
    assert pathlib.Path(info["abiDir"], "Marketplace.json").exists()


def test_signed_eip1559_transactions_logs_and_filters(chain):
    info, rpc = chain
    c = info["contracts"]
    token, market = c["token"], c["marketplace"]
    client = info["accounts"][1]
    addr = client["address"]
    n_latest = int(rpc("eth_getTransactionCount", addr, "latest"), 16)

    flt = rpc("eth_newFilter", {"address": market})
    approve = sel("approve(address,uint256)") + encode(["address", "uint256"], [market, 10**12])
    txhash, receipt = send_tx(rpc, info, client["privateKey"], token, approve)
    assert receipt["status"] == "0x1" and receipt["transactionHash"] == txhash
    assert receipt["type"] == "0x2" and receipt["from"].lower() == addr.lower()
    assert int(rpc("eth_getTransactionCount", addr, "pending"), 16) == n_latest + 1
    approval_topic = "0x" + keccak(b"Approval(address,address,uint256)").hex()
    assert receipt["logs"][0]["topics"][0] == approval_topic
    tx = rpc("eth_getTransactionByHash", txhash)
    assert tx["input"] == "0x" + approve.hex() and tx["type"] == "0x2" and tx["chainId"] == "0x7a69"
    allowance = eth_call(rpc, token, sel("allowance(address,address)") + encode(["address", "address"], [addr, market]))
    assert int.from_bytes(allowance, "big") == 10**12

    # eth_getLogs with a single address string and a topic filter
    logs = rpc("eth_getLogs", {"fromBlock": receipt["blockNumber"], "toBlock": "latest", "address": token,
                               "topics": [approval_topic]})
    assert [lg["transactionHash"] for lg in logs] == [txhash]

    # a storage request through the marketplace
    ask = (4, 1, 1, 2, 1024, 3600, 1)
    request = (addr, ask, (b"zCid", b"\x01" * 32), 600, b"\x02" * 32)
    req_t = "(address,(uint256,uint256,uint256,uint64,uint64,uint64,uint64),(bytes,bytes32),uint64,bytes32)"
    data = sel(f"requestStorage({req_t})") + encode([req_t], [request])
    txhash, receipt = send_tx(rpc, info, client["privateKey"], market, data)
    assert receipt["status"] == "0x1"
    topic = "0x" + keccak(b"StorageRequested(bytes32,(uint256,uint256,uint256,uint64,uint64,uint64,uint64),uint64)").hex()
    changes = rpc("eth_getFilterChanges", flt)
    assert [lg["topics"][0] for lg in changes] == [topic]
    rid = keccak(encode([req_t], [request]))
    assert changes[0]["data"][2:66] == rid.hex()
    assert rpc("eth_getFilterChanges", flt) == []
    ids = decode(["bytes32[]"], eth_call(rpc, market, sel("myRequests()"), sender=addr))[0]
    assert ids == (rid,)
    assert rpc("eth_uninstallFilter", flt) is True


def test_revert_data_and_failed_transactions(chain):
    info, rpc = chain
    market = info["contracts"]["marketplace"]
    host = info["accounts"][2]
    data = sel("getRequest(bytes32)") + b"\x11" * 32
    out = rpc.request("eth_call", {"to": market, "data": "0x" + data.hex()}, "latest")
    assert out["error"]["code"] == 3 and out["error"]["data"] == "0xbdd64a7a"  # Marketplace_UnknownRequest()
    free = sel("freeSlot(bytes32)") + b"\x22" * 32
    est = rpc.request("eth_estimateGas", {"from": host["address"], "to": market, "data": "0x" + free.hex()})
    assert est["error"]["data"] == "0x8b41ec7f"  # Marketplace_SlotIsFree()
    # sent anyway (explicit gas): mined with status 0
    _, receipt = send_tx(rpc, info, host["privateKey"], market, free, gas=100_000)
    assert receipt["status"] == "0x0"
    # pending-state calls
    out = rpc.request("eth_call", {"to": market, "data": "0x" + data.hex()}, "pending")
    assert out["error"]["data"] == "0xbdd64a7a"


def test_time_controls(chain):
    info, rpc = chain
    latest = int(rpc("eth_getBlockByNumber", "latest", False)["timestamp"], 16)
    rpc("evm_increaseTime", 1000)
    rpc("evm_mine")
    t1 = int(rpc("eth_getBlockByNumber", "latest", False)["timestamp"], 16)
    assert latest + 1000 <= t1 <= latest + 1010
    rpc("evm_setNextBlockTimestamp", hex(t1 + 500))
    rpc("evm_mine")
    # the interval miner may have mined the block with that timestamp first
    latest_n = int(rpc("eth_blockNumber"), 16)
    recent = [int(rpc("eth_getBlockByNumber", hex(n), False)["timestamp"], 16) for n in range(latest_n - 3, latest_n + 1)]
    assert t1 + 500 in recent
    before = int(rpc("eth_blockNumber"), 16)
    rpc("evm_mine", {"timestamp": hex(t1 + 900)})  # atomic form
    # the interval miner may mine another block right after it: look at every block since, not only the latest
    after = int(rpc("eth_blockNumber"), 16)
    mined = [int(rpc("eth_getBlockByNumber", hex(n), False)["timestamp"], 16) for n in range(before + 1, after + 1)]
    assert t1 + 900 in mined, mined
    n = int(rpc("eth_blockNumber"), 16)
    rpc("evm_mine", 50)
    assert int(rpc("eth_blockNumber"), 16) >= n + 50
    assert "error" in rpc.request("evm_setNextBlockTimestamp", hex(t1))  # not in the past


def test_protocol_errors(chain):
    info, rpc = chain
    assert rpc.raw(b"{not json")["error"]["code"] == -32700
    assert rpc.request("eth_noSuchMethod")["error"]["code"] == -32601
    batch = rpc.raw([{"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
                     {"jsonrpc": "2.0", "id": 2, "method": "net_version", "params": []}])
    assert [r["result"] for r in batch] == ["0x7a69", "31337"]
    bad = rpc.request("eth_sendRawTransaction", "0x02deadbeef")
    assert "error" in bad
    assert rpc("eth_getTransactionReceipt", "0x" + "ab" * 32) is None


def test_unfunded_callers_and_dev_account_transactions(chain):
    info, rpc = chain
    market = info["contracts"]["marketplace"]
    stranger = Account.create().address  # no ether: calls are free, like geth
    out = eth_call(rpc, market, sel("myRequests()"), sender=stranger, block="pending")
    assert decode(["bytes32[]"], out)[0] == ()
    a, b = info["accounts"][9]["address"], info["accounts"][10]["address"]
    before = int(rpc("eth_getBalance", b, "latest"), 16)
    txhash = rpc("eth_sendTransaction", {"from": a, "to": b, "value": hex(12345)})
    assert rpc("eth_getTransactionReceipt", txhash)["status"] == "0x1"
    assert int(rpc("eth_getBalance", b, "latest"), 16) == before + 12345
