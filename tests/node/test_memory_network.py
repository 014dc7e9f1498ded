"""A node streaming many datasets from its peers to slow readers at once: the prefetch windows shrink as the
streams multiply, so they do not hold 16 MiB each."""
import hashlib
import os
import subprocess

import requests

from test_memory import peak_rss_mib
from test_network import connect


def test_slow_network_streams_share_the_prefetch_memory(make_node, workdir):
    seeder = make_node("seeder").start()
    leecher = make_node("leecher").start()
    clients = 16
    datasets = []
    for k in range(clients):
        body = os.urandom(16 << 20)
        cid = requests.post(seeder.url + "/data", data=body, headers={"Content-Type": ""}, timeout=120).text
        datasets.append((cid, hashlib.sha256(body).hexdigest()))
    connect(leecher, seeder)
    for cid, _ in datasets:
        assert requests.get(leecher.url + f"/data/{cid}/network/manifest", timeout=60).status_code == 200

    # One slow reader per dataset: each holds whatever its prefetch window fetched ahead of it.
    readers = [
        subprocess.Popen(f"curl -sS --fail --limit-rate 3M {leecher.url}/data/{cid}/network/stream | sha256sum",
                         shell=True, stdout=subprocess.PIPE, text=True)
        for cid, _ in datasets]
    digests = [p.communicate(timeout=300)[0].split()[0] for p in readers]
    assert digests == [digest for _, digest in datasets]
    peak = peak_rss_mib(leecher)
    print("peak RSS MiB", peak)
    # 16 windows of 256 blocks are 256 MiB (measured peak 374 MiB); shared, 64 blocks each, 64 MiB (206-220 MiB).
    assert peak < 290, f"peak RSS {peak} MiB streaming to {clients} slow readers"
