"""Who acts, and may they act now: signature -> signer -> acting account, ``expiresAfter``, nonces, request budget.

:meth:`Authenticator.admit` runs the checks of one ``/exchange`` action in the venue's order and
returns the account the action acts on, or raises :class:`~.envelope.ExchangeError` with the
venue's text:

1. Signature recovery (``signing``): L1 actions through the phantom agent over the action hash,
   user-signed actions (``approveAgent``) as EIP-712 typed data of their fields. A signature that
   does not recover gives ``Unable to recover signer.``; a wrong signature recovers some other
   address, which is then an unknown user.
2. The signer's account. Accounts are known addresses only (preloaded, ``create_account`` or the
   admin endpoint); with ``auto_create_accounts`` any recovered signer that is not an agent gets an
   account. An L1 action may be signed by the master or by one of its API wallets (agents, see
   ``accounts``); otherwise ``User or API Wallet 0x... does not exist.`` A user-signed action
   must be signed by the master itself (``Must deposit before performing actions.``), carry the
   request nonce and the configured ``hyperliquidChain``, and no ``expiresAfter``.
3. ``vaultAddress``: the action acts on that address's account. It must be a vault/sub-account of
   the signer's master (``register_sub_account``); with ``auto_register_vaults`` an unknown vault is
   created on first use and owned by that master. Otherwise ``Vault not registered``.
4. ``expiresAfter`` earlier than now: ``Action expired`` (the attempt still costs the account 5
   requests per order/cancel in the batch). ``expiresAfter`` is part of the signed hash (step 1),
   so a tampered deadline recovers another signer and is refused as an unknown user. The check is
   made when the action is executed, so an action that waited in flight past its deadline is
   refused: a client that saw no answer knows after ``expiresAfter`` that a cloid not found was
   never placed.
5. The nonce (per signer, ``accounts.NonceTracker``): unique among the 100 highest, above the
   lowest of them once 100 are held, and within (now - 2 days, now + 1 day).
6. The address request budget (only with ``enforce_rate_limits``): 10000 requests plus one per
   USDC traded (plus reserved weight); cancels (``cancel``, ``cancelByCloid``) may go on up to
   ``min(cap + 100000, 2 * cap)``; over its cap, one request per 10 s is still let through and
   the others are refused with ``Too many cumulative requests sent (used > cap) ...`` (not counted).

Nonces and ``expiresAfter`` are compared with the **wall clock** by default (the SDK stamps both
from ``time.time()``); ``nonce_clock="twin"`` uses the twin clock instead. The nonce is used up
only when every check passed.
"""

from __future__ import annotations

from decimal import Decimal

from botmm_nautilus.venue.actions import ACTION_EXPIRED
from botmm_nautilus.venue.limits import CANCEL_ACTIONS
from botmm_nautilus.venue.limits import OVER_BUDGET_INTERVAL_MS
from botmm_nautilus.venue.limits import cancel_cap

from . import signing
from .accounts import Account
from .accounts import NonceError
from .accounts import address_request_cap
from .envelope import USER_SIGNED_ACTIONS
from .envelope import Envelope
from .envelope import ExchangeError
from .envelope import batch_length
from .state import TwinState

EXPIRED_ACTION_COST = 5  # requests charged per batch item for an expired action


class Authenticator:
    """Admission of ``/exchange`` actions against the accounts, agents and nonces of the exchange state."""

    def __init__(self, state: TwinState) -> None:
        self.state = state

    def admit(self, env: Envelope, now: int, nonce_now: int) -> Account:
        """The account ``env``'s action acts on, once every check passed (its nonce is then used)."""
        state = self.state
        cfg = state.config
        user_signed = env.kind in USER_SIGNED_ACTIONS
        try:
            if user_signed:
                signer = signing.recover_user_signed_signer(env.action, env.signature)
            else:
                signer = signing.recover_l1_signer(
                    env.action, env.signature, env.nonce, env.vault_raw, env.expires_after,
                    source=cfg.signature_source, strict_key_order=cfg.strict_key_order,
                )
        except signing.SignatureError:
            raise ExchangeError("Unable to recover signer.") from None

        if user_signed:
            account = self._user_signed_account(env, signer, now)
        else:
            account = self._l1_account(env, signer, now)

        if env.expires_after is not None and env.expires_after < nonce_now:
            account.n_requests_used += EXPIRED_ACTION_COST * batch_length(env.action)
            raise ExchangeError(f"{ACTION_EXPIRED}: expiresAfter {env.expires_after} < current time {nonce_now}")
        try:
            state.nonces.check(signer, env.nonce, nonce_now)
        except NonceError as exc:
            raise ExchangeError(str(exc)) from None
        self._charge_address_budget(account, batch_length(env.action), now, env.kind in CANCEL_ACTIONS)
        state.nonces.use(signer, env.nonce)
        return account

    def _user_signed_account(self, env: Envelope, signer: str, now: int) -> Account:
        state = self.state
        cfg = state.config
        if env.expires_after is not None:
            raise ExchangeError("expiresAfter is not allowed on user-signed actions.")
        if env.action.get("nonce") != env.nonce:
            raise ExchangeError("Invalid nonce: the action nonce must equal the request nonce.")
        if env.action.get("hyperliquidChain") != cfg.hyperliquid_chain:
            raise ExchangeError(
                f"Invalid hyperliquidChain {env.action.get('hyperliquidChain')!r}; the twin expects {cfg.hyperliquid_chain!r}."
            )
        if signer not in state.accounts:
            if cfg.auto_create_accounts and state.agents.master_of(signer, now) is None:
                state.create_account(signer)
            else:
                raise ExchangeError(f"Must deposit before performing actions. User: {signer}")
        return state.accounts[signer]

    def _l1_account(self, env: Envelope, signer: str, now: int) -> Account:
        state = self.state
        cfg = state.config
        master = signer if signer in state.accounts else state.agents.master_of(signer, now)
        if master is None and cfg.auto_create_accounts and signer not in state.agents.by_address:
            state.create_account(signer)
            master = signer
        if master is None:
            raise ExchangeError(f"User or API Wallet {signer} does not exist.")
        account = state.accounts[master]
        if env.vault is not None and env.vault != master:
            vault_account = state.accounts.get(env.vault)
            if vault_account is None and cfg.auto_register_vaults:
                vault_account = state.register_sub_account(master, env.vault)
            if vault_account is None or vault_account.owner != master:
                raise ExchangeError("Vault not registered")
            account = vault_account
        return account

    def _charge_address_budget(self, account: Account, n: int, now_ms: int, is_cancel: bool = False) -> None:
        """Count ``n`` requests against the account's cumulative budget (refused over it, when
        enforced); a cancel is held to the larger cancel cap."""
        cap = address_request_cap(account)
        if is_cancel:
            cap = cancel_cap(cap)
        used_after = account.n_requests_used + n
        if self.state.config.enforce_rate_limits and used_after > cap:
            last = account.last_over_budget_request_ms
            if last is not None and now_ms - last < OVER_BUDGET_INTERVAL_MS:
                raise ExchangeError(
                    f"Too many cumulative requests sent ({used_after} > {cap}) for cumulative volume traded "
                    f"${account.cum_volume_usd.quantize(Decimal('0.01'))}."
                )
            account.last_over_budget_request_ms = now_ms
        account.n_requests_used = used_after
