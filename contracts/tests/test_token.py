"""TestToken (ERC-20) and TestVerifier."""

import pytest
from eth_abi import encode

from evm import Reverted
from market import INVALID_PROOF, VALID_PROOF


def test_erc20(env):
    t = env.token
    a, b, c = env.others[0], env.others[1], env.hosts[0]
    assert (t.call("name"), t.call("symbol"), t.call("decimals")) == ("TestToken", "TST", 18)
    supply = t.call("totalSupply")
    r = t.transact("mint", a, 5)
    assert t.call("totalSupply") == supply + 5
    assert r.named("Transfer")[0].args == {"sender": "0x" + "00" * 20, "receiver": a.lower(), "value": 5}
    bal_a, bal_b = t.call("balanceOf", a), t.call("balanceOf", b)
    assert t.transact("transfer", b, 7, sender=a).named("Transfer")
    assert (t.call("balanceOf", a), t.call("balanceOf", b)) == (bal_a - 7, bal_b + 7)
    with pytest.raises(Reverted) as e:
        t.transact("transfer", b, bal_a + 1, sender=a)
    assert e.value.name == "ERC20InsufficientBalance"
    assert e.value.data[4:] == encode(["address", "uint256", "uint256"], [a, bal_a - 7, bal_a + 1])
    ap = t.transact("approve", c, 10, sender=a)
    assert ap.named("Approval")[0].args == {"owner": a.lower(), "spender": c.lower(), "value": 10}
    assert t.call("allowance", a, c) == 10
    t.transact("transferFrom", a, b, 4, sender=c)
    assert t.call("allowance", a, c) == 6
    with pytest.raises(Reverted) as e:
        t.transact("transferFrom", a, b, 7, sender=c)
    assert e.value.name == "ERC20InsufficientAllowance"
    t.transact("approve", c, 2**256 - 1, sender=a)  # infinite allowance is not decreased
    t.transact("transferFrom", a, b, 1, sender=c)
    assert t.call("allowance", a, c) == 2**256 - 1
    with pytest.raises(Reverted) as e:
        t.transact("transfer", "0x" + "00" * 20, 1, sender=a)
    assert e.value.name == "ERC20InvalidReceiver"


def test_test_verifier(env):
    v = env.verifier
    assert v.call("verify", VALID_PROOF, [1, 2, 3]) is True
    assert v.call("verify", ((0, 0), ((0, 0), (0, 0)), (0, 1)), []) is True
    assert v.call("verify", INVALID_PROOF, [1, 2, 3]) is False
