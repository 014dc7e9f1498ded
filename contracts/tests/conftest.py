import pathlib
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import build  # noqa: E402
from market import Env  # noqa: E402


@pytest.fixture(scope="session")
def artifacts():
    return build.compile_all()


@pytest.fixture(scope="module")
def _env(artifacts):
    return Env(artifacts)


@pytest.fixture
def env(_env):
    """A deployed marketplace; every test starts from the same snapshot."""
    snap = _env.chain.snapshot()
    yield _env
    _env.chain.revert(snap)
