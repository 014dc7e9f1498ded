# pragma version 0.4.3
# pragma evm-version paris
"""
@title TestToken ("TST"): ERC-20 for development networks
@notice Anyone may mint (as the upstream TestToken does). Errors use
        OpenZeppelin 5's ERC-6093 custom errors so clients decode them the same.
"""

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256


name: public(String[16])
symbol: public(String[8])
decimals: public(uint8)
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])


@deploy
def __init__():
    self.name = "TestToken"
    self.symbol = "TST"
    self.decimals = 18


@internal
def _move(sender: address, receiver: address, amount: uint256):
    if receiver == empty(address):
        raw_revert(concat(method_id("ERC20InvalidReceiver(address)"), abi_encode(receiver)))
    balance: uint256 = self.balanceOf[sender]
    if balance < amount:
        raw_revert(
            concat(
                method_id("ERC20InsufficientBalance(address,uint256,uint256)"),
                abi_encode(sender, balance, amount),
            )
        )
    self.balanceOf[sender] = balance - amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=sender, receiver=receiver, value=amount)


@external
def mint(holder: address, amount: uint256):
    if holder == empty(address):
        raw_revert(concat(method_id("ERC20InvalidReceiver(address)"), abi_encode(holder)))
    self.totalSupply += amount
    self.balanceOf[holder] += amount
    log Transfer(sender=empty(address), receiver=holder, value=amount)


@external
def transfer(to: address, amount: uint256) -> bool:
    self._move(msg.sender, to, amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    if spender == empty(address):
        raw_revert(concat(method_id("ERC20InvalidSpender(address)"), abi_encode(spender)))
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    allowed: uint256 = self.allowance[owner][msg.sender]
    if allowed != max_value(uint256):
        if allowed < amount:
            raw_revert(
                concat(
                    method_id("ERC20InsufficientAllowance(address,uint256,uint256)"),
                    abi_encode(msg.sender, allowed, amount),
                )
            )
        self.allowance[owner][msg.sender] = allowed - amount
    self._move(owner, to, amount)
    return True
