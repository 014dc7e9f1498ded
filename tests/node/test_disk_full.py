"""A repo whose disk fills up: the upload that does not fit is refused with 507 and a message that says so, nothing
of it stays, what was stored stays whole, and the node carries on once space is freed (also after a restart).
Needs a small tmpfs (root); skipped where it cannot be mounted."""
import os
import subprocess

import pytest
import requests

from conftest import Node


@pytest.fixture
def small_disk(workdir):
    mnt = os.path.join(workdir, "small-disk")
    os.makedirs(mnt)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", mnt], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", mnt], capture_output=True)


def test_disk_full_is_507_and_loses_nothing(make_node, small_disk):
    node = Node(os.path.join(small_disk, "repo"), "--storage-quota", "1GiB")
    node.start()
    try:
        small = os.urandom(1 << 20)
        kept = requests.post(node.url + "/data", data=small, timeout=60).text
        big = os.urandom(15 << 20)
        first = requests.post(node.url + "/data", data=big, timeout=120)
        assert first.status_code == 200, first.text
        before = node.space()
        # 15 MiB more does not fit on the 24 MiB disk (the quota would allow it).
        r = requests.post(node.url + "/data", data=os.urandom(15 << 20), timeout=120)
        assert r.status_code == 507, r.text
        assert "disk holding the repo is full" in r.text
        assert node.space() == before
        assert {d["cid"] for d in node.datasets()} == {kept, first.text}
        assert requests.get(node.url + f"/data/{kept}", timeout=60).content == small
        # Freeing space lets the next upload in.
        assert requests.delete(node.url + f"/data/{first.text}", timeout=60).status_code == 204
        again = requests.post(node.url + "/data", data=os.urandom(10 << 20), timeout=120)
        assert again.status_code == 200, again.text
        node.stop()
        node.start()
        assert {d["cid"] for d in node.datasets()} == {kept, again.text}
        assert requests.get(node.url + f"/data/{kept}", timeout=60).content == small
    finally:
        node.kill()
