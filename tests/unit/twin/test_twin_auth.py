"""Admission of ``/exchange`` actions (``twin.auth``) on real SDK signatures, without sockets.

Each test deserializes a body signed by the hyperliquid SDK (``twin.envelope``) and runs
``Authenticator.admit`` against a fresh exchange state on a manual clock (nonces checked against
the twin clock, so the windows are exact).
"""

from __future__ import annotations

import json

import pytest
from eth_account import Account
from hyperliquid.utils import signing as sdk

from botmm_nautilus.twin import FaultInjector
from botmm_nautilus.twin import Scenario
from botmm_nautilus.twin import TwinClock
from botmm_nautilus.twin import TwinConfig
from botmm_nautilus.twin.auth import Authenticator
from botmm_nautilus.twin.envelope import ExchangeError
from botmm_nautilus.twin.envelope import parse_envelope
from botmm_nautilus.twin.state import TwinState
from botmm_nautilus.twin.wire import DeserializeError

T0 = 1_700_000_000_000
DAY_MS = 86_400_000
NOOP = {"type": "noop"}


def make_state(**config) -> TwinState:
    market = Scenario(["BTC"], start_ms=T0).book("BTC", 0, bids=[(100000, 1)], asks=[(100001, 1)]).market_data()
    return TwinState(market, TwinConfig(nonce_clock="twin", **config), TwinClock.manual(T0), None, FaultInjector())


def l1_body(wallet, action: dict, nonce: int, vault: str | None = None, expires_after: int | None = None) -> dict:
    signature = sdk.sign_l1_action(wallet, action, vault, nonce, expires_after, False)
    return json.loads(json.dumps({"action": action, "nonce": nonce, "signature": signature, "vaultAddress": vault,
                                  "expiresAfter": expires_after}))


def approve_agent_body(master, agent_address: str, nonce: int, body_nonce: int | None = None, **extra) -> dict:
    action = {"type": "approveAgent", "agentAddress": agent_address, "agentName": "", "nonce": nonce}
    signature = sdk.sign_agent(master, action, False)  # adds signatureChainId and hyperliquidChain "Testnet"
    return json.loads(json.dumps({"action": action, "nonce": nonce if body_nonce is None else body_nonce,
                                  "signature": signature, **extra}))


def admit(state: TwinState, body: dict):
    return Authenticator(state).admit(parse_envelope(body), state.now_ms(), state.nonce_now_ms())


def test_master_agent_and_vault_act_on_the_right_account():
    state = make_state(auto_register_vaults=False)
    master, agent, other = Account.create(), Account.create(), Account.create()
    m = master.address.lower()
    state.create_account(m)
    state.create_account(other.address)
    vault = "0x" + "ab" * 20
    state.register_sub_account(m, vault)
    state.register_sub_account(other.address, "0x" + "cd" * 20)
    assert state.agents.approve(m, agent.address.lower(), "") is None

    assert admit(state, l1_body(master, NOOP, T0)).address == m
    assert admit(state, l1_body(agent, NOOP, T0 + 1)).address == m  # an API wallet acts for its master
    assert admit(state, l1_body(agent, NOOP, T0 + 2, vault=vault)).address == vault
    for foreign in ("0x" + "cd" * 20, "0x" + "ef" * 20):  # another master's vault; an unknown address
        with pytest.raises(ExchangeError, match="^Vault not registered$"):
            admit(state, l1_body(master, NOOP, T0 + 3, vault=foreign))


def test_unknown_vault_is_registered_to_the_signers_master_by_default():
    state = make_state()
    master = Account.create()
    state.create_account(master.address)
    vault = "0x" + "12" * 20
    assert admit(state, l1_body(master, NOOP, T0, vault=vault)).address == vault
    assert state.accounts[vault].owner == master.address.lower()


def test_wrong_signature_recovers_an_unknown_user_and_a_broken_one_none():
    state = make_state()
    master = Account.create()
    state.create_account(master.address)
    body = l1_body(master, NOOP, T0)
    body["nonce"] = T0 + 1  # the signature covers the nonce: it now recovers some other address
    with pytest.raises(ExchangeError, match=r"^User or API Wallet 0x[0-9a-f]{40} does not exist\.$") as err:
        admit(state, body)
    assert master.address.lower() not in err.value.text
    body["signature"]["r"] = "0xnot-hex"
    with pytest.raises(ExchangeError, match=r"^Unable to recover signer\.$"):
        admit(state, body)


def test_auto_create_accounts_gives_any_signer_an_account_but_not_an_agent_of_an_expired_approval():
    state = make_state(auto_create_accounts=True, starting_balance_usd=250)
    stranger, master, agent = Account.create(), Account.create(), Account.create()
    assert admit(state, l1_body(stranger, NOOP, T0)).balance_usd == 250
    state.create_account(master.address)
    assert state.agents.approve(master.address.lower(), agent.address.lower(), f"bot valid_until {T0 - 1}") is None
    with pytest.raises(ExchangeError, match=f"User or API Wallet {agent.address.lower()} does not exist."):
        admit(state, l1_body(agent, NOOP, T0))  # an expired agent is not turned into a user
    assert agent.address.lower() not in state.accounts


def test_nonce_window_is_now_minus_two_days_to_now_plus_one_day():
    state = make_state()
    master = Account.create()
    state.create_account(master.address)
    with pytest.raises(ExchangeError, match=f"^Invalid nonce: nonce too low {T0 - 2 * DAY_MS} < {T0 - 2 * DAY_MS + 1}$"):
        admit(state, l1_body(master, NOOP, T0 - 2 * DAY_MS))
    with pytest.raises(ExchangeError, match=f"^Invalid nonce: nonce too high {T0 + DAY_MS} > {T0 + DAY_MS - 1}$"):
        admit(state, l1_body(master, NOOP, T0 + DAY_MS))
    admit(state, l1_body(master, NOOP, T0 - 2 * DAY_MS + 1))
    admit(state, l1_body(master, NOOP, T0 + DAY_MS - 1))
    with pytest.raises(ExchangeError, match=f"^Invalid nonce: duplicate nonce {T0 + DAY_MS - 1}$"):
        admit(state, l1_body(master, NOOP, T0 + DAY_MS - 1))


def test_expired_action_costs_five_requests_per_item_and_keeps_its_nonce_unused():
    state = make_state()
    master = Account.create()
    account = state.create_account(master.address)
    cancels = {"type": "cancel", "cancels": [{"a": 0, "o": 1}, {"a": 0, "o": 2}]}
    with pytest.raises(ExchangeError, match=f"^Action expired: expiresAfter {T0 - 1} < current time {T0}$"):
        admit(state, l1_body(master, cancels, T0, expires_after=T0 - 1))
    assert account.n_requests_used == 5 * 2
    assert admit(state, l1_body(master, cancels, T0, expires_after=T0)) is account  # not yet expired; nonce T0 still free
    assert account.n_requests_used == 5 * 2 + 2


def test_over_the_address_budget_one_request_per_ten_seconds_gets_through():
    state = make_state(enforce_rate_limits=True)
    master = Account.create()
    account = state.create_account(master.address)
    account.n_requests_used = 10_000  # the base budget of an account that has not traded
    admit(state, l1_body(master, NOOP, T0))  # the first request over the budget passes
    state.clock.advance_ms(9_999)
    refused = r"^Too many cumulative requests sent \(10002 > 10000\) for cumulative volume traded \$0\.00\.$"
    with pytest.raises(ExchangeError, match=refused):
        admit(state, l1_body(master, NOOP, T0 + 1))
    state.clock.advance_ms(1)
    admit(state, l1_body(master, NOOP, T0 + 1))  # 10 s later; the refused request did not use its nonce
    assert account.n_requests_used == 10_002


def test_user_signed_action_needs_the_master_its_own_nonce_and_no_expiry():
    state = make_state()
    master, agent, stranger = Account.create(), Account.create(), Account.create()
    state.create_account(master.address)
    assert admit(state, approve_agent_body(master, agent.address, T0)).address == master.address.lower()
    with pytest.raises(ExchangeError, match="^Invalid nonce: the action nonce must equal the request nonce.$"):
        admit(state, approve_agent_body(master, agent.address, T0 + 1, body_nonce=T0 + 2))
    with pytest.raises(ExchangeError, match="^expiresAfter is not allowed on user-signed actions.$"):
        admit(state, approve_agent_body(master, agent.address, T0 + 3, expiresAfter=T0 + 10_000))
    with pytest.raises(ExchangeError, match=f"^Must deposit before performing actions. User: {stranger.address.lower()}$"):
        admit(state, approve_agent_body(stranger, agent.address, T0 + 4))
    mainnet = make_state()
    mainnet.create_account(master.address)
    body = approve_agent_body(master, agent.address, T0 + 5)
    body["action"]["hyperliquidChain"] = "Mainnet"  # the signature no longer matches either, but the chain is checked first
    with pytest.raises(ExchangeError, match="^Invalid hyperliquidChain 'Mainnet'; the twin expects 'Testnet'.$"):
        admit(mainnet, body)


def test_envelope_is_checked_before_any_signature_work():
    with pytest.raises(DeserializeError, match="unknown variant `launchRocket`"):
        parse_envelope({"action": {"type": "launchRocket"}, "nonce": 1, "signature": {}})
    with pytest.raises(DeserializeError, match=r"expected struct Signature \{ r, s, v \}"):
        parse_envelope({"action": NOOP, "nonce": 1, "signature": {"r": "0x1"}})
    with pytest.raises(DeserializeError, match="expected an address for `vaultAddress`"):
        parse_envelope({"action": NOOP, "nonce": 1, "signature": {"r": "0x1", "s": "0x1", "v": 27}, "vaultAddress": "0x1"})
