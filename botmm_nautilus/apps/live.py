"""``botmm live``: run the MarketMaker on Hyperliquid (testnet, mainnet or the local twin).

    python -m botmm_nautilus.apps.live --config configs/live.yaml [--venue testnet|mainnet|twin] [--url URL]
        [--coins BTC ETH] [--run-seconds N] [--json FILE] [--wait-venue S] [--status-interval S]
        [--mainnet [--yes-i-mean-mainnet]]

The node is a Nautilus ``TradingNode`` with the adapters in ``adapters/hyperliquid`` and one
strategy per coin: the per-asset YAML's ``strategy:`` (``MarketMaker`` or ``AdaptiveMarketMaker``,
the same class and YAML as the backtest).

Safety: mainnet needs ``--mainnet`` (or ``venue: mainnet`` in the YAML *and* ``--mainnet``) and an
interactive "yes" on a TTY; without a TTY it is refused unless ``--yes-i-mean-mainnet``. Before the
node is built a preflight checks the key, that the venue answers, that the coins exist, and that
the venue accepts the signer, each failure being one ``error: ...`` line (exit status 2).
``--run-seconds N`` stops gracefully after N s (quotes canceled); ``--json`` writes a summary (its
folder is created). A venue that does not answer yet is waited for (``wait_venue_s``). The node log
goes to ``log_dir`` at INFO and to stdout at WARNING; a status line per coin comes every
``status_interval_s`` and an end table from the venue's own state calls out anything left open
(``live_status``). The private key is never logged, printed or written.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

import msgspec
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.config import LiveExecEngineConfig
from nautilus_trader.config import LoggingConfig
from nautilus_trader.config import TradingNodeConfig
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.currencies import USDC

from botmm_nautilus.adapters.hyperliquid import HL
from botmm_nautilus.adapters.hyperliquid import VENUE
from botmm_nautilus.adapters.hyperliquid import HLDataClientConfig
from botmm_nautilus.adapters.hyperliquid import HLExecClientConfig
from botmm_nautilus.adapters.hyperliquid import HLLiveDataClientFactory
from botmm_nautilus.adapters.hyperliquid import HLLiveExecClientFactory
from botmm_nautilus.adapters.hyperliquid import instrument_id_for
from botmm_nautilus.adapters.hyperliquid.config import HLKeyError
from botmm_nautilus.adapters.hyperliquid.data import HLDataClient
from botmm_nautilus.adapters.hyperliquid.execution import HLExecutionClient
from botmm_nautilus.adapters.hyperliquid.factories import make_exec_http
from botmm_nautilus.adapters.hyperliquid.node_state import find_node_state
from botmm_nautilus.apps import live_status
from botmm_nautilus.apps import options
from botmm_nautilus.apps.control import attach_control
from botmm_nautilus.apps.control import detach_control
from botmm_nautilus.apps.control import flatten_before_stop
from botmm_nautilus.config.asset import load_config
from botmm_nautilus.config.live import VENUES
from botmm_nautilus.config.live import LiveConfig
from botmm_nautilus.config.live import load_live_config
from botmm_nautilus.engine.portfolio_fix import make_trade_recording_cheap
from botmm_nautilus.errors import BotmmError
from botmm_nautilus.errors import ConfigError
from botmm_nautilus.strategies import MarketMaker
from botmm_nautilus.strategies import adaptive_summary
from botmm_nautilus.strategies import strategy_classes


class LiveError(BotmmError):
    """A user-facing problem: printed as one line ``error: ...``."""

# ------------------------------------------------------------------------------------------ configs


def client_configs(s: LiveConfig):
    ipc = InstrumentProviderConfig(load_all=True)
    data = HLDataClientConfig(instrument_provider=ipc, testnet=s.testnet, base_url_http=s.url, base_url_ws=s.ws_url,
                              coins=list(s.coins), instrument_refresh_secs=s.instrument_refresh_s)
    exec_ = HLExecClientConfig(
        instrument_provider=ipc, testnet=s.testnet, base_url_http=s.url, base_url_ws=s.ws_url, coins=list(s.coins),
        private_key_env=s.key.env, keystore_path=s.key.keystore, keystore_password_env=s.key.keystore_password_env,
        account_address=s.account_address, vault_address=s.vault_address,
        dead_man_deadline_secs=s.dead_man.deadline_s, dead_man_refresh_secs=s.dead_man.refresh_s,
        dead_man_on_failure=s.dead_man.on_failure, stop_cancel_deadline_secs=s.stop_cancel_deadline_s,
        reconcile_settle_secs=s.reconcile.settle_s,
        account_refresh_secs=s.account_refresh_s, account_min_interval_secs=s.account_min_interval_s,
        **rate_budget_settings(s),
    )
    return data, exec_


def stale_book_limits(s: LiveConfig) -> dict[str, float]:
    """coin -> its per-asset ``risk.stale_book_s`` (coins with the rule off are left out): the
    data client's book-age watchdog pulls a coin's quotes past it (blind means flat)."""
    limits = {coin: asset_config(s, coin).risk.stale_book_s for coin in s.coins}
    return {coin: float(v) for coin, v in limits.items() if v is not None}


def rate_budget_settings(s: LiveConfig) -> dict:
    """The execution client's rate-budget fields from live.yaml's ``rate_budget`` section."""
    r = s.rate_budget
    return dict(rate_budget_check_secs=r.check_s, rate_budget_refresh_secs=r.refresh_s,
                rate_budget_short_frac=r.short_frac, rate_budget_short_minutes=r.short_minutes,
                rate_budget_short_levels=r.short_levels, rate_budget_short_requote_mult=r.short_requote_mult,
                rate_budget_resume_actions=r.resume_actions)


def asset_config(s: LiveConfig, coin: str):
    """The per-asset config ``<configs_dir>/<coin>.yaml`` of ``coin`` (``AssetConfig``)."""
    path = Path(s.configs_dir) / f"{coin.lower()}.yaml"
    if not path.is_file():
        raise ConfigError(f"{path}: per-asset config for {coin} not found (configs_dir: {s.configs_dir})")
    cfg = load_config(path)
    if cfg.coin != coin:
        raise ConfigError(f"{path}: coin: {cfg.coin!r}, but the file is read for {coin}")
    if not issubclass(strategy_classes(cfg.strategy)[0], MarketMaker):
        raise ConfigError(f"{path}: strategy: botmm live runs MarketMaker or AdaptiveMarketMaker, got {cfg.strategy!r}")
    return cfg


async def _preflight_async(s: LiveConfig, exec_cfg) -> dict:
    http = make_exec_http(exec_cfg)  # HLKeyError if the key is missing or bad
    try:
        http.max_retries = 0  # wait_for_venue asks again itself, with a message every few seconds
        meta = await live_status.wait_for_venue(http, exec_cfg.http_base(), s.wait_venue_s,
                                                lambda line: print(line, flush=True), LiveError)
        http.max_retries = 2
        universe = {a["name"]: a for a in (meta[0] if isinstance(meta, list) else meta).get("universe", [])}
        missing = [c for c in s.coins if c not in universe]
        if not universe or len(missing) == len(s.coins):
            raise LiveError(f"zero instruments loaded from {exec_cfg.http_base()}: coins {s.coins} not listed "
                            f"(venue lists {sorted(universe)[:10]})")
        if missing:
            raise LiveError(f"coins not listed by the venue: {missing}")
        resp = await http.exchange({"type": "noop"})
        if isinstance(resp, dict) and resp.get("status") == "err":
            hint = (" (the twin knows only funded accounts: start it with --auto-account or --fund ADDRESS=USD)"
                    if s.venue == "twin" and "does not exist" in str(resp.get("response")) else "")
            raise LiveError(f"venue rejected the signing key from {exec_cfg.key_source()} "
                            f"(signer {http.signer}): {resp.get('response')}{hint}")
        return {"signer": http.signer, "user": http.user}
    finally:
        await http.close()


def preflight(s: LiveConfig) -> dict:
    _, exec_cfg = client_configs(s)
    for coin in s.coins:
        asset_config(s, coin)
    try:
        return asyncio.run(_preflight_async(s, exec_cfg))
    except HLKeyError as exc:
        raise LiveError(str(exc)) from None


LOG_FILE_NAME = "botmm_live"


def logging_config(s: LiveConfig) -> LoggingConfig:
    """Nautilus logging: stdout at ``log_level`` (WARNING by default), the file
    ``<log_dir>/botmm_live*.log`` at ``log_level_file`` (INFO) when ``log_dir`` is set (created)."""
    file_args = {}
    if s.log_dir:
        Path(s.log_dir).mkdir(parents=True, exist_ok=True)
        file_args = {"log_directory": s.log_dir, "log_level_file": s.log_level_file, "log_file_name": LOG_FILE_NAME}
    return LoggingConfig(log_level=s.log_level, log_colors=False, bypass_logging=False, **file_args)


NEVER = 2**31 - 1  # a retry count never reached
STOP_MARGIN_S = 12.0  # after the stop's cancel deadline: the final scheduleCancel (bounded at 8 s) and closing


def exec_engine_config(s: LiveConfig) -> LiveExecEngineConfig:
    """Reconciliation at start and while running (``s.reconcile``), with Nautilus's own checks.

    The open-order check asks the client for the venue's open orders (``frontendOpenOrders``);
    the client itself looks up an order open in the node but absent there (``orderStatus``) and
    reports it closed as the venue says, with the fills the node missed. The engine's own fallback
    for a missing order is kept out (``open_check_missing_retries`` unreachable): it cannot query
    orders that carry no client id in the cache and would mark them REJECTED unseen.
    ``open_check_open_only=False`` lets the engine act on the closed reports. The position check
    compares positions with ``clearinghouseState`` and fetches missing fills on a difference."""
    r = s.reconcile
    settle_ms = int(r.settle_s * 1000)
    return LiveExecEngineConfig(
        reconciliation=True,
        reconciliation_lookback_mins=s.reconciliation_lookback_mins,
        open_check_interval_secs=r.open_orders_interval_s or None,
        open_check_open_only=False,
        open_check_missing_retries=NEVER,
        open_check_threshold_ms=settle_ms,
        position_check_interval_secs=r.positions_interval_s or None,
        position_check_threshold_ms=settle_ms,
        position_check_lookback_mins=r.fills_lookback_mins,
        reconciliation_startup_delay_secs=r.startup_delay_s,
    )


def build_node(s: LiveConfig):
    """A built TradingNode and the list of strategies (one per coin: its YAML's ``strategy:``, a MarketMaker)."""
    data_cfg, exec_cfg = client_configs(s)
    data_cfg = msgspec.structs.replace(data_cfg, stale_book_secs=stale_book_limits(s))
    logging = logging_config(s)
    config = TradingNodeConfig(
        trader_id=s.trader_id,
        logging=logging,
        exec_engine=exec_engine_config(s),
        data_clients={HL: data_cfg},
        exec_clients={HL: exec_cfg},
        timeout_connection=20.0,
        timeout_reconciliation=10.0,
        timeout_portfolio=10.0,
        # the exec client's disconnect cancels what the venue still holds, for up to
        # stop_cancel_deadline_s, then arms or clears the dead-man's switch (bounded by STOP_MARGIN_S)
        timeout_disconnection=s.stop_cancel_deadline_s + STOP_MARGIN_S,
        timeout_post_stop=3.0,
    )
    node = TradingNode(config=config)
    strategies = []
    for i, coin in enumerate(s.coins):
        iid = instrument_id_for(coin)
        asset = asset_config(s, coin)
        config = asset.strategy_config(
            iid, mode="book", order_id_tag=f"{i + 1:03d}", external_order_claims=[iid],
            book_includes_own_orders=True,  # the venue's l2Book shows our resting orders
        )
        strat = strategy_classes(asset.strategy)[0](config)
        node.trader.add_strategy(strat)
        strategies.append(strat)
    node.add_data_client_factory(HL, HLLiveDataClientFactory)
    node.add_exec_client_factory(HL, HLLiveExecClientFactory)  # 1.231 bug workaround: always register
    node.build()

    make_trade_recording_cheap(node.portfolio)  # O(n^2) per closed position otherwise, over a long session
    return node, strategies


def summarize(node, strategies, start_balance: float | None) -> dict:
    out: dict[str, Any] = {"orders_submitted": 0, "orders_modified": 0, "orders_canceled": 0, "post_only_rejects": 0,
                           "fills": 0, "positions": {}, "errors": []}
    for st in strategies:
        out["orders_submitted"] += st.orders_submitted
        out["orders_modified"] += st.orders_modified
        out["orders_canceled"] += st.orders_canceled
        out["post_only_rejects"] += st.post_only_rejects
    fills = 0
    for order in node.cache.orders():
        fills += len(order.trade_ids)
    out["fills"] = fills
    upnl = 0.0
    for st in strategies:
        iid = st.config.instrument_id
        out["positions"][str(iid)] = float(node.portfolio.net_position(iid))
        adaptive = adaptive_summary(st)
        if adaptive is not None:  # an AdaptiveMarketMaker: its features' state and changes logged
            out.setdefault("adaptive", {})[str(iid)] = adaptive
        u = node.portfolio.unrealized_pnl(iid)
        upnl += u.as_double() if u is not None else 0.0
    account = node.cache.account_for_venue(VENUE)
    end_balance = account.balance_total(USDC).as_double() if account is not None else None
    out["balance_usd"] = end_balance
    out["net_pnl_usd"] = (end_balance - start_balance + upnl) if (end_balance is not None and start_balance is not None) else None
    data_client, exec_client, state = _hl_clients(node)
    if exec_client is not None:
        counters = exec_client.counters()
        out["errors"] = counters["errors"]
        out["http_retries"] = counters["http_retries"]
        out["rate_limit"] = exec_client.rate_budget()
    if data_client is not None:
        out["data"] = data_client.counters()
    if exec_client is not None:
        out["exec_ws_reconnects"] = counters["ws_reconnects"]
        for key in ("dead_man_sets", "dead_man_failures", "venue_clock_rate", "modify_races", "reconciliation", "stop",
                    "unknown_outcomes", "late_fills", "http_lookups", "duplicate_events_skipped"):
            out[key] = counters[key]
        out["exec_ws"] = {k: counters[k] for k in ("exec_ws_holds", "bad_fills", "exec_ws_malformed_frames")}
    if state is not None:
        out["tick_to_order_latency"] = state.probe.summary()
    return out


def _hl_clients(node):
    """The node's Hyperliquid data and execution clients and their shared state (None if absent)."""
    state = find_node_state(node.kernel.clock)
    clients = state.clients if state is not None else []
    data = next((c for c in clients if isinstance(c, HLDataClient)), None)
    exec_ = next((c for c in clients if isinstance(c, HLExecutionClient)), None)
    return data, exec_, state


def _stopper(node):
    """``node.stop`` that first notes the rate-budget counters (the steady window ends there)."""
    def stop() -> None:
        exec_client = _hl_clients(node)[1]
        if exec_client is not None:
            exec_client.mark_stop()
        node.stop()

    return stop


def _say(line: str) -> None:
    print(line, flush=True)


def _venue_state(s: LiveConfig) -> tuple[dict | None, str | None]:
    """The venue's positions and resting orders after the stop (None and the reason when unreadable)."""
    async def read() -> dict:
        http = make_exec_http(client_configs(s)[1])
        http.max_retries = 2
        try:
            return await asyncio.wait_for(live_status.read_venue_state(http), timeout=15)
        finally:
            await http.close()

    try:
        return asyncio.run(read()), None
    except Exception as exc:  # noqa: BLE001 - reported in the end table
        return None, f"{type(exc).__name__}: {exc}"


def run_live(s: LiveConfig, run_seconds: float | None = None, json_path: str | None = None) -> dict:
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)  # before trading: the summary must not be lost
    info = preflight(s)
    print(f"botmm live: venue {s.venue} {s.url or ''} coins {', '.join(s.coins)} account {info['user']}", flush=True)
    log_file = f"{s.log_dir}/{LOG_FILE_NAME}*.log at {s.log_level_file}" if s.log_dir else "no log file (log_dir: null)"
    status = f"a status line per coin every {s.status_interval_s:g} s" if s.status_interval_s else "no status lines"
    print(f"botmm live: node log: stdout at {s.log_level}, {log_file}; {status}", flush=True)
    node, strategies = build_node(s)
    control = attach_control(node, strategies, s.state_dir, s.venue, info["user"])  # persisted risk state, botmm kill
    loop = node.get_event_loop()
    live_status.StatusTicker(node, strategies, lambda: _hl_clients(node)[1], s.status_interval_s, _say).start(loop)
    start = {"balance": None}

    def _grab_start_balance():
        acct = node.cache.account_for_venue(VENUE)
        if acct is not None and start["balance"] is None:
            start["balance"] = acct.balance_total(USDC).as_double()
        elif start["balance"] is None:
            loop.call_later(0.5, _grab_start_balance)

    loop.call_later(0.5, _grab_start_balance)
    if run_seconds:
        loop.call_later(run_seconds, flatten_before_stop(loop, strategies, _stopper(node)))
    try:
        loop.add_signal_handler(signal.SIGTERM, flatten_before_stop(loop, strategies, _stopper(node)))
    except (NotImplementedError, RuntimeError):
        pass
    result: dict = {}
    try:
        node.run()
        result = summarize(node, strategies, start["balance"])
        result.update({"venue": s.venue, "url": s.url, "coins": list(s.coins), "account": info["user"]})
        positions, pnl, fills = live_status.node_figures(node, strategies)
        venue, venue_error = _venue_state(s)
        result["venue_positions"] = venue["positions"] if venue is not None else None
        result["venue_open_orders"] = venue["open_orders"] if venue is not None else None
        for line in live_status.end_table(list(s.coins), positions, pnl, fills, venue, venue_error):
            _say(line)
        if json_path:
            Path(json_path).write_text(json.dumps(result, indent=2, default=str))
    finally:
        detach_control(control)
        node.dispose()
    return result


# ------------------------------------------------------------------------------------------ CLI


def add_live_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``live`` on the ``botmm`` subparsers; the handler is ``args.func(args)`` -> exit code."""
    p = subparsers.add_parser("live", help="run the MarketMaker live on Hyperliquid testnet/mainnet or the twin")
    _add_args(p)
    p.set_defaults(func=cmd_live)
    return p


def _add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default="configs/live.yaml", help="live node YAML (default configs/live.yaml)")
    p.add_argument("--venue", choices=VENUES, help="override venue")
    p.add_argument("--url", help="override HTTP base URL (required for twin)")
    p.add_argument("--coins", nargs="+", help="override coins")
    p.add_argument("--run-seconds", type=float, default=None, help="stop gracefully (quotes canceled) after N s")
    p.add_argument("--json", dest="json_path", help="write a run summary JSON here")
    p.add_argument("--log-level", help="node log level on stdout: INFO, WARNING (default), ...")
    p.add_argument("--log-dir", help="folder of the node's log file (default logs/)")
    p.add_argument("--status-interval", type=float, default=None, help="a status line per coin every N s (0 = off; default 10)")
    p.add_argument("--wait-venue", type=float, default=None,
                   help="wait up to N s for a venue or twin that is still starting (default 120; 0 = fail at once)")
    p.add_argument("--mainnet", action="store_true", help="required to trade on mainnet")
    p.add_argument("--yes-i-mean-mainnet", action="store_true", help="skip the interactive mainnet confirmation")


def confirm_mainnet(args, s: LiveConfig) -> LiveConfig:
    """The settings to run with: ``s``, or ``s`` switched to mainnet once mainnet is confirmed."""
    if s.venue != "mainnet" and not args.mainnet:
        return s
    if not args.mainnet:
        raise LiveError("venue mainnet needs the --mainnet flag")
    s = msgspec.structs.replace(s, venue="mainnet")
    if args.yes_i_mean_mainnet:
        return s
    if not sys.stdin.isatty():
        raise LiveError("mainnet needs an interactive confirmation (stdin is not a TTY); pass --yes-i-mean-mainnet")
    answer = input(f"Trade REAL money on Hyperliquid MAINNET ({', '.join(s.coins)})? type 'yes': ")
    if answer.strip().lower() != "yes":
        raise LiveError("mainnet not confirmed")
    return s


def cmd_live(args) -> int:
    try:
        options.positive(args.run_seconds, "--run-seconds")
        options.output_file(args.json_path, "--json")
        options.non_negative(args.status_interval, "--status-interval")
        options.non_negative(args.wait_venue, "--wait-venue")
        s = load_live_config(args.config if Path(args.config).is_file() or args.config != "configs/live.yaml" else None,
                             venue=args.venue, url=args.url, coins=args.coins, log_level=args.log_level, log_dir=args.log_dir,
                             status_interval_s=args.status_interval, wait_venue_s=args.wait_venue)
        s = confirm_mainnet(args, s)
        result = run_live(s, run_seconds=args.run_seconds, json_path=args.json_path)
    except BotmmError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({k: result.get(k) for k in ("orders_submitted", "fills", "net_pnl_usd", "positions")}, default=str))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="botmm live", description=__doc__.split("\n\n")[0])
    _add_args(parser)
    return cmd_live(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
