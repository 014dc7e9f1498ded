"""reserveSlot/canReserveSlot, fillSlot, freeSlot (both forms), slot views and states."""

import pytest

from evm import Reverted
from market import (CANCELLED, FILLED, FREE, INVALID_PROOF, PAID, REPAIR, SLOT_CANCELLED, SLOT_FAILED,
                    SLOT_FINISHED, VALID_PROOF, slot_id)


def expect(name, fn, *args, **kw):
    with pytest.raises(Reverted) as exc:
        fn(*args, **kw)
    assert exc.value.name == name, exc.value
    return exc.value


def test_reservations(env):
    req, _ = env.request()
    rid, m = req.id(), env.market
    h = env.hosts
    assert m.call("canReserveSlot", rid, 0, sender=h[0])
    assert m.transact("reserveSlot", rid, 0, sender=h[0]).named("SlotReservationsFull") == []
    assert not m.call("canReserveSlot", rid, 0, sender=h[0])  # one reservation per host
    expect("SlotReservations_ReservationNotAllowed", m.transact, "reserveSlot", rid, 0, sender=h[0])
    m.transact("reserveSlot", rid, 0, sender=h[1])
    full = m.transact("reserveSlot", rid, 0, sender=h[2])
    assert full.named("SlotReservationsFull")[0].args == {"requestId": rid, "slotIndex": 0}
    assert not m.call("canReserveSlot", rid, 0, sender=h[3])  # maxReservations = 3
    expect("SlotReservations_ReservationNotAllowed", m.transact, "reserveSlot", rid, 0, sender=h[3])
    assert m.call("canReserveSlot", rid, 1, sender=h[3])  # other slots are independent


def test_reservation_not_allowed_once_filled_and_kept_on_fill(env):
    req, _ = env.request()
    rid, m = req.id(), env.market
    env.fill(req, 0, env.hosts[0])
    assert not m.call("canReserveSlot", rid, 0, sender=env.hosts[1])
    # reservations are not cleared on fill: a second host that reserved earlier
    # still cannot fill a Filled slot
    m.transact("reserveSlot", rid, 1, sender=env.hosts[1])
    env.fill(req, 1, env.hosts[2])
    env.token.transact("approve", m.address, req.collateral_per_slot, sender=env.hosts[1])
    expect("Marketplace_SlotNotFree", m.transact, "fillSlot", rid, 1, VALID_PROOF, sender=env.hosts[1])


def test_fill_slot_checks(env):
    req, r = env.request()
    rid, m, host = req.id(), env.market, env.hosts[0]
    expect("Marketplace_InvalidSlot", m.transact, "fillSlot", rid, 4, VALID_PROOF, sender=host)
    expect("Marketplace_ReservationRequired", m.transact, "fillSlot", rid, 0, VALID_PROOF, sender=host)
    m.transact("reserveSlot", rid, 0, sender=host)
    expect("Proofs_InvalidProof", m.transact, "fillSlot", rid, 0, INVALID_PROOF, sender=host)
    expect("ERC20InsufficientAllowance", m.transact, "fillSlot", rid, 0, VALID_PROOF, sender=host)
    # cancelled request: not free any more
    env.chain.travel(r.timestamp + req.expiry + 1)
    env.token.transact("approve", m.address, req.collateral_per_slot, sender=host)
    expect("Marketplace_SlotNotFree", m.transact, "fillSlot", rid, 0, VALID_PROOF, sender=host)


def test_fill_slot_effects(env):
    req, r = env.request()
    rid, m, host = req.id(), env.market, env.hosts[0]
    sid = slot_id(rid, 1)
    assert m.call("slotState", sid) == FREE
    env.next_period()
    before = env.balance(host)
    f = env.fill(req, 1, host)
    assert [e.name for e in f.events if e.name != "Transfer"] == ["ProofSubmitted", "SlotFilled"]
    assert f.named("ProofSubmitted")[0].args == {"id": sid}
    assert f.named("SlotFilled")[0].args == {"requestId": rid, "slotIndex": 1}
    assert env.balance(host) == before - req.collateral_per_slot
    assert m.call("slotState", sid) == FILLED
    assert m.call("getHost", sid).lower() == host.lower()
    assert m.call("currentCollateral", sid) == req.collateral_per_slot
    assert m.call("mySlots", sender=host) == (sid,)
    active = m.call("getActiveSlot", sid)
    assert active[1] == 1 and active[0][4] == req.nonce
    # a proof was recorded for the filling period
    expect("Proofs_ProofAlreadySubmitted", m.transact, "submitProof", sid, VALID_PROOF, sender=host)


def test_free_slot_checks(env):
    req, r = env.request()
    rid, m = req.id(), env.market
    sid = slot_id(rid, 0)
    expect("Marketplace_SlotIsFree", m.transact, "freeSlot", sid, sender=env.hosts[0])
    expect("Marketplace_SlotIsFree", m.transact, "freeSlot", sid, env.hosts[0], env.hosts[0], sender=env.hosts[0])
    expect("Marketplace_SlotIsFree", m.call, "getActiveSlot", sid)
    env.fill(req, 0, env.hosts[0])
    expect("Marketplace_InvalidSlotHost", m.transact, "freeSlot", sid, sender=env.hosts[1])


def test_free_filled_slot_is_forced_free(env):
    req, r = env.request()
    rid, m, host = req.id(), env.market, env.hosts[0]
    sid = slot_id(rid, 0)
    m.transact("reserveSlot", rid, 0, sender=env.hosts[1])  # reservations of a filled slot...
    env.fill(req, 0, host)
    assert not m.call("canReserveSlot", rid, 0, sender=env.hosts[1])
    before = env.balance(host)
    fr = m.transact("freeSlot", sid, sender=host)
    assert fr.named("SlotFreed")[0].args == {"requestId": rid, "slotIndex": 0}
    assert env.balance(host) == before  # collateral forfeited
    assert m.call("slotState", sid) == REPAIR
    assert m.call("getHost", sid) == "0x" + "00" * 20
    assert m.call("currentCollateral", sid) == 0
    assert m.call("mySlots", sender=host) == ()
    # ...are cleared by a forced free: host 1 may reserve again
    assert m.call("canReserveSlot", rid, 0, sender=env.hosts[1])
    # getActiveSlot works for a slot in repair (stored state is not Free)
    assert m.call("getActiveSlot", sid)[1] == 0
    # the old host is no host any more
    expect("Marketplace_InvalidSlotHost", m.transact, "freeSlot", sid, sender=host)


def test_repair_fill_pays_discounted_collateral(env):
    req, r = env.request()
    rid, m = req.id(), env.market
    sid = slot_id(rid, 2)
    env.next_period()
    env.fill(req, 2, env.hosts[0])
    m.transact("freeSlot", sid, sender=env.hosts[0])
    repairer = env.hosts[1]
    # upstream quirk kept: proofs are recorded per slot and period, so the slot
    # cannot be refilled in the period of the previous host's proof
    m.transact("reserveSlot", rid, 2, sender=repairer)
    env.token.transact("approve", m.address, req.collateral_per_slot, sender=repairer)
    expect("Proofs_ProofAlreadySubmitted", m.transact, "fillSlot", rid, 2, VALID_PROOF, sender=repairer)
    env.chain.advance(env.period)
    before = env.balance(repairer)
    discounted = req.collateral_per_slot - req.collateral_per_slot * 10 // 100
    env.fill(req, 2, repairer, collateral=discounted, reserve=False)
    assert env.balance(repairer) == before - discounted
    assert m.call("currentCollateral", sid) == req.collateral_per_slot  # full amount tracked
    assert m.call("slotState", sid) == FILLED


def test_payout_finished_slot_both_forms(env):
    req, r = env.request(slots=2, maxSlotLoss=0)
    rid, m = req.id(), env.market
    fills = env.start(req)
    end = r.timestamp + req.ask.duration
    env.chain.travel(end + 1)
    s0, s1 = slot_id(rid, 0), slot_id(rid, 1)
    assert m.call("slotState", s0) == SLOT_FINISHED
    h0, h1 = env.hosts[0], env.hosts[1]
    b0 = env.balance(h0)
    m.transact("freeSlot", s0, sender=h0)
    assert env.balance(h0) == b0 + (end - fills[0].timestamp) * req.price_per_slot_per_second + req.collateral_per_slot
    assert m.call("slotState", s0) == PAID
    expect("Marketplace_AlreadyPaid", m.transact, "freeSlot", s0, sender=h0)
    assert m.call("myRequests", sender=env.client) == ()  # removed on the first payout
    # three-argument form: reward and collateral to different accounts
    rr, cr = env.others[0], env.others[1]
    brr, bcr, bh1 = env.balance(rr), env.balance(cr), env.balance(h1)
    m.transact("freeSlot", s1, rr, cr, sender=h1)
    assert env.balance(rr) == brr + (end - fills[1].timestamp) * req.price_per_slot_per_second
    assert env.balance(cr) == bcr + req.collateral_per_slot
    assert env.balance(h1) == bh1
    assert m.call("mySlots", sender=h1) == ()


def test_payout_cancelled_slot_up_to_expiry(env):
    req, r = env.request()
    rid, m, host = req.id(), env.market, env.hosts[0]
    sid = slot_id(rid, 0)
    f = env.fill(req, 0, host)
    expires = r.timestamp + req.expiry
    env.chain.travel(expires + 1)
    assert m.call("requestState", rid) == CANCELLED
    assert m.call("slotState", sid) == SLOT_CANCELLED
    before = env.balance(host)
    m.transact("freeSlot", sid, sender=host)
    assert env.balance(host) == before + (expires - f.timestamp) * req.price_per_slot_per_second + req.collateral_per_slot
    assert m.call("slotState", sid) == PAID
    # the client gets the rest: everything not paid to the host
    bc = env.balance(env.client)
    m.transact("withdrawFunds", rid, sender=env.client)
    assert env.balance(env.client) == bc + req.max_price - (expires - f.timestamp) * req.price_per_slot_per_second
    assert env.balance(m.address) == 0


def test_failed_slot_free_pays_nothing(env):
    req, r = env.request(slots=2, maxSlotLoss=0)
    rid, m = req.id(), env.market
    env.start(req)
    m.transact("freeSlot", slot_id(rid, 0), sender=env.hosts[0])  # fails the request
    s1 = slot_id(rid, 1)
    assert m.call("slotState", s1) == SLOT_FAILED
    before = env.balance(env.hosts[1])
    m.transact("freeSlot", s1, sender=env.hosts[1])
    assert env.balance(env.hosts[1]) == before
    assert m.call("mySlots", sender=env.hosts[1]) == ()
    assert m.call("slotState", s1) == SLOT_FAILED


def test_unknown_selector_and_short_free_slot_revert(env):
    with pytest.raises(Reverted) as exc:
        env.chain.send_raw(env.market.address, bytes.fromhex("deadbeef"), env.hosts[0])
    assert exc.value.data == b""
    with pytest.raises(Reverted):
        env.chain.send_raw(env.market.address, bytes.fromhex("a29c29a4") + b"\x01" * 31, env.hosts[0])


def test_my_slots_order_matches_enumerable_set(env):
    req, _ = env.request(slots=4, maxSlotLoss=3)
    rid, m, host = req.id(), env.market, env.hosts[0]
    for i in range(4):
        env.fill(req, i, host)
    ids = [slot_id(rid, i) for i in range(4)]
    env.chain.advance(env.period)
    assert m.call("mySlots", sender=host) == tuple(ids)
    m.transact("freeSlot", ids[1], sender=host)  # swap-and-pop: last moves into the hole
    assert m.call("mySlots", sender=host) == (ids[0], ids[3], ids[2])


def test_finished_request_slots_are_not_free(env):
    req, r = env.request(slots=2, maxSlotLoss=1)
    rid, m = req.id(), env.market
    env.start(req)
    m.transact("freeSlot", slot_id(rid, 0), sender=env.hosts[0])  # Repair, request still Started
    env.chain.travel(r.timestamp + req.ask.duration + 1)
    assert m.call("slotState", slot_id(rid, 0)) == SLOT_FINISHED
    assert not m.call("canReserveSlot", rid, 0, sender=env.hosts[3])
    m_ = env.token.transact("approve", m.address, req.collateral_per_slot, sender=env.hosts[0])
    assert m_.status == 1
    # the old reservations were cleared by the forced free
    expect("Marketplace_ReservationRequired", m.transact, "fillSlot", rid, 0, VALID_PROOF, sender=env.hosts[1])


def test_fill_at_expiry_cannot_be_paid_when_cancelled(env):
    """Upstream quirk kept: a slot filled exactly at expiresAt (still New) gets
    a zero-length payout window once cancelled, and freeSlot reverts."""
    req, r = env.request()
    rid, m, host = req.id(), env.market, env.hosts[0]
    expires = r.timestamp + req.expiry
    m.transact("reserveSlot", rid, 0, sender=host)
    env.token.transact("approve", m.address, req.collateral_per_slot, sender=host)
    env.chain.travel(expires)
    f = m.transact("fillSlot", rid, 0, VALID_PROOF, sender=host)
    assert f.timestamp == expires
    env.chain.advance(1)
    assert m.call("slotState", slot_id(rid, 0)) == SLOT_CANCELLED
    expect("Marketplace_StartNotBeforeExpiry", m.transact, "freeSlot", slot_id(rid, 0), sender=host)
