"""ABI compatibility with codex-contracts-eth: selectors, topics, error
selectors (spec section 1.9) and byte-identical request/slot ids (1.1)."""

from eth_abi import encode
from eth_utils import keccak

from evm import abi_type
from market import REQUEST_T, Ask, Request, slot_id

FUNCTIONS = {
    "6c70bee9": "configuration()",
    "fc0c546a": "token()",
    "26d6f834": "currentCollateral(bytes32)",
    "99b6da0c": "requestStorage((address,(uint256,uint256,uint256,uint64,uint64,uint64,uint64),(bytes,bytes32),uint64,bytes32))",
    "12827602": "reserveSlot(bytes32,uint64)",
    "d02bbe33": "canReserveSlot(bytes32,uint64)",
    "1d873c1b": "fillSlot(bytes32,uint64,((uint256,uint256),((uint256,uint256),(uint256,uint256)),(uint256,uint256)))",
    "a29c29a4": "freeSlot(bytes32)",
    "0aefaabe": "freeSlot(bytes32,address,address)",
    "e8aa0a07": "submitProof(bytes32,((uint256,uint256),((uint256,uint256),(uint256,uint256)),(uint256,uint256)))",
    "d1bb36b6": "canMarkProofAsMissing(bytes32,uint64)",
    "237d8482": "markProofAsMissing(bytes32,uint64)",
    "6e2b54ee": "withdrawFunds(bytes32)",
    "c5d43351": "withdrawFunds(bytes32,address)",
    "b396dc79": "getActiveSlot(bytes32)",
    "fb1e61ca": "getRequest(bytes32)",
    "02fa8e65": "requestEnd(bytes32)",
    "329b5a0b": "requestExpiry(bytes32)",
    "6b00c8cf": "getHost(bytes32)",
    "05b90773": "requestState(bytes32)",
    "be5cdc48": "slotState(bytes32)",
    "51a76642": "slotProbability(bytes32)",
    "f752196b": "missingProofs(bytes32)",
    "4641dce6": "getPointer(bytes32)",
    "458d2bf1": "getChallenge(bytes32)",
    "c0cc4add": "isProofRequired(bytes32)",
    "a3a0807e": "willProofBeRequired(bytes32)",
    "9777b72c": "myRequests()",
    "5da73835": "mySlots()",
}

EVENTS = {
    "1bf9c457accf8703dbf7cdf1b58c2f74ddf2e525f98155c70b3d318d74609bd8": "StorageRequested",
    "85e1543bf2f84fe80c6badbce3648c8539ad1df4d2b3d822938ca0538be727e6": "RequestFulfilled",
    "4769361a442504ecaf038f35e119bcccdd5e42096b24c09e3c17fd17c6684c02": "RequestFailed",
    "f903f4774c7bd27355f9d7fcbc382b079b164a697a44ac5d95267a4c3cb3bb22": "RequestCancelled",
    "8f301470a994578b52323d625dfbf827ca5208c81747d3459be7b8867baec3ec": "SlotFilled",
    "33ba8f7627565d89f7ada2a6b81ea532b7aa9b11e91a78312d6e1fca0bfcd1dc": "SlotFreed",
    "c8e6c955744189a19222ec226b72ac1435d88d5745252dac56e6f679f64c037a": "SlotReservationsFull",
    "3b989d183b84b02259d7c14b34a9c9eb0fccb4c355a920d25e581e25aef4993d": "ProofSubmitted",
}

INDEXED = {"RequestFulfilled": ["requestId"], "RequestFailed": ["requestId"], "RequestCancelled": ["requestId"],
           "SlotFilled": ["requestId"], "SlotFreed": ["requestId"], "SlotReservationsFull": ["requestId"],
           "StorageRequested": [], "ProofSubmitted": []}

ERRORS = {
    "2bd81630": "Marketplace_RepairRewardPercentageTooHigh", "c2cbf777": "Marketplace_AlreadyPaid",
    "a9cbc156": "Marketplace_SlashPercentageTooHigh", "f8599ffa": "Marketplace_TransferFailed",
    "5ffe743c": "Marketplace_MaximumSlashingTooHigh", "bdd64a7a": "Marketplace_UnknownRequest",
    "df63f61a": "Marketplace_InvalidExpiry", "c00b5b57": "Marketplace_InvalidState",
    "b9551ab1": "Marketplace_InvalidMaxSlotLoss", "56607cb0": "Marketplace_StartNotBeforeExpiry",
    "535ed2be": "Marketplace_InsufficientSlots", "ae9dcffd": "Marketplace_SlotNotAcceptingProofs",
    "090a5ecd": "Marketplace_InsufficientDuration", "ce351b94": "Marketplace_ProofNotSubmittedByHost",
    "6aba7aae": "Marketplace_InsufficientProofProbability", "8b41ec7f": "Marketplace_SlotIsFree",
    "fb7df0c7": "Marketplace_InsufficientCollateral", "d651ce18": "Marketplace_ReservationRequired",
    "47ba51c7": "Marketplace_InsufficientReward", "bd8bdd94": "Marketplace_NothingToWithdraw",
    "698d3c62": "Marketplace_InvalidClientAddress", "1267b3f2": "Marketplace_DurationExceedsLimit",
    "fc7d0690": "Marketplace_RequestAlreadyExists", "71ebecc2": "Proofs_InsufficientBlockHeight",
    "3b920b88": "Marketplace_InvalidSlot", "fcd03a47": "Proofs_InvalidProof",
    "86f8cf9b": "Marketplace_InvalidCid", "3edef7db": "Proofs_ProofAlreadySubmitted",
    "ff556acf": "Marketplace_SlotNotFree", "6b4b1a4e": "Proofs_PeriodNotEnded",
    "57a6f4e9": "Marketplace_InvalidSlotHost", "de55698e": "Proofs_ValidationTimedOut",
    "00fab7d9": "Proofs_ProofNotMissing", "d3ffa66b": "Proofs_ProofNotRequired",
    "98e7e551": "Proofs_ProofAlreadyMarkedMissing", "2aa6d8e0": "Periods_InvalidSecondsPerPeriod",
    "424a04ab": "SlotReservations_ReservationNotAllowed",
}

ERC20 = {"095ea7b3": "approve(address,uint256)", "dd62ed3e": "allowance(address,address)",
         "70a08231": "balanceOf(address)", "a9059cbb": "transfer(address,uint256)",
         "23b872dd": "transferFrom(address,address,uint256)"}


def signatures(abi, kind):
    out = {}
    for e in abi:
        if e["type"] == kind:
            sig = f"{e['name']}({','.join(abi_type(i) for i in e['inputs'])})"
            out[sig] = e
    return out


def test_function_selectors_match_upstream(artifacts):
    sigs = signatures(artifacts["Marketplace"]["abi"], "function")
    ours = {keccak(s.encode())[:4].hex(): s for s in sigs}
    assert ours == FUNCTIONS  # exactly the upstream external surface, nothing more


def test_event_topics_and_indexing_match_upstream(artifacts):
    sigs = signatures(artifacts["Marketplace"]["abi"], "event")
    ours = {keccak(s.encode()).hex(): e["name"] for s, e in sigs.items()}
    assert ours == EVENTS
    for e in sigs.values():
        assert [i["name"] for i in e["inputs"] if i["indexed"]] == INDEXED[e["name"]]


def test_error_selectors_match_upstream(artifacts):
    sigs = signatures(artifacts["Marketplace"]["abi"], "error")
    ours = {keccak(s.encode())[:4].hex(): e["name"] for s, e in sigs.items()}
    assert ours == ERRORS


def test_return_types(artifacts):
    fns = {e["name"]: e for e in artifacts["Marketplace"]["abi"] if e["type"] == "function"}
    out = lambda n: [abi_type(o) for o in fns[n]["outputs"]]  # noqa: E731
    assert out("configuration") == ["((uint8,uint8,uint8,uint8),(uint64,uint64,uint8,uint8,string),(uint8),uint64)"]
    assert out("getRequest") == [REQUEST_T]
    assert out("getActiveSlot") == [f"({REQUEST_T},uint64)"]
    assert out("requestState") == ["uint8"] and out("slotState") == ["uint8"]
    assert out("myRequests") == ["bytes32[]"] and out("mySlots") == ["bytes32[]"]
    assert out("getPointer") == ["uint8"] and out("requestEnd") == ["uint64"]
    assert out("canMarkProofAsMissing") == []


def test_token_and_verifier_selectors(artifacts):
    sigs = signatures(artifacts["TestToken"]["abi"], "function")
    ours = {keccak(s.encode())[:4].hex() for s in sigs}
    assert set(ERC20) <= ours
    topics = {keccak(s.encode()).hex() for s in signatures(artifacts["TestToken"]["abi"], "event")}
    assert topics == {"ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef",
                      "8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b2291e5b200ac8c7c3b925"}
    for name in ("TestVerifier", "Groth16Verifier"):
        sigs = signatures(artifacts[name]["abi"], "function")
        assert {keccak(s.encode())[:4].hex() for s in sigs} == {"94c8919d"}


def manual_request_encoding(req: Request) -> bytes:
    """The layout of spec 1.1, word by word, independent of any ABI library."""
    w = lambda n: n.to_bytes(32, "big")  # noqa: E731
    cid = req.cid + b"\0" * (-len(req.cid) % 32)
    a = req.ask
    return b"".join([
        w(0x20),
        bytes(12) + bytes.fromhex(req.client[2:]),
        w(a.proofProbability), w(a.pricePerBytePerSecond), w(a.collateralPerByte),
        w(a.slots), w(a.slotSize), w(a.duration), w(a.maxSlotLoss),
        w(0x160), w(req.expiry), req.nonce,
        w(0x40), req.merkleRoot, w(len(req.cid)), cid,
    ])


def test_request_id_layout_vector():
    req = Request(
        client="0x" + "11" * 20,
        ask=Ask(proofProbability=4, pricePerBytePerSecond=1, collateralPerByte=1, slots=4,
                slotSize=1 << 30, duration=36000, maxSlotLoss=2),
        cid=b"zb2rhheVmk3bLks5MgzTqyznLu1zqGH5jrfTA1eAZXrjx7Vob",
        merkleRoot=bytes(range(32)), expiry=3600, nonce=bytes(range(32, 64)),
    )
    enc = manual_request_encoding(req)
    assert enc == encode([REQUEST_T], [req.tuple()])
    assert len(enc) == 32 * 15 + 64  # 12 head words, content: 3 words + 2 words of cid
    assert req.id() == keccak(enc)
    sid = slot_id(req.id(), 3)
    assert sid == keccak(req.id() + (3).to_bytes(32, "big"))
    # pinned regression vector (shared with the Swift ABI tests if they want it)
    assert req.id().hex() == "0ad4092086f9da293145d1f5a73b22d688bcb1e0e38d793dc2a1cc0b413bdd53"
    assert sid.hex() == "5cd771376a3d30070a3eb49f04ce59e5f874d1a12477ba0dc45ded0b9ea268f7"


def test_contract_ids_are_byte_identical(env):
    for cid_len in (1, 31, 32, 33, 38, 100):
        req = env.new_request()
        req.cid = bytes([7]) * cid_len
        req.ask.proofProbability = 2**255 + cid_len  # full-width words
        _, receipt = env.request(req)
        (ev,) = receipt.named("StorageRequested")
        assert ev.args["requestId"] == keccak(manual_request_encoding(req)) == req.id()
        assert env.market.call("myRequests", sender=env.client)[-1] == req.id()
    # slot ids: the contract's SlotId is what getActiveSlot / slotState use
    req, _ = env.request()
    env.fill(req, 2, env.hosts[0])
    sid = keccak(req.id() + (2).to_bytes(32, "big"))
    assert env.market.call("mySlots", sender=env.hosts[0]) == (sid,)
    active = env.market.call("getActiveSlot", sid)
    assert active[1] == 2 and active[0][1:] == req.tuple()[1:]
    assert active[0][0].lower() == req.client.lower()
