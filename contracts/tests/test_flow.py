"""End-to-end money flow: request -> reserve -> fill -> proofs -> missed
proofs (slashing) -> forced free -> repair at a discount -> finish -> payouts
and client withdrawal; every balance checked against the spec's formulas."""

from market import FINISHED, PAID, REPAIR, STARTED, VALID_PROOF, slot_id


def test_full_lifecycle_with_repair(env):
    m, token = env.market, env.token
    h0, h1, h2, repairer = env.hosts[:4]
    v = env.validator
    accounts = [env.client, h0, h1, h2, repairer, v]
    start = {a: env.balance(a) for a in accounts}

    req, r = env.request(slots=3, maxSlotLoss=1, proofProbability=1, duration=1800, expiry=300)
    rid = req.id()
    pps, cps = req.price_per_slot_per_second, req.collateral_per_slot
    ends = r.timestamp + req.ask.duration
    fills = [env.fill(req, i, h) for i, h in enumerate((h0, h1, h2))]
    assert m.call("requestState", rid) == STARTED

    # hosts 1 and 2 prove in a few periods; host 0 never does
    for _ in range(3):
        env.next_period()
        for i, h in ((1, h1), (2, h2)):
            m.transact("submitProof", slot_id(rid, i), VALID_PROOF, sender=h)

    s0 = slot_id(rid, 0)
    slashed = cps * 20 // 100
    reward = slashed * 20 // 100
    p1 = env.missable_period(s0)
    m.transact("markProofAsMissing", s0, p1, sender=v)
    p2 = env.missable_period(s0)
    freed = m.transact("markProofAsMissing", s0, p2, sender=v)
    assert freed.named("SlotFreed")[0].args == {"requestId": rid, "slotIndex": 0}
    assert m.call("slotState", s0) == REPAIR
    assert m.call("requestState", rid) == STARTED  # 1 lost <= maxSlotLoss

    # repair: a new host fills slot 0 paying (100 - 10) % of the collateral
    env.next_period()
    discounted = cps - cps * 10 // 100
    refill = env.fill(req, 0, repairer, collateral=discounted)
    assert m.call("currentCollateral", s0) == cps

    # finish
    env.chain.travel(ends + 1)
    assert m.call("requestState", rid) == FINISHED
    for i, h in ((0, repairer), (1, h1), (2, h2)):
        m.transact("freeSlot", slot_id(rid, i), sender=h)
        assert m.call("slotState", slot_id(rid, i)) == PAID
    m.transact("withdrawFunds", rid, sender=env.client)

    pay = {
        repairer: (ends - refill.timestamp) * pps,
        h1: (ends - fills[1].timestamp) * pps,
        h2: (ends - fills[2].timestamp) * pps,
    }
    end = {a: env.balance(a) for a in accounts}
    assert end[h0] - start[h0] == -cps  # lost everything
    assert end[h1] - start[h1] == pay[h1]
    assert end[h2] - start[h2] == pay[h2]
    assert end[repairer] - start[repairer] == pay[repairer] + cps - discounted  # + repair reward
    assert end[v] - start[v] == 2 * reward
    assert end[env.client] - start[env.client] == -sum(pay.values())
    # what stays in the contract: host 0's forfeited collateral minus the
    # validator rewards and the repair reward
    assert env.balance(m.address) == cps - 2 * reward - (cps - discounted)
    assert m.call("myRequests", sender=env.client) == ()
    for h in (h0, h1, h2, repairer):
        assert m.call("mySlots", sender=h) == ()


def test_cancelled_request_compensates_early_fillers(env):
    m = env.market
    req, r = env.request(slots=3, maxSlotLoss=1, expiry=200)
    rid, pps, cps = req.id(), req.price_per_slot_per_second, req.collateral_per_slot
    f0 = env.fill(req, 0, env.hosts[0])
    f1 = env.fill(req, 1, env.hosts[1])
    expires = r.timestamp + req.expiry
    env.chain.travel(expires + 1)
    b = {h: env.balance(h) for h in env.hosts[:2]}
    bc = env.balance(env.client)
    w = m.transact("withdrawFunds", rid, sender=env.client)
    assert w.named("RequestCancelled")
    for f, i in ((f0, 0), (f1, 1)):
        m.transact("freeSlot", slot_id(rid, i), sender=env.hosts[i])
        assert env.balance(env.hosts[i]) == b[env.hosts[i]] + (expires - f.timestamp) * pps + cps
    paid = (expires - f0.timestamp) * pps + (expires - f1.timestamp) * pps
    assert env.balance(env.client) == bc + req.max_price - paid
    assert env.balance(m.address) == 0
