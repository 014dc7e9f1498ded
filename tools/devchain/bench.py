"""Dev chain latency benchmark: prints JSON lines {name, value, unit, baseline}.

Measures JSON-RPC over HTTP against a devchain subprocess (eth_blockNumber,
eth_call, a full signed EIP-1559 transaction round trip), each with the same
operation done in-process on a DevChain (no HTTP) as the baseline.
Run: .venv-contracts/bin/python tools/devchain/bench.py [N]
"""

import json
import pathlib
import signal
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "tests"))

from eth_abi import encode  # noqa: E402

from devchain.deploy import LOCAL_CONFIG, deploy_all, load_artifacts  # noqa: E402
from devchain.rpc import DevChain  # noqa: E402
from test_devchain import Rpc, send_tx, sel  # noqa: E402


def timed(fn, n):
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n * 1000


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    artifacts_dir = HERE.parent.parent / ".build-contracts"
    art_arg = ["--artifacts", str(artifacts_dir)] if (artifacts_dir / "Marketplace.json").exists() else []
    out = pathlib.Path(tempfile.mkdtemp()) / "devchain.json"
    proc = subprocess.Popen([sys.executable, "-m", "devchain", "--port", "0", "--out", str(out), *art_arg],
                            cwd=HERE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not out.exists():
            time.sleep(0.2)
        info = json.loads(out.read_text())
        rpc = Rpc(info["rpcUrl"])

        local = DevChain()
        local.tester.mine_blocks(256)
        addrs = deploy_all(local, load_artifacts(str(artifacts_dir) if art_arg else None), LOCAL_CONFIG, 10**15)

        def local_req(method, *params):
            return local.handle({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})

        call_data = "0x" + (sel("configuration()")).hex()
        results = [
            ("eth_blockNumber", timed(lambda: rpc("eth_blockNumber"), n * 5),
             timed(lambda: local_req("eth_blockNumber"), n * 5)),
            ("eth_call_configuration", timed(lambda: rpc("eth_call", {"to": info["contracts"]["marketplace"],
                                                                       "data": call_data}, "latest"), n),
             timed(lambda: local_req("eth_call", {"to": addrs["marketplace"], "data": call_data}, "latest"), n)),
        ]
        acct, to = info["accounts"][4], info["accounts"][5]["address"]
        data = sel("transfer(address,uint256)") + encode(["address", "uint256"], [to, 1])
        http_tx = timed(lambda: send_tx(rpc, info, acct["privateKey"], info["contracts"]["token"], data), n)

        class LocalRpc:
            def __call__(self, method, *params):
                out = local_req(method, *params)
                assert "error" not in out, out
                return out["result"]

        local_info = {"chainId": local.chain_id}
        local_tx = timed(lambda: send_tx(LocalRpc(), local_info, local.private_keys[4], addrs["token"], data), n)
        results.append(("signed_tx_roundtrip", http_tx, local_tx))
        for name, value, baseline in results:
            print(json.dumps({"name": f"devchain_{name}", "value": round(value, 3), "unit": "ms",
                              "baseline": round(baseline, 3), "baseline_name": "in-process DevChain.handle"}))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
