"""`codex ... persistence` against the dev chain: what /debug/info reports, and the start-up failures."""
import json
import os
import re

import requests

from conftest import free_port, rpc

BALANCE_OF = "0x70a08231"  # balanceOf(address)


def token_balance(chain, address):
    data = BALANCE_OF + "00" * 12 + address[2:].lower()
    return int(rpc(chain["rpcUrl"], "eth_call", [{"to": chain["contracts"]["token"], "data": data}, "latest"]), 16)


def persistence_args(chain, key_path, *extra, provider=None, marketplace=True):
    args = ["--eth-provider", provider or chain["rpcUrl"], "--eth-private-key", key_path]
    if marketplace:
        args += ["--marketplace-address", chain["contracts"]["marketplace"]]
    return args + list(extra)


def test_debug_info_shows_chain_account_and_funded_balances(devchain, key_file, make_node):
    account = devchain["accounts"][3]
    node = make_node("n0", persistence_args=persistence_args(devchain, key_file(account["privateKey"])))
    seconds = node.start()
    lines = [line for line in node.output().splitlines() if "marketplace connected" in line]
    connected = re.search(r"startupMs=(\d+)", lines[0]) if lines else None
    assert connected, "the node logs one 'marketplace connected' line"
    baseline = make_node("n0-plain").start()
    # Benchmark lines (JSON, one per measurement): start-up with persistence vs. the same node without it.
    print(json.dumps({"name": "market_node.startup_to_api", "value": round(seconds, 3), "unit": "s",
                      "baseline": round(baseline, 3), "baseline_name": "plain node startup_to_api"}))
    print(json.dumps({"name": "market_node.first_chain_request_to_config_and_token", "value": int(connected.group(1)),
                      "unit": "ms"}))
    info = node.get("/debug/info").json()
    mp = info["marketplace"]
    assert mp["chainId"] == 31337
    assert mp["account"] == account["address"]
    assert mp["marketplaceAddress"] == devchain["contracts"]["marketplace"]
    assert mp["tokenAddress"] == devchain["contracts"]["token"]
    assert mp["provider"] == devchain["rpcUrl"]
    assert mp["validator"] is False
    # The balances the dev chain funded: 10,000 ETH (nothing spent by this account) and the minted test tokens.
    eth = int(rpc(devchain["rpcUrl"], "eth_getBalance", [account["address"], "latest"]), 16)
    assert int(mp["ethBalance"]) == eth == 10_000 * 10**18
    assert int(mp["tokenBalance"]) == int(account["tokens"]) == token_balance(devchain, account["address"])
    assert mp["configuration"]["periodSeconds"] == devchain["marketplaceConfig"]["proofs"]["period"]
    assert mp["configuration"]["maxReservations"] == 3
    assert "balanceError" not in mp
    # Marketplace routes: simple reads work, the unbuilt state machines say so.
    slots = node.get("/sales/slots")
    assert slots.status_code == 200 and slots.json() == []
    purchases = node.get("/storage/purchases")
    assert purchases.status_code == 501 and "not implemented" in purchases.text
    node.stop()
    assert node.proc.returncode == 0


def test_failover_to_the_second_provider_and_validator_flag(devchain, key_file, make_node):
    dead = f"http://127.0.0.1:{free_port()}"
    node = make_node("n1", persistence_args=persistence_args(
        devchain, key_file(devchain["accounts"][4]["privateKey"]), "--validator", "--validator-groups", "4",
        "--validator-group-index", "3", provider=f"{dead},{devchain['rpcUrl']}"))
    node.start()
    mp = node.get("/debug/info").json()["marketplace"]
    assert mp["provider"] == devchain["rpcUrl"]
    assert mp["providers"] == [dead, devchain["rpcUrl"]]
    assert mp["validator"] is True
    assert mp["account"] == devchain["accounts"][4]["address"]


def test_options_from_environment(devchain, key_file, make_node):
    account = devchain["accounts"][5]
    env = {"CODEX_ETH_PROVIDER": devchain["rpcUrl"], "CODEX_ETH_PRIVATE_KEY": key_file(account["privateKey"]),
           "CODEX_MARKETPLACE_ADDRESS": devchain["contracts"]["marketplace"]}
    node = make_node("n2", persistence_args=[], env=env)
    node.start()
    assert node.get("/debug/info").json()["marketplace"]["account"] == account["address"]


def test_without_persistence_market_routes_are_503(make_node):
    node = make_node("plain")
    node.start()
    assert "marketplace" not in node.get("/debug/info").json()
    for path in ["/sales/slots", "/sales/availability", "/storage/purchases"]:
        r = node.get(path)
        assert r.status_code == 503 and r.text == "Persistence is not enabled", path


def test_unreachable_provider_exits_with_the_urls_tried(devchain, key_file, make_node):
    dead1, dead2 = f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"
    node = make_node("dead", persistence_args=persistence_args(
        devchain, key_file(devchain["accounts"][6]["privateKey"]), provider=f"{dead1},{dead2}"))
    rc, seconds, out = node.wait_exit(timeout=60)
    assert rc == 1
    assert seconds < 10, f"refused connections must fail fast, took {seconds:.1f} s"
    assert "no Ethereum provider is reachable" in out
    assert dead1 in out and dead2 in out


def test_address_without_code_is_wrong_chain_or_address(devchain, key_file, make_node):
    key = key_file(devchain["accounts"][7]["privateKey"])
    not_a_contract = devchain["accounts"][8]["address"]
    node = make_node("nocode", persistence_args=persistence_args(
        devchain, key, "--marketplace-address", not_a_contract, marketplace=False))
    rc, _, out = node.wait_exit(timeout=60)
    assert rc != 0
    assert "no contract code at marketplace address" in out and "wrong chain or wrong address" in out
    assert not_a_contract in out


def test_default_address_for_chain_31337_has_no_code_on_the_dev_chain(devchain, key_file, make_node):
    # Without --marketplace-address the node picks hardhat's known address for chain 31337, where the dev chain
    # deployed nothing: the error must say so (and suggest --marketplace-address).
    node = make_node("default", persistence_args=persistence_args(
        devchain, key_file(devchain["accounts"][7]["privateKey"]), marketplace=False))
    rc, _, out = node.wait_exit(timeout=60)
    assert rc != 0
    assert "0x322813Fd9A801c5507c9de605d63CEA4f2CE6c44" in out and "--marketplace-address" in out


def test_loose_key_file_is_refused(devchain, key_file, make_node):
    path = key_file(devchain["accounts"][9]["privateKey"], mode=0o644)
    node = make_node("loose", persistence_args=persistence_args(devchain, path))
    rc, seconds, out = node.wait_exit(timeout=60)
    assert rc != 0
    assert "unsafe permissions 644" in out and f"chmod 600 {path}" in out
    assert not os.path.exists(os.path.join(node.data_dir, "repo")), "the repo must not be opened"


def test_garbage_key_file_is_refused(devchain, key_file, make_node):
    path = key_file(None, text="this is not a key\n")
    node = make_node("garbage", persistence_args=persistence_args(devchain, path))
    rc, _, out = node.wait_exit(timeout=60)
    assert rc != 0
    assert "does not hold a private key" in out


def test_account_without_key_and_bad_groups_are_usage_errors(devchain, make_node):
    node = make_node("acct", persistence_args=["--eth-provider", devchain["rpcUrl"], "--eth-account",
                                               devchain["accounts"][1]["address"]])
    rc, _, out = node.wait_exit(timeout=30)
    assert rc == 64
    assert "--eth-private-key" in out
    node = make_node("groups", persistence_args=["--eth-private-key", "/nonexistent", "--validator-groups", "3",
                                                 "--validator-group-index", "3"])
    rc, _, out = node.wait_exit(timeout=30)
    assert rc == 64
    assert "--validator-group-index" in out
