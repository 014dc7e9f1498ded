"""python -m devchain: start the dev chain, deploy the contracts, write a JSON
description (addresses, accounts with private keys) and serve JSON-RPC until
interrupted. See tools/devchain/README.md."""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import pathlib
import signal
import sys
import threading

from .deploy import LOCAL_CONFIG, REPO, load_artifacts, deploy_all
from .rpc import DevChain, serve


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="devchain", description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8545)
    ap.add_argument("--chain-id", type=int, default=31337)
    ap.add_argument("--accounts", type=int, default=20)
    ap.add_argument("--block-time", type=float, default=1.0, help="seconds between mined blocks (0: only on demand)")
    ap.add_argument("--premine", type=int, default=256, help="blocks mined before deploying (Proofs needs 256)")
    ap.add_argument("--mint", type=int, default=10**15, help="test tokens minted to every account")
    ap.add_argument("--out", default=str(REPO / ".build-contracts" / "devchain.json"), help="JSON file to write")
    ap.add_argument("--artifacts", default=None, help="directory of compiled <Name>.json (default: compile now)")
    ap.add_argument("--verifier", choices=["test", "groth16"], default="test")
    ap.add_argument("--vk", default=None, help="snarkjs verification_key.json for --verifier groth16")
    ap.add_argument("--period", type=int, default=LOCAL_CONFIG["proofs"]["period"])
    ap.add_argument("--timeout", type=int, default=LOCAL_CONFIG["proofs"]["timeout"])
    ap.add_argument("--downtime", type=int, default=LOCAL_CONFIG["proofs"]["downtime"])
    ap.add_argument("--downtime-product", type=int, default=LOCAL_CONFIG["proofs"]["downtimeProduct"])
    ap.add_argument("--zkey-hash", default="")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="devchain: %(message)s")
    config = copy.deepcopy(LOCAL_CONFIG)
    config["proofs"].update(period=args.period, timeout=args.timeout, downtime=args.downtime,
                            downtimeProduct=args.downtime_product, zkeyHash=args.zkey_hash)

    artifacts = load_artifacts(args.artifacts)
    chain = DevChain(chain_id=args.chain_id, accounts=args.accounts)
    chain.tester.mine_blocks(args.premine)
    addresses = deploy_all(chain, artifacts, config, args.mint, args.verifier, args.vk)

    server = serve(chain, args.host, args.port)
    host, port = server.server_address[:2]
    chain.start_miner(args.block_time)

    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    abi_dir = out.parent / "abi"
    abi_dir.mkdir(exist_ok=True)
    for name, art in artifacts.items():
        (abi_dir / f"{name}.json").write_text(json.dumps(art["abi"], indent=1))
    info = {
        "rpcUrl": f"http://{host}:{port}",
        "chainId": args.chain_id,
        "blockTime": args.block_time,
        "deployBlock": int(chain.block_number(), 16),
        "contracts": {"token": addresses["token"], "verifier": addresses["verifier"],
                      "marketplace": addresses["marketplace"]},
        "verifier": addresses["verifierKind"],
        "marketplaceConfig": config,
        "abiDir": str(abi_dir),
        "deployer": {"address": chain.accounts[0], "privateKey": chain.private_keys[0]},
        "accounts": [{"address": a, "privateKey": k, "tokens": str(args.mint)}
                     for a, k in zip(chain.accounts, chain.private_keys)],
        "pid": os.getpid(),
    }
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(info, indent=1))
    tmp.replace(out)
    print(f"devchain ready: {info['rpcUrl']} chainId {args.chain_id} marketplace {addresses['marketplace']} "
          f"(details in {out})", flush=True)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    chain.stop()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
