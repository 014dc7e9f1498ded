"""requestStorage, withdrawFunds, request views and lazily computed request states."""

import pytest

from evm import Reverted
from market import CANCELLED, FAILED, FINISHED, NEW, STARTED, Request


def expect(name, fn, *args, **kw):
    with pytest.raises(Reverted) as exc:
        fn(*args, **kw)
    assert exc.value.name == name, exc.value
    return exc.value


def test_request_storage_pulls_max_price_and_emits(env):
    before = env.balance(env.client)
    req, r = env.request()
    assert env.balance(env.client) == before - req.max_price
    assert env.balance(env.market.address) == req.max_price
    (ev,) = r.named("StorageRequested")
    assert ev.args["requestId"] == req.id()
    assert ev.args["ask"] == req.ask.tuple()
    assert ev.args["expiry"] == r.timestamp + req.expiry  # absolute expiry
    assert env.market.call("requestExpiry", req.id()) == r.timestamp + req.expiry
    assert env.market.call("requestEnd", req.id()) == r.timestamp + req.ask.duration
    assert env.market.call("requestState", req.id()) == NEW
    got = env.market.call("getRequest", req.id())
    assert got[1:] == req.tuple()[1:] and got[0].lower() == req.client.lower()
    assert env.market.call("myRequests", sender=env.client) == (req.id(),)
    assert env.market.call("myRequests", sender=env.hosts[0]) == ()


@pytest.mark.parametrize("change,error", [
    (dict(expiry=0), "Marketplace_InvalidExpiry"),
    (dict(expiry=3600), "Marketplace_InvalidExpiry"),  # expiry == duration
    (dict(slots=0, maxSlotLoss=0), "Marketplace_InsufficientSlots"),
    (dict(maxSlotLoss=5), "Marketplace_InvalidMaxSlotLoss"),
    (dict(proofProbability=0), "Marketplace_InsufficientProofProbability"),
    (dict(collateralPerByte=0), "Marketplace_InsufficientCollateral"),
    (dict(pricePerBytePerSecond=0), "Marketplace_InsufficientReward"),
    (dict(duration=30 * 24 * 3600 + 1, expiry=10), "Marketplace_DurationExceedsLimit"),
])
def test_request_storage_checks(env, change, error):
    req = env.new_request(**change)
    env.token.transact("approve", env.market.address, 10**25, sender=env.client)
    expect(error, env.market.transact, "requestStorage", req.tuple(), sender=env.client)


def test_request_storage_check_order_and_identity(env):
    req = env.new_request()
    # a client other than the sender
    expect("Marketplace_InvalidClientAddress", env.market.transact, "requestStorage", req.tuple(), sender=env.hosts[0])
    # empty cid
    bad = env.new_request()
    bad.cid = b""
    expect("Marketplace_InvalidCid", env.market.transact, "requestStorage", bad.tuple(), sender=env.client)
    # duration 0 fails on the expiry check first (expiry >= duration)
    zero = env.new_request(duration=0, expiry=1)
    expect("Marketplace_InvalidExpiry", env.market.transact, "requestStorage", zero.tuple(), sender=env.client)
    # the duration limit is inclusive
    env.request(env.new_request(duration=30 * 24 * 3600, expiry=10, slotSize=1))
    env.request(req)
    expect("Marketplace_RequestAlreadyExists", env.market.transact, "requestStorage", req.tuple(), sender=env.client)


def test_request_storage_needs_allowance(env):
    req = env.new_request()
    env.token.transact("approve", env.market.address, req.max_price - 1, sender=env.client)
    expect("ERC20InsufficientAllowance", env.market.transact, "requestStorage", req.tuple(), sender=env.client)


def test_unknown_request_reverts(env):
    rid = b"\x12" * 32
    for fn in ("getRequest", "requestState", "requestEnd"):
        expect("Marketplace_UnknownRequest", env.market.call, fn, rid)
    expect("Marketplace_UnknownRequest", env.market.transact, "withdrawFunds", rid, sender=env.client)
    expect("Marketplace_UnknownRequest", env.market.transact, "fillSlot", rid, 0, ((1, 2), ((3, 4), (5, 6)), (7, 8)),
           sender=env.hosts[0])
    assert env.market.call("requestExpiry", rid) == 0


def test_expiry_makes_new_request_cancelled_lazily(env):
    req, r = env.request()
    expires = r.timestamp + req.expiry
    env.chain.travel(expires)
    assert env.market.call("requestState", req.id()) == NEW  # `>` not `>=`
    env.chain.travel(expires + 1)
    assert env.market.call("requestState", req.id()) == CANCELLED
    assert env.market.call("requestEnd", req.id()) == expires


def test_withdraw_cancelled_unfilled_request_refunds_everything(env):
    req, r = env.request()
    expect("Marketplace_InvalidState", env.market.transact, "withdrawFunds", req.id(), sender=env.client)
    env.chain.travel(r.timestamp + req.expiry + 1)
    expect("Marketplace_InvalidClientAddress", env.market.transact, "withdrawFunds", req.id(), sender=env.hosts[0])
    before = env.balance(env.client)
    w = env.market.transact("withdrawFunds", req.id(), sender=env.client)
    assert [e.name for e in w.events if e.name != "Transfer"] == ["RequestCancelled"]
    assert w.named("RequestCancelled")[0].args["requestId"] == req.id()
    assert env.balance(env.client) == before + req.max_price
    assert env.balance(env.market.address) == 0
    assert env.market.call("myRequests", sender=env.client) == ()
    expect("Marketplace_NothingToWithdraw", env.market.transact, "withdrawFunds", req.id(), sender=env.client)


def test_withdraw_to_recipient(env):
    req, r = env.request()
    env.chain.travel(r.timestamp + req.expiry + 1)
    other = env.others[0]
    before = env.balance(other)
    env.market.transact("withdrawFunds", req.id(), other, sender=env.client)
    assert env.balance(other) == before + req.max_price


def test_started_request_finishes_after_end(env):
    req, r = env.request()
    fills = env.start(req)
    assert env.market.call("requestState", req.id()) == STARTED
    end = r.timestamp + req.ask.duration
    assert env.market.call("requestEnd", req.id()) == end
    expect("Marketplace_InvalidState", env.market.transact, "withdrawFunds", req.id(), sender=env.client)
    env.chain.travel(end + 1)
    assert env.market.call("requestState", req.id()) == FINISHED
    assert env.market.call("requestEnd", req.id()) == end  # min(endsAt, now)
    # the client gets the price of the time before each fill
    unused = sum((f.timestamp - r.timestamp) * req.price_per_slot_per_second for f in fills)
    before = env.balance(env.client)
    w = env.market.transact("withdrawFunds", req.id(), sender=env.client)
    assert w.named("RequestCancelled") == []
    assert env.balance(env.client) == before + unused
    expect("Marketplace_NothingToWithdraw", env.market.transact, "withdrawFunds", req.id(), sender=env.client)


def test_request_fulfilled_only_when_all_slots_filled(env):
    req, _ = env.request(slots=2, maxSlotLoss=0)
    r0 = env.fill(req, 0, env.hosts[0])
    assert r0.named("RequestFulfilled") == []
    assert env.market.call("requestState", req.id()) == NEW
    r1 = env.fill(req, 1, env.hosts[1])
    assert r1.named("RequestFulfilled")[0].args["requestId"] == req.id()
    assert env.market.call("requestState", req.id()) == STARTED


def test_failed_request(env):
    req, r = env.request(slots=3, maxSlotLoss=1)
    env.start(req)
    from market import slot_id
    # hosts leaving early = forced frees; losing 2 > maxSlotLoss fails the request
    f0 = env.market.transact("freeSlot", slot_id(req.id(), 0), sender=env.hosts[0])
    assert f0.named("SlotFreed")[0].args == {"requestId": req.id(), "slotIndex": 0}
    assert f0.named("RequestFailed") == []
    assert env.market.call("requestState", req.id()) == STARTED
    f1 = env.market.transact("freeSlot", slot_id(req.id(), 1), sender=env.hosts[1])
    assert f1.named("RequestFailed")[0].args["requestId"] == req.id()
    assert env.market.call("requestState", req.id()) == FAILED
    assert env.market.call("requestEnd", req.id()) == f1.timestamp - 1
    # the client gets the full max price back
    before = env.balance(env.client)
    env.market.transact("withdrawFunds", req.id(), sender=env.client)
    assert env.balance(env.client) == before + req.max_price
    expect("Marketplace_NothingToWithdraw", env.market.transact, "withdrawFunds", req.id(), sender=env.client)


def test_new_request_never_fails(env):
    # forced frees while New do not fail the request even beyond maxSlotLoss
    req, _ = env.request(slots=3, maxSlotLoss=0)
    from market import slot_id
    env.fill(req, 0, env.hosts[0])
    env.fill(req, 1, env.hosts[1])
    env.market.transact("freeSlot", slot_id(req.id(), 0), sender=env.hosts[0])
    env.market.transact("freeSlot", slot_id(req.id(), 1), sender=env.hosts[1])
    assert env.market.call("requestState", req.id()) == NEW
