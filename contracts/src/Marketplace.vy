# pragma version 0.4.3
# pragma evm-version paris
# pragma optimize gas
"""
@title Codex storage marketplace (Vyper port)
@notice Requests, slot reservations, storage proofs, periods and state
        retrieval in one contract, with the same external ABI (functions,
        struct layouts, events, custom-error selectors) as codex-contracts-eth's
        Marketplace.sol, written from shared/spec/marketplace.md section 1.
        Custom errors are raised with raw_revert of the error selector.
        Enum values (RequestState, SlotState) are plain uint8 in the ABI.
"""

# ---------------------------------------------------------------- types --

MAX_CID: constant(uint256) = 256
MAX_ZKEY_HASH: constant(uint256) = 256
# upper bound of the arrays returned by myRequests() / mySlots()
MAX_LIST: constant(uint256) = 1024


struct Ask:
    proofProbability: uint256
    pricePerBytePerSecond: uint256
    collateralPerByte: uint256
    slots: uint64
    slotSize: uint64
    duration: uint64
    maxSlotLoss: uint64


struct Content:
    cid: Bytes[MAX_CID]
    merkleRoot: bytes32


struct Request:
    client: address
    ask: Ask
    content: Content
    expiry: uint64
    nonce: bytes32


struct G1Point:
    x: uint256
    y: uint256


struct Fp2Element:
    real: uint256
    imag: uint256


struct G2Point:
    x: Fp2Element
    y: Fp2Element


struct Groth16Proof:
    a: G1Point
    b: G2Point
    c: G1Point


struct CollateralConfig:
    repairRewardPercentage: uint8
    maxNumberOfSlashes: uint8
    slashPercentage: uint8
    validatorRewardPercentage: uint8


struct ProofConfig:
    period: uint64
    timeout: uint64
    downtime: uint8
    downtimeProduct: uint8
    zkeyHash: String[MAX_ZKEY_HASH]


struct SlotReservationsConfig:
    maxReservations: uint8


struct MarketplaceConfig:
    collateral: CollateralConfig
    proofs: ProofConfig
    reservations: SlotReservationsConfig
    requestDurationLimit: uint64


# The request's stored state and startedAt live in one packed word
# (_requestStatus: state | startedAt << 8), as Solidity packs them, which keeps
# the gas of the fill that starts a request close to that of the others.
struct RequestContext:
    fundsToReturnToClient: uint256
    slotsFilled: uint64
    endsAt: uint64
    expiresAt: uint64


struct Slot:
    state: uint8
    requestId: bytes32
    filledAt: uint64
    slotIndex: uint64
    currentCollateral: uint256
    host: address


struct ActiveSlot:
    request: Request
    slotIndex: uint64


# RequestState
REQ_NEW: constant(uint8) = 0
REQ_STARTED: constant(uint8) = 1
REQ_CANCELLED: constant(uint8) = 2
REQ_FINISHED: constant(uint8) = 3
REQ_FAILED: constant(uint8) = 4

# SlotState
SLOT_FREE: constant(uint8) = 0
SLOT_FILLED: constant(uint8) = 1
SLOT_FINISHED: constant(uint8) = 2
SLOT_FAILED: constant(uint8) = 3
SLOT_PAID: constant(uint8) = 4
SLOT_CANCELLED: constant(uint8) = 5
SLOT_REPAIR: constant(uint8) = 6

# keys of the two per-account sets kept for state retrieval
SET_REQUESTS: constant(uint256) = 0
SET_SLOTS: constant(uint256) = 1


interface IERC20:
    def transfer(to: address, amount: uint256) -> bool: nonpayable
    def transferFrom(owner: address, to: address, amount: uint256) -> bool: nonpayable


interface IGroth16Verifier:
    def verify(proof: Groth16Proof, pubSignals: DynArray[uint256, 3]) -> bool: view


# --------------------------------------------------------------- events --

event StorageRequested:
    requestId: bytes32
    ask: Ask
    expiry: uint64

event RequestFulfilled:
    requestId: indexed(bytes32)

event RequestFailed:
    requestId: indexed(bytes32)

event SlotFilled:
    requestId: indexed(bytes32)
    slotIndex: uint64

event SlotFreed:
    requestId: indexed(bytes32)
    slotIndex: uint64

event RequestCancelled:
    requestId: indexed(bytes32)

event SlotReservationsFull:
    requestId: indexed(bytes32)
    slotIndex: uint64

event ProofSubmitted:
    id: bytes32


# ---------------------------------------------------------------- state --

TOKEN: immutable(address)
VERIFIER: immutable(address)
SECONDS_PER_PERIOD: immutable(uint64)
PROOF_TIMEOUT: immutable(uint64)
DOWNTIME: immutable(uint8)
DOWNTIME_PRODUCT: immutable(uint8)
MAX_RESERVATIONS: immutable(uint8)
REPAIR_REWARD_PCT: immutable(uint256)
MAX_SLASHES: immutable(uint64)
SLASH_PCT: immutable(uint256)
VALIDATOR_REWARD_PCT: immutable(uint256)
DURATION_LIMIT: immutable(uint64)

_config: MarketplaceConfig

_requests: HashMap[bytes32, Request]
_requestContexts: HashMap[bytes32, RequestContext]
_requestStatus: HashMap[bytes32, uint256]
_slots: HashMap[bytes32, Slot]

# bookkeeping only (MarketplaceTotals)
_totalReceived: uint256
_totalSent: uint256

# Proofs
_slotStarts: HashMap[bytes32, uint64]
_missed: HashMap[bytes32, uint64]
_received: HashMap[bytes32, HashMap[uint64, bool]]
_missing: HashMap[bytes32, HashMap[uint64, bool]]

# SlotReservations: per (slot, generation) the reserving hosts in seats
# 0, 1, ... (filled in order, at most maxReservations); clearing all
# reservations of a slot starts a new generation. Every reservation writes one
# fresh seat, so reservations cost about the same gas.
_resGeneration: HashMap[bytes32, uint256]
_resSeats: HashMap[bytes32, HashMap[uint256, HashMap[uint256, address]]]

# StateRetrieval: enumerable bytes32 sets per account (swap-and-pop removal,
# so the order of values matches OpenZeppelin's EnumerableSet)
_setLength: HashMap[uint256, HashMap[address, uint256]]
_setValueAt: HashMap[uint256, HashMap[address, HashMap[uint256, bytes32]]]
_setPosition: HashMap[uint256, HashMap[address, HashMap[bytes32, uint256]]]


@deploy
def __init__(config: MarketplaceConfig, token_: address, verifier: address):
    # Periods
    if config.proofs.period == 0:
        raw_revert(method_id("Periods_InvalidSecondsPerPeriod()"))
    # Proofs
    if block.number <= 256:
        raw_revert(method_id("Proofs_InsufficientBlockHeight()"))
    # Marketplace
    if config.collateral.repairRewardPercentage > 100:
        raw_revert(method_id("Marketplace_RepairRewardPercentageTooHigh()"))
    if config.collateral.slashPercentage > 100:
        raw_revert(method_id("Marketplace_SlashPercentageTooHigh()"))
    if convert(config.collateral.maxNumberOfSlashes, uint256) * convert(
        config.collateral.slashPercentage, uint256
    ) > 100:
        raw_revert(method_id("Marketplace_MaximumSlashingTooHigh()"))

    TOKEN = token_
    VERIFIER = verifier
    SECONDS_PER_PERIOD = config.proofs.period
    PROOF_TIMEOUT = config.proofs.timeout
    DOWNTIME = config.proofs.downtime
    DOWNTIME_PRODUCT = config.proofs.downtimeProduct
    MAX_RESERVATIONS = config.reservations.maxReservations
    REPAIR_REWARD_PCT = convert(config.collateral.repairRewardPercentage, uint256)
    MAX_SLASHES = convert(config.collateral.maxNumberOfSlashes, uint64)
    SLASH_PCT = convert(config.collateral.slashPercentage, uint256)
    VALIDATOR_REWARD_PCT = convert(config.collateral.validatorRewardPercentage, uint256)
    DURATION_LIMIT = config.requestDurationLimit
    self._config = config


# -------------------------------------------------------------- helpers --

@internal
@view
def _now() -> uint64:
    return convert(block.timestamp, uint64)


@internal
@pure
def _slotId(requestId: bytes32, slotIndex: uint64) -> bytes32:
    return keccak256(abi_encode(requestId, slotIndex))


@internal
@view
def _requireKnown(requestId: bytes32):
    if self._requests[requestId].client == empty(address):
        raw_revert(method_id("Marketplace_UnknownRequest()"))


@internal
@view
def _pricePerSlotPerSecond(requestId: bytes32) -> uint256:
    return self._requests[requestId].ask.pricePerBytePerSecond * convert(
        self._requests[requestId].ask.slotSize, uint256
    )


@internal
@view
def _collateralPerSlot(requestId: bytes32) -> uint256:
    return self._requests[requestId].ask.collateralPerByte * convert(
        self._requests[requestId].ask.slotSize, uint256
    )


@internal
@view
def _maxPrice(requestId: bytes32) -> uint256:
    ask: Ask = self._requests[requestId].ask
    return (
        convert(ask.slots, uint256)
        * convert(ask.duration, uint256)
        * ask.pricePerBytePerSecond
        * convert(ask.slotSize, uint256)
    )


@internal
@view
def _slotPayout(requestId: bytes32, start: uint64, end: uint64) -> uint256:
    if start >= end:
        raw_revert(method_id("Marketplace_StartNotBeforeExpiry()"))
    return convert(end - start, uint256) * self._pricePerSlotPerSecond(requestId)


@internal
def _pullTokens(owner: address, amount: uint256):
    if not extcall IERC20(TOKEN).transferFrom(owner, self, amount):
        raw_revert(method_id("Marketplace_TransferFailed()"))


@internal
def _sendTokens(to: address, amount: uint256):
    if not extcall IERC20(TOKEN).transfer(to, amount):
        raw_revert(method_id("Marketplace_TransferFailed()"))


# ------------------------------------------------ state retrieval sets --

@internal
def _setAdd(kind: uint256, owner: address, item: bytes32):
    if self._setPosition[kind][owner][item] != 0:
        return
    n: uint256 = self._setLength[kind][owner]
    self._setValueAt[kind][owner][n] = item
    self._setLength[kind][owner] = n + 1
    self._setPosition[kind][owner][item] = n + 1


@internal
def _setRemove(kind: uint256, owner: address, item: bytes32):
    position: uint256 = self._setPosition[kind][owner][item]
    if position == 0:
        return
    last: uint256 = self._setLength[kind][owner] - 1
    if position - 1 != last:
        moved: bytes32 = self._setValueAt[kind][owner][last]
        self._setValueAt[kind][owner][position - 1] = moved
        self._setPosition[kind][owner][moved] = position
    self._setValueAt[kind][owner][last] = empty(bytes32)
    self._setLength[kind][owner] = last
    self._setPosition[kind][owner][item] = 0


@internal
@view
def _setValues(kind: uint256, owner: address) -> DynArray[bytes32, MAX_LIST]:
    result: DynArray[bytes32, MAX_LIST] = []
    n: uint256 = min(self._setLength[kind][owner], MAX_LIST)
    for i: uint256 in range(n, bound=MAX_LIST):
        result.append(self._setValueAt[kind][owner][i])
    return result


@external
@view
def myRequests() -> DynArray[bytes32, MAX_LIST]:
    return self._setValues(SET_REQUESTS, msg.sender)


@external
@view
def mySlots() -> DynArray[bytes32, MAX_LIST]:
    return self._setValues(SET_SLOTS, msg.sender)


# --------------------------------------------------------------- states --

@internal
@view
def _storedRequestState(requestId: bytes32) -> uint8:
    return convert(self._requestStatus[requestId] & 255, uint8)


@internal
def _storeRequestState(requestId: bytes32, state: uint8):
    # keeps startedAt (bits 8 and up)
    self._requestStatus[requestId] = (self._requestStatus[requestId] & ~convert(255, uint256)) | convert(
        state, uint256
    )


@internal
@view
def _requestState(requestId: bytes32) -> uint8:
    self._requireKnown(requestId)
    stored: uint8 = self._storedRequestState(requestId)
    ts: uint64 = self._now()
    if stored == REQ_NEW and ts > self._requestContexts[requestId].expiresAt:
        return REQ_CANCELLED
    if (stored == REQ_STARTED or stored == REQ_NEW) and ts > self._requestContexts[
        requestId
    ].endsAt:
        return REQ_FINISHED
    return stored


@internal
@view
def _slotState(slotId: bytes32) -> uint8:
    requestId: bytes32 = self._slots[slotId].requestId
    if requestId == empty(bytes32):
        return SLOT_FREE
    requestState: uint8 = self._requestState(requestId)
    stored: uint8 = self._slots[slotId].state
    if stored == SLOT_PAID:
        return SLOT_PAID
    if requestState == REQ_CANCELLED:
        return SLOT_CANCELLED
    if requestState == REQ_FINISHED:
        return SLOT_FINISHED
    if requestState == REQ_FAILED:
        return SLOT_FAILED
    return stored


@external
@view
def requestState(requestId: bytes32) -> uint8:
    return self._requestState(requestId)


@external
@view
def slotState(slotId: bytes32) -> uint8:
    return self._slotState(slotId)


# ---------------------------------------------------------------- views --

@external
@view
def configuration() -> MarketplaceConfig:
    return self._config


@external
@view
def token() -> address:
    return TOKEN


@external
@view
def currentCollateral(slotId: bytes32) -> uint256:
    return self._slots[slotId].currentCollateral


@external
@view
def getRequest(requestId: bytes32) -> Request:
    self._requireKnown(requestId)
    return self._requests[requestId]


@external
@view
def getActiveSlot(slotId: bytes32) -> ActiveSlot:
    if self._slots[slotId].state == SLOT_FREE:
        raw_revert(method_id("Marketplace_SlotIsFree()"))
    return ActiveSlot(
        request=self._requests[self._slots[slotId].requestId],
        slotIndex=self._slots[slotId].slotIndex,
    )


@external
@view
def getHost(slotId: bytes32) -> address:
    return self._slots[slotId].host


@external
@view
def requestEnd(requestId: bytes32) -> uint64:
    state: uint8 = self._requestState(requestId)
    if state == REQ_NEW or state == REQ_STARTED:
        return self._requestContexts[requestId].endsAt
    if state == REQ_CANCELLED:
        return self._requestContexts[requestId].expiresAt
    return min(self._requestContexts[requestId].endsAt, self._now())


@external
@view
def requestExpiry(requestId: bytes32) -> uint64:
    return self._requestContexts[requestId].expiresAt


# ------------------------------------------------------------- requests --

@external
def requestStorage(request: Request):
    requestId: bytes32 = keccak256(abi_encode(request))

    if request.client != msg.sender:
        raw_revert(method_id("Marketplace_InvalidClientAddress()"))
    if self._requests[requestId].client != empty(address):
        raw_revert(method_id("Marketplace_RequestAlreadyExists()"))
    if request.expiry == 0 or request.expiry >= request.ask.duration:
        raw_revert(method_id("Marketplace_InvalidExpiry()"))
    if request.ask.slots == 0:
        raw_revert(method_id("Marketplace_InsufficientSlots()"))
    if request.ask.maxSlotLoss > request.ask.slots:
        raw_revert(method_id("Marketplace_InvalidMaxSlotLoss()"))
    if request.ask.duration == 0:
        raw_revert(method_id("Marketplace_InsufficientDuration()"))
    if request.ask.proofProbability == 0:
        raw_revert(method_id("Marketplace_InsufficientProofProbability()"))
    if request.ask.collateralPerByte == 0:
        raw_revert(method_id("Marketplace_InsufficientCollateral()"))
    if request.ask.pricePerBytePerSecond == 0:
        raw_revert(method_id("Marketplace_InsufficientReward()"))
    if len(request.content.cid) == 0:
        raw_revert(method_id("Marketplace_InvalidCid()"))
    if request.ask.duration > DURATION_LIMIT:
        raw_revert(method_id("Marketplace_DurationExceedsLimit()"))

    self._requests[requestId] = request
    ts: uint64 = self._now()
    expiresAt: uint64 = ts + request.expiry
    self._requestContexts[requestId].endsAt = ts + request.ask.duration
    self._requestContexts[requestId].expiresAt = expiresAt

    self._setAdd(SET_REQUESTS, request.client, requestId)

    amount: uint256 = self._maxPrice(requestId)
    self._requestContexts[requestId].fundsToReturnToClient = amount
    self._totalReceived += amount
    self._pullTokens(msg.sender, amount)

    log StorageRequested(requestId=requestId, ask=request.ask, expiry=expiresAt)


@external
def withdrawFunds(requestId: bytes32, withdrawRecipient: address = msg.sender):
    self._requireKnown(requestId)
    client: address = self._requests[requestId].client
    if client != msg.sender:
        raw_revert(method_id("Marketplace_InvalidClientAddress()"))

    state: uint8 = self._requestState(requestId)
    if state != REQ_CANCELLED and state != REQ_FAILED and state != REQ_FINISHED:
        raw_revert(method_id("Marketplace_InvalidState()"))

    # zero funds to return marks "already withdrawn"
    if self._requestContexts[requestId].fundsToReturnToClient == 0:
        raw_revert(method_id("Marketplace_NothingToWithdraw()"))

    if state == REQ_CANCELLED:
        self._storeRequestState(requestId, REQ_CANCELLED)
        log RequestCancelled(requestId=requestId)
        # hosts of a cancelled request are only paid up to expiry: give the
        # client back what was earmarked for [expiresAt, endsAt) per filled slot
        self._requestContexts[requestId].fundsToReturnToClient += convert(
            self._requestContexts[requestId].slotsFilled, uint256
        ) * self._slotPayout(
            requestId,
            self._requestContexts[requestId].expiresAt,
            self._requestContexts[requestId].endsAt,
        )
    elif state == REQ_FAILED:
        # hosts of a failed request get nothing: refund everything
        self._requestContexts[requestId].fundsToReturnToClient = self._maxPrice(requestId)
    else:
        self._storeRequestState(requestId, REQ_FINISHED)

    self._setRemove(SET_REQUESTS, client, requestId)

    amount: uint256 = self._requestContexts[requestId].fundsToReturnToClient
    self._totalSent += amount
    self._sendTokens(withdrawRecipient, amount)
    self._requestContexts[requestId].fundsToReturnToClient = 0


# ---------------------------------------------------------- reservations --

@internal
@view
def _reservations(slotId: bytes32, host: address) -> (uint256, bool):
    """(number of reservations, whether `host` holds one) in the current generation."""
    generation: uint256 = self._resGeneration[slotId]
    limit: uint256 = convert(MAX_RESERVATIONS, uint256)
    for i: uint256 in range(limit, bound=255):
        seat: address = self._resSeats[slotId][generation][i]
        if seat == empty(address):
            return (i, False)
        if seat == host:
            return (i, True)
    return (limit, False)


@internal
@view
def _canReserveSlot(requestId: bytes32, slotIndex: uint64, host: address) -> bool:
    slotId: bytes32 = self._slotId(requestId, slotIndex)
    state: uint8 = self._slotState(slotId)
    if state != SLOT_FREE and state != SLOT_REPAIR:
        return False
    count: uint256 = 0
    reserved: bool = False
    count, reserved = self._reservations(slotId, host)
    return count < convert(MAX_RESERVATIONS, uint256) and not reserved


@external
@view
def canReserveSlot(requestId: bytes32, slotIndex: uint64) -> bool:
    return self._canReserveSlot(requestId, slotIndex, msg.sender)


@external
def reserveSlot(requestId: bytes32, slotIndex: uint64):
    if not self._canReserveSlot(requestId, slotIndex, msg.sender):
        raw_revert(method_id("SlotReservations_ReservationNotAllowed()"))
    slotId: bytes32 = self._slotId(requestId, slotIndex)
    count: uint256 = 0
    reserved: bool = False
    count, reserved = self._reservations(slotId, msg.sender)
    self._resSeats[slotId][self._resGeneration[slotId]][count] = msg.sender
    if count + 1 == convert(MAX_RESERVATIONS, uint256):
        log SlotReservationsFull(requestId=requestId, slotIndex=slotIndex)


# ----------------------------------------------------------------- slots --

@external
def fillSlot(requestId: bytes32, slotIndex: uint64, proof: Groth16Proof):
    self._requireKnown(requestId)
    if slotIndex >= self._requests[requestId].ask.slots:
        raw_revert(method_id("Marketplace_InvalidSlot()"))

    slotId: bytes32 = self._slotId(requestId, slotIndex)
    count: uint256 = 0
    reserved: bool = False
    count, reserved = self._reservations(slotId, msg.sender)
    if not reserved:
        raw_revert(method_id("Marketplace_ReservationRequired()"))

    self._slots[slotId].requestId = requestId
    self._slots[slotId].slotIndex = slotIndex
    state: uint8 = self._slotState(slotId)
    if state != SLOT_FREE and state != SLOT_REPAIR:
        raw_revert(method_id("Marketplace_SlotNotFree()"))

    ts: uint64 = self._now()
    self._slots[slotId].host = msg.sender
    self._slots[slotId].filledAt = ts
    self._slotStarts[slotId] = ts
    self._submitProof(slotId, proof)

    self._requestContexts[requestId].slotsFilled += 1
    self._requestContexts[requestId].fundsToReturnToClient -= self._slotPayout(
        requestId, ts, self._requestContexts[requestId].endsAt
    )

    collateralPerSlot: uint256 = self._collateralPerSlot(requestId)
    collateralAmount: uint256 = collateralPerSlot
    if state == SLOT_REPAIR:
        # repairing hosts pay a discounted collateral but get the full amount
        # back at the end: that difference is their repair reward
        collateralAmount = collateralPerSlot - collateralPerSlot * REPAIR_REWARD_PCT // 100
    self._pullTokens(msg.sender, collateralAmount)
    self._totalReceived += collateralAmount
    self._slots[slotId].currentCollateral = collateralPerSlot

    self._setAdd(SET_SLOTS, msg.sender, slotId)

    self._slots[slotId].state = SLOT_FILLED
    log SlotFilled(requestId=requestId, slotIndex=slotIndex)

    if (
        self._requestContexts[requestId].slotsFilled == self._requests[requestId].ask.slots
        and self._storedRequestState(requestId) == REQ_NEW
    ):
        # state Started, startedAt = now
        self._requestStatus[requestId] = convert(REQ_STARTED, uint256) | (convert(ts, uint256) << 8)
        log RequestFulfilled(requestId=requestId)


@internal
def _forciblyFreeSlot(slotId: bytes32):
    requestId: bytes32 = self._slots[slotId].requestId
    self._requestContexts[requestId].fundsToReturnToClient += self._slotPayout(
        requestId, self._slots[slotId].filledAt, self._requestContexts[requestId].endsAt
    )
    self._setRemove(SET_SLOTS, self._slots[slotId].host, slotId)
    # drop every reservation of this slot
    self._resGeneration[slotId] += 1
    self._slots[slotId].state = SLOT_REPAIR
    self._slots[slotId].filledAt = 0
    self._slots[slotId].currentCollateral = 0
    self._slots[slotId].host = empty(address)
    self._requestContexts[requestId].slotsFilled -= 1
    log SlotFreed(requestId=requestId, slotIndex=self._slots[slotId].slotIndex)
    self._missed[slotId] = 0

    slotsLost: uint64 = self._requests[requestId].ask.slots - self._requestContexts[
        requestId
    ].slotsFilled
    if (
        slotsLost > self._requests[requestId].ask.maxSlotLoss
        and self._storedRequestState(requestId) == REQ_STARTED
    ):
        self._storeRequestState(requestId, REQ_FAILED)
        self._requestContexts[requestId].endsAt = self._now() - 1
        log RequestFailed(requestId=requestId)


@internal
def _payout(slotId: bytes32, rewardRecipient: address, collateralRecipient: address, cancelled: bool):
    requestId: bytes32 = self._slots[slotId].requestId
    self._requireKnown(requestId)
    end: uint64 = self._requestContexts[requestId].endsAt
    if cancelled:
        end = self._requestContexts[requestId].expiresAt
    else:
        self._storeRequestState(requestId, REQ_FINISHED)
        self._setRemove(SET_REQUESTS, self._requests[requestId].client, requestId)
    self._setRemove(SET_SLOTS, self._slots[slotId].host, slotId)

    payoutAmount: uint256 = self._slotPayout(requestId, self._slots[slotId].filledAt, end)
    collateralAmount: uint256 = self._slots[slotId].currentCollateral
    self._totalSent += payoutAmount + collateralAmount
    self._slots[slotId].state = SLOT_PAID
    self._sendTokens(rewardRecipient, payoutAmount)
    self._sendTokens(collateralRecipient, collateralAmount)


@external
def freeSlot(slotId: bytes32, rewardRecipient: address, collateralRecipient: address):
    self._freeSlot(slotId, rewardRecipient, collateralRecipient)


@external
def __default__():
    # Vyper has no overloading and default arguments would also create
    # freeSlot(bytes32,address), which upstream lacks: the one-argument
    # freeSlot(bytes32) is dispatched here (build.py adds it to the ABI).
    if len(msg.data) >= 36 and slice(msg.data, 0, 4) == method_id("freeSlot(bytes32)"):
        self._freeSlot(convert(slice(msg.data, 4, 32), bytes32), msg.sender, msg.sender)
        return
    raw_revert(b"")


@internal
def _freeSlot(slotId: bytes32, rewardRecipient: address, collateralRecipient: address):
    if self._slots[slotId].state == SLOT_FREE:
        raw_revert(method_id("Marketplace_SlotIsFree()"))
    if self._slots[slotId].host != msg.sender:
        raw_revert(method_id("Marketplace_InvalidSlotHost()"))

    state: uint8 = self._slotState(slotId)
    if state == SLOT_PAID:
        raw_revert(method_id("Marketplace_AlreadyPaid()"))

    if state == SLOT_FINISHED:
        self._payout(slotId, rewardRecipient, collateralRecipient, False)
    elif state == SLOT_CANCELLED:
        self._payout(slotId, rewardRecipient, collateralRecipient, True)
    elif state == SLOT_FAILED:
        self._setRemove(SET_SLOTS, msg.sender, slotId)
    elif state == SLOT_FILLED:
        # leaving early: the whole collateral is forfeited
        self._forciblyFreeSlot(slotId)


# ---------------------------------------------------------------- proofs --

@internal
@view
def _periodOf(timestamp: uint64) -> uint64:
    return timestamp // SECONDS_PER_PERIOD


@internal
@view
def _blockPeriod() -> uint64:
    return self._periodOf(self._now())


@internal
@view
def _pointer(slotId: bytes32, period: uint64) -> uint8:
    blockPart: uint256 = block.number % 256
    periodPart: uint256 = convert(period, uint256) * convert(DOWNTIME_PRODUCT, uint256) % 256
    idPart: uint256 = convert(slotId, uint256) % 256
    return convert((blockPart + periodPart + idPart) % 256, uint8)


@internal
@view
def _challenge(pointer: uint8) -> bytes32:
    h: bytes32 = blockhash(block.number - 1 - convert(pointer, uint256))
    if h == empty(bytes32):
        # Solidity's assert(): Panic(0x01)
        raw_revert(concat(method_id("Panic(uint256)"), convert(1, bytes32)))
    return keccak256(h)


@internal
@view
def _slotProbability(slotId: bytes32) -> uint256:
    requestId: bytes32 = self._slots[slotId].requestId
    return self._requests[requestId].ask.proofProbability * (
        256 - convert(DOWNTIME, uint256)
    ) // 256


@internal
@view
def _proofRequirement(slotId: bytes32, period: uint64) -> (bool, uint8):
    if self._slotState(slotId) != SLOT_FILLED:
        return (False, 0)
    if not period > self._periodOf(self._slotStarts[slotId]):
        return (False, 0)
    pointer: uint8 = self._pointer(slotId, period)
    challenge: bytes32 = self._challenge(pointer)
    probability: uint256 = self._slotProbability(slotId)
    return (probability == 0 or convert(challenge, uint256) % probability == 0, pointer)


@internal
@view
def _isProofRequired(slotId: bytes32, period: uint64) -> bool:
    required: bool = False
    pointer: uint8 = 0
    required, pointer = self._proofRequirement(slotId, period)
    return required and pointer >= DOWNTIME


@external
@view
def slotProbability(slotId: bytes32) -> uint256:
    return self._slotProbability(slotId)


@external
@view
def missingProofs(slotId: bytes32) -> uint64:
    return self._missed[slotId]


@external
@view
def getPointer(slotId: bytes32) -> uint8:
    return self._pointer(slotId, self._blockPeriod())


@external
@view
def getChallenge(slotId: bytes32) -> bytes32:
    return self._challenge(self._pointer(slotId, self._blockPeriod()))


@external
@view
def isProofRequired(slotId: bytes32) -> bool:
    return self._isProofRequired(slotId, self._blockPeriod())


@external
@view
def willProofBeRequired(slotId: bytes32) -> bool:
    required: bool = False
    pointer: uint8 = 0
    required, pointer = self._proofRequirement(slotId, self._blockPeriod())
    return required and pointer < DOWNTIME


# byte-swap masks: 0x00FF00FF..., 0x0000FFFF..., 0x00000000FFFFFFFF..., 64-bit halves
SWAP_M8: constant(uint256) = max_value(uint256) // 65535 * 255
SWAP_M16: constant(uint256) = max_value(uint256) // 4294967295 * 65535
SWAP_M32: constant(uint256) = max_value(uint256) // 18446744073709551615 * 4294967295
SWAP_M64: constant(uint256) = max_value(uint256) // 340282366920938463463374607431768211455 * 18446744073709551615


@internal
@pure
def _byteSwap(word: uint256) -> uint256:
    # reverse the 32 bytes of a word: swap bytes, then 2-, 4-, 8-, 16-byte halves
    v: uint256 = ((word >> 8) & SWAP_M8) | ((word & SWAP_M8) << 8)
    v = ((v >> 16) & SWAP_M16) | ((v & SWAP_M16) << 16)
    v = ((v >> 32) & SWAP_M32) | ((v & SWAP_M32) << 32)
    v = ((v >> 64) & SWAP_M64) | ((v & SWAP_M64) << 64)
    return (v >> 128) | (v << 128)


@internal
def _submitProof(slotId: bytes32, proof: Groth16Proof):
    requestId: bytes32 = self._slots[slotId].requestId
    self._requireKnown(requestId)
    if msg.sender != self._slots[slotId].host:
        raw_revert(method_id("Marketplace_ProofNotSubmittedByHost()"))

    challenge: bytes32 = self._challenge(self._pointer(slotId, self._blockPeriod()))
    # challenge: first 31 bytes read little-endian; merkle root: 32 bytes LE
    signals: DynArray[uint256, 3] = [
        self._byteSwap(convert(challenge, uint256) & ~convert(255, uint256)),
        self._byteSwap(convert(self._requests[requestId].content.merkleRoot, uint256)),
        convert(self._slots[slotId].slotIndex, uint256),
    ]

    period: uint64 = self._blockPeriod()
    if self._received[slotId][period]:
        raw_revert(method_id("Proofs_ProofAlreadySubmitted()"))
    if not staticcall IGroth16Verifier(VERIFIER).verify(proof, signals):
        raw_revert(method_id("Proofs_InvalidProof()"))
    self._received[slotId][period] = True
    log ProofSubmitted(id=slotId)


@external
def submitProof(id: bytes32, proof: Groth16Proof):
    self._submitProof(id, proof)


@internal
@view
def _checkMarkable(slotId: bytes32, period: uint64):
    if self._slotState(slotId) != SLOT_FILLED:
        raw_revert(method_id("Marketplace_SlotNotAcceptingProofs()"))
    end: uint64 = (period + 1) * SECONDS_PER_PERIOD
    ts: uint64 = self._now()
    if end >= ts:
        raw_revert(method_id("Proofs_PeriodNotEnded()"))
    if ts >= end + PROOF_TIMEOUT:
        raw_revert(method_id("Proofs_ValidationTimedOut()"))
    if self._received[slotId][period]:
        raw_revert(method_id("Proofs_ProofNotMissing()"))
    if not self._isProofRequired(slotId, period):
        raw_revert(method_id("Proofs_ProofNotRequired()"))
    if self._missing[slotId][period]:
        raw_revert(method_id("Proofs_ProofAlreadyMarkedMissing()"))


@external
@view
def canMarkProofAsMissing(slotId: bytes32, period: uint64):
    self._checkMarkable(slotId, period)


@external
def markProofAsMissing(slotId: bytes32, period: uint64):
    self._checkMarkable(slotId, period)
    self._missing[slotId][period] = True
    missed: uint64 = self._missed[slotId] + 1
    self._missed[slotId] = missed

    slashed: uint256 = self._collateralPerSlot(self._slots[slotId].requestId) * SLASH_PCT // 100
    reward: uint256 = slashed * VALIDATOR_REWARD_PCT // 100
    self._totalSent += reward
    self._sendTokens(msg.sender, reward)

    self._slots[slotId].currentCollateral -= slashed
    if missed >= MAX_SLASHES:
        self._forciblyFreeSlot(slotId)
