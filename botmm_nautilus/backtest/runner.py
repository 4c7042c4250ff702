"""Run the ``MarketMaker`` strategy over a Parquet catalog with Nautilus's ``BacktestNode``.

Book mode (default): L2_MBP book from incremental deltas, trades, the project's fill rules
(``venue/fill_rules.py``: queue position, stale depth, prints at and through our price; applied by
``backtest/queue_fills.py``), a latency model on every order command, NETTING, MARGIN, the
instrument's settlement currency (USDC on Hyperliquid), fees from the config and hourly funding
from the catalog's funding series.

Candle mode: the same strategy on bars alone with Nautilus's bar execution. A bar is stamped at its
close; the strategy quotes from that close and the quotes can only be filled by the following bars
(no same-bar information).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pandas as pd
from nautilus_trader.backtest.node import BacktestNode
from nautilus_trader.config import BacktestDataConfig
from nautilus_trader.config import BacktestEngineConfig
from nautilus_trader.config import BacktestRunConfig
from nautilus_trader.config import BacktestVenueConfig
from nautilus_trader.config import DataEngineConfig
from nautilus_trader.config import ExecEngineConfig
from nautilus_trader.config import ImportableActorConfig
from nautilus_trader.config import ImportableFeeModelConfig
from nautilus_trader.config import ImportableFillModelConfig
from nautilus_trader.config import ImportableLatencyModelConfig
from nautilus_trader.config import ImportableStrategyConfig
from nautilus_trader.config import LoggingConfig
from nautilus_trader.config import RiskEngineConfig
from nautilus_trader.model.data import Bar
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.identifiers import InstrumentId

from botmm_nautilus.adapters.hyperliquid import instrument_id_for
from botmm_nautilus.backtest.queue_fills import QUEUE_STATS_TOPIC
from botmm_nautilus.backtest.timing import OrderEntryTiming
from botmm_nautilus.backtest.timing import latency_per_kind_ns
from botmm_nautilus.backtest.venue_models import FUNDING_TOPIC
from botmm_nautilus.config.asset import BAR_SECONDS
from botmm_nautilus.config.asset import AssetConfig
from botmm_nautilus.core.params import fee_fraction
from botmm_nautilus.data.catalog_io import CatalogError
from botmm_nautilus.data.catalog_io import file_interval
from botmm_nautilus.engine.portfolio_fix import make_trade_recording_cheap
from botmm_nautilus.errors import ConfigError
from botmm_nautilus.reports import BacktestArtifacts
from botmm_nautilus.reports import compute_attribution
from botmm_nautilus.reports import compute_summary
from botmm_nautilus.reports import report_warnings
from botmm_nautilus.reports import write_html_report
from botmm_nautilus.reports import write_json
from botmm_nautilus.strategies import adaptive_summary
from botmm_nautilus.strategies import importable_path
from botmm_nautilus.strategies import strategy_classes
from botmm_nautilus.times import parse_period_ns


@dataclass
class BacktestOutcome:
    summary: dict
    attribution: dict
    artifacts: Any
    json_path: Path | None
    report_path: Path | None


def _data_range(catalog_path: str, type_dir: str, ident: str) -> tuple[int, int, int] | None:
    """(start_ns, end_ns, files) of one data type/identifier from catalog file names."""
    folder = Path(catalog_path) / "data" / type_dir / ident
    if not folder.is_dir():
        return None
    ivs = [iv for iv in (file_interval(p) for p in folder.glob("*.parquet")) if iv is not None]
    if not ivs:
        return None
    return min(a for a, _ in ivs), max(b for _, b in ivs), len(ivs)


def _describe_catalog(catalog_path: str) -> str:
    root = Path(catalog_path) / "data"
    if not root.is_dir():
        return "it holds no data"
    lines = []
    for type_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        idents = sorted(p.name for p in type_dir.iterdir() if p.is_dir())
        lines.append(f"{type_dir.name}: {', '.join(idents) or '-'}")
    return "; ".join(lines) or "it holds no data"


def resolve_instrument_id(cfg: AssetConfig, instrument: str | None = None) -> InstrumentId:
    """The instrument a run trades: ``instrument`` (any ``SYMBOL.VENUE`` in the catalog) or the
    config coin's Hyperliquid perp (``{COIN}-USDC-PERP.HL``)."""
    if instrument is None:
        return instrument_id_for(cfg.coin)
    try:
        return InstrumentId.from_str(str(instrument))
    except ValueError as exc:
        raise ConfigError(f"--instrument {instrument!r} is not an instrument id of the form SYMBOL.VENUE ({exc})") from None


def catalog_instrument(catalog_path: str, iid: InstrumentId):
    """The instrument definition stored in the catalog (its currencies size the backtest account)."""
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    found = ParquetDataCatalog(catalog_path).instruments(instrument_ids=[str(iid)])
    if not found:
        raise CatalogError(f"catalog {catalog_path} has no instrument {iid}; it holds: {_describe_catalog(catalog_path)}")
    return found[0]


def check_catalog(catalog_path: str, cfg: AssetConfig, mode: str, instrument: str | None = None) -> dict:
    """Which data the run will read; a clear error if the catalog cannot support the run."""
    cat = Path(catalog_path)
    if not (cat / "data").is_dir():
        raise CatalogError(
            f"catalog {cat} not found or empty (no data/ folder). Build it with "
            f"`botmm data synth --catalog {cat}` or import real data with `botmm data import-...`",
        )
    iid = str(resolve_instrument_id(cfg, instrument))
    if _data_range(catalog_path, "crypto_perpetual", iid) is None:
        raise CatalogError(f"catalog {cat} has no instrument {iid}; it holds: {_describe_catalog(catalog_path)}")
    out: dict[str, Any] = {"instrument_id": iid}
    if mode == "book":
        deltas = _data_range(catalog_path, "order_book_deltas", iid)
        trades = _data_range(catalog_path, "trade_tick", iid)
        if deltas is None:
            raise CatalogError(
                f"catalog {cat} has no order book deltas for {iid} (book mode needs L2 data); "
                f"it holds: {_describe_catalog(catalog_path)}. Use --mode candles for bar data.",
            )
        out["range"] = (deltas[0], deltas[1])
        out["has_trades"] = trades is not None
    elif mode == "candles":
        bar_type = f"{iid}-{cfg.backtest.bar_interval}-LAST-EXTERNAL"
        bars = _data_range(catalog_path, "bar", bar_type)
        if bars is None:
            raise CatalogError(
                f"catalog {cat} has no bars {bar_type}; it holds: {_describe_catalog(catalog_path)}",
            )
        out["range"] = (bars[0], bars[1])
        out["bar_type"] = bar_type
    else:
        raise ConfigError(f"mode must be 'book' or 'candles', got {mode!r}")
    return out


def build_run_config(
    cfg: AssetConfig,
    catalog_path: str,
    mode: str = "book",
    start_ns: int | None = None,
    end_ns: int | None = None,
    strategy: str | None = None,
    bypass_logging: bool = True,
    log_level: str = "ERROR",
    instrument: str | None = None,
    strategy_fields: dict[str, Any] | None = None,
):
    """The ``BacktestRunConfig`` of one run. ``instrument``: any instrument id in the catalog
    (default: the config coin's Hyperliquid perp); the account is held in its settlement currency
    (a MARGIN account in another currency than the instrument's books no PnL in Nautilus 1.231)
    and the fees come from the config. ``strategy_fields``: extra fields of the strategy's config
    class (e.g. ``FixedQuoter``'s ``half_spread_bps``), on top of what the asset config sets."""
    strategy = strategy or cfg.strategy
    strategy_cls, _ = strategy_classes(strategy)
    iid = resolve_instrument_id(cfg, instrument)
    settlement = "USDC" if instrument is None else catalog_instrument(catalog_path, iid).settlement_currency.code
    queue_rules = mode == "book" and cfg.backtest.queue_position
    modules = [
        ImportableActorConfig(
            actor_path="botmm_nautilus.backtest.venue_models:PerpFundingModule",
            config_path="botmm_nautilus.backtest.venue_models:PerpFundingModuleConfig",
            config={
                "catalog_path": str(catalog_path),
                "instrument_ids": [str(iid)],
                "start_ns": start_ns or 0,
                "end_ns": end_ns or 0,
            },
        ),
    ]
    if queue_rules:
        modules.append(
            ImportableActorConfig(
                actor_path="botmm_nautilus.backtest.queue_fills:QueueFillModule",
                config_path="botmm_nautilus.backtest.queue_fills:QueueFillModuleConfig",
                config={"instrument_id": str(iid)},
            ),
        )
    venue = BacktestVenueConfig(
        name=iid.venue.value,
        oms_type="NETTING",
        account_type="MARGIN",
        base_currency=settlement,
        starting_balances=[f"{cfg.capital_usd} {settlement}"],
        default_leverage=float(cfg.venue.leverage),
        book_type="L2_MBP" if mode == "book" else "L1_MBP",
        # book mode with the queue model: prints reach resting orders only through QueueFillModule
        # (venue/fill_rules.py); Nautilus's own queue tracking is off (see backtest/queue_fills.py)
        trade_execution=(mode == "book" and not queue_rules),
        bar_execution=(mode == "candles"),
        queue_position=False,
        liquidity_consumption=(mode == "book" and cfg.backtest.liquidity_consumption),
        fill_model=ImportableFillModelConfig(
            fill_model_path="nautilus_trader.backtest.models:FillModel",
            config_path="nautilus_trader.backtest.config:FillModelConfig",
            config={"prob_fill_on_limit": prob_fill_on_limit(cfg, mode), "prob_slippage": 0.0, "random_seed": 1},
        ),
        latency_model=ImportableLatencyModelConfig(
            latency_model_path="nautilus_trader.backtest.models:LatencyModel",
            config_path="nautilus_trader.backtest.config:LatencyModelConfig",
            config=latency_model_config(cfg),
        ),
        fee_model=ImportableFeeModelConfig(
            fee_model_path="botmm_nautilus.backtest.venue_models:HyperliquidFeeModel",
            config_path="botmm_nautilus.backtest.venue_models:HyperliquidFeeModelConfig",
            config={"maker_fee": repr(fee_fraction(cfg.venue.maker_fee_bps)), "taker_fee": repr(fee_fraction(cfg.venue.taker_fee_bps))},
        ),
        modules=modules,
    )
    if mode == "book":
        data = [
            BacktestDataConfig(catalog_path=str(catalog_path), data_cls=OrderBookDelta, instrument_id=iid, start_time=start_ns, end_time=end_ns),
            BacktestDataConfig(catalog_path=str(catalog_path), data_cls=TradeTick, instrument_id=iid, start_time=start_ns, end_time=end_ns),
        ]
        bar_type = None
    else:
        bar_type = f"{iid}-{cfg.backtest.bar_interval}-LAST-EXTERNAL"
        data = [
            BacktestDataConfig(catalog_path=str(catalog_path), data_cls=Bar, bar_types=[bar_type], instrument_id=InstrumentId.from_str(str(iid)), start_time=start_ns, end_time=end_ns),
        ]
    strat_cfg = cfg.strategy_config(
        iid,
        strategy=strategy,
        mode=mode,
        bar_type=bar_type,
        sample_interval_s=cfg.backtest.sample_interval_s if mode == "book" else float(BAR_SECONDS[cfg.backtest.bar_interval]),
        log_events=False,
        log_commands=False,
        log_rejected_due_post_only_as_warning=False,
        **(strategy_fields or {}),
    )
    engine = BacktestEngineConfig(
        strategies=[
            # Nautilus rebuilds the config from these JSON primitives (``config_cls.parse``)
            ImportableStrategyConfig(
                strategy_path=importable_path(strategy_cls),
                config_path=importable_path(type(strat_cfg)),
                config=strat_cfg.json_primitives(),
            ),
        ],
        logging=LoggingConfig(log_level=log_level, bypass_logging=bypass_logging),
        # our own reports compute every statistic; Nautilus's post-run analyzer rebuilds pandas
        # frames per closed position (seconds per run, growing with the number of positions)
        run_analysis=False,
        data_engine=DataEngineConfig(buffer_deltas=True),
        exec_engine=ExecEngineConfig(
            purge_closed_orders_interval_mins=10,
            purge_closed_orders_buffer_mins=5,
            purge_account_events_interval_mins=10,
            purge_account_events_lookback_mins=5,
        ),
        risk_engine=RiskEngineConfig(
            max_order_submit_rate="1000/00:00:01",
            max_order_modify_rate="1000/00:00:01",
        ),
    )
    chunk = cfg.backtest.chunk_size if mode == "book" else None
    return BacktestRunConfig(engine=engine, venues=[venue], data=data, chunk_size=chunk, dispose_on_completion=False, start=start_ns, end=end_ns)


def prob_fill_on_limit(cfg: AssetConfig, mode: str) -> float:
    """Nautilus's ``FillModel.prob_fill_on_limit``: the chance that a resting limit fills when the
    market trades exactly AT its price (through it always fills). Candle mode: 0 for
    ``backtest.candle_fill: through`` (a bar must trade at least one tick through the price),
    1 for ``touch``. Book mode: 1 (the queue-position model decides fills at the price)."""
    if mode == "candles" and cfg.backtest.candle_fill == "through":
        return 0.0
    return 1.0


def latency_model_config(cfg: AssetConfig) -> dict:
    """The venue's ``LatencyModelConfig`` fields: ``venue.latency_ms`` on every order command."""
    return {
        "base_latency_nanos": int(cfg.venue.latency_ms * 1_000_000),
        "insert_latency_nanos": 0,
        "update_latency_nanos": 0,
        "cancel_latency_nanos": 0,
    }


def build_node(run_cfg):
    """A built ``BacktestNode`` for one run config, with the analyzer work-around applied and the
    order-entry timing installed (``backtest/timing.py``: each command reaches the venue at send
    time + the venue's configured latency)."""
    node = BacktestNode(configs=[run_cfg])
    node.build()
    engine = node.get_engine(run_cfg.id)
    if engine is not None:
        make_trade_recording_cheap(engine.portfolio)
        latency = run_cfg.venues[0].latency_model
        if latency is not None:
            OrderEntryTiming(latency_per_kind_ns(latency.config)).install(engine)
    return node


def order_entry_timing(engine) -> OrderEntryTiming | None:
    """The engine's ``OrderEntryTiming`` actor (installed by ``build_node``)."""
    return next((a for a in engine.trader.actors() if isinstance(a, OrderEntryTiming)), None)


def run_backtest(
    cfg: AssetConfig,
    catalog_path: str | None = None,
    start: str | int | None = None,
    end: str | int | None = None,
    mode: str = "book",
    json_path: str | Path | None = None,
    report_dir: str | Path | None = None,
    data_description: str | None = None,
    progress: bool = True,
    instrument: str | None = None,
    strategy: str | None = None,
) -> BacktestOutcome:
    """Run one backtest and build its summary, attribution, JSON and HTML report.

    ``instrument``: trade this instrument id of the catalog (any venue's, e.g. one imported with
    ``botmm data import-binance-raw``) instead of the config coin's Hyperliquid perp.
    ``strategy``: a name of ``STRATEGIES`` run instead of the config's ``strategy``."""
    start_ns, end_ns = parse_period_ns(start, end)
    catalog_path = str(catalog_path or cfg.backtest.catalog)
    info = check_catalog(catalog_path, cfg, mode, instrument)
    data_start, data_end = info["range"]
    if start_ns is not None and start_ns > data_end or end_ns is not None and end_ns < data_start:
        raise CatalogError(
            f"requested period [{start or 'start of data'}, {end or 'end of data'}] does not overlap the catalog's data "
            f"for {info['instrument_id']} "
            f"[{pd.Timestamp(data_start, tz='UTC')}, {pd.Timestamp(data_end, tz='UTC')}]",
        )
    run_cfg = build_run_config(cfg, catalog_path, mode, start_ns, end_ns, strategy=strategy, instrument=instrument)
    node = build_node(run_cfg)
    funding_records: list[dict] = []  # published by PerpFundingModule, one per payment
    queue_stats: list[dict] = []  # QueueFillModule's live counters (book mode)
    engine = node.get_engine(run_cfg.id)
    if engine is not None:
        engine.kernel.msgbus.subscribe(topic=FUNDING_TOPIC, handler=funding_records.append)
        engine.kernel.msgbus.subscribe(topic=QUEUE_STATS_TOPIC, handler=queue_stats.append)
    if progress:
        print(
            f"backtest {info['instrument_id']} mode={mode} catalog={catalog_path} "
            f"period={pd.Timestamp(start_ns or data_start, tz='UTC')} .. {pd.Timestamp(end_ns or data_end, tz='UTC')}",
            flush=True,
        )
    t0 = time.perf_counter()
    results = node.run()
    wall = time.perf_counter() - t0
    if engine is None or not results:
        raise RuntimeError(
            "the backtest engine did not run (see the Nautilus log above: usually the strategy failed to import "
            "or the catalog data could not be loaded)",
        )
    try:
        art = collect_artifacts(engine, cfg, info, mode, funding_records, wall, results[0])
        art.data_description = data_description or f"catalog {catalog_path}"
        timing = order_entry_timing(engine)
        latency_ms = timing.latency_summary() if timing is not None else None
        estimators = estimator_summary(engine.trader.strategies()[0])
        adaptive = adaptive_summary(engine.trader.strategies()[0])
    finally:
        node.dispose()
    summary = compute_summary(art)
    attribution = compute_attribution(
        art.fills, art.mids, art.funding, art.final_mid, markout_horizon_s=cfg.backtest.markout_horizon_s,
    )
    summary["attribution"] = attribution
    if queue_stats:
        summary["fill_rules"] = {"rules": "botmm_nautilus/venue/fill_rules.py", **queue_stats[0]}
    summary["latency_ms"] = latency_ms
    summary["estimators"] = estimators
    if adaptive is not None:
        summary["strategy"] = strategy or cfg.strategy
        summary["adaptive"] = adaptive
    summary["wall_seconds"] = round(wall, 3)
    # again, now that every field is in (fields added above or by the runner may raise warnings)
    summary["warnings"] = report_warnings(summary, art)
    json_out = None
    report_out = None
    if json_path:
        json_out = Path(json_path)
        json_out.parent.mkdir(parents=True, exist_ok=True)
        write_json(summary, json_out)
    if report_dir:
        rd = Path(report_dir)
        rd.mkdir(parents=True, exist_ok=True)
        stamp = pd.Timestamp(art.start_ns, tz="UTC").strftime("%Y%m%dT%H%M")
        report_out = write_html_report(art, summary, attribution, rd / f"backtest_{cfg.coin}_{mode}_{stamp}.html")
    return BacktestOutcome(summary, attribution, art, json_out, report_out)


def estimator_summary(strategy) -> dict | None:
    """Whether the quotes used the strategy's estimators or the configured defaults.

    ``sigma_fitted_frac`` / ``intensity_fitted_frac``: the share of quoting decisions that used the
    volatility estimate / a valid A, k fit (the rest used ``calibration.default_*``);
    ``sigma_fitted`` / ``intensity_fitted``: that share is at least one half. Also the estimator
    windows the run used (candle mode raises them, ``core.params.candle_calibration``).
    None for a strategy without a decision core.
    """
    core = getattr(strategy, "core", None)
    if core is None or not hasattr(core, "quotes_built"):
        return None
    n = core.quotes_built
    sigma_frac = core.quotes_sigma_fitted / n if n else 0.0
    intensity_frac = core.quotes_intensity_fitted / n if n else 0.0
    cal = core.calibration
    return {
        "sigma_fitted": sigma_frac >= 0.5,
        "intensity_fitted": intensity_frac >= 0.5,
        "sigma_fitted_frac": sigma_frac,
        "intensity_fitted_frac": intensity_frac,
        "quoting_decisions": n,
        "vol_half_life_s": cal.vol_half_life_s,
        "intensity_window_s": cal.intensity_window_s,
    }


def collect_artifacts(engine, cfg: AssetConfig, info: dict, mode: str, funding_records: list[dict], wall: float, result) -> Any:
    """Read the strategy's tape and the engine's account into ``BacktestArtifacts``."""
    strategy = engine.trader.strategies()[0]
    fills = pd.DataFrame(
        strategy.tape_fills,
        columns=["ts_ns", "side", "price", "qty", "fee_usd", "liquidity", "mid_at_fill", "order_id", "venue_order_id", "trade_id"],
    )
    fills = fills.astype({"ts_ns": "int64", "side": "int8", "price": "float64", "qty": "float64", "fee_usd": "float64", "mid_at_fill": "float64"})
    mids = pd.DataFrame({"ts_ns": pd.array(strategy.tape_mid_ts, dtype="int64"), "mid": pd.array(strategy.tape_mid, dtype="float64")})
    samples = pd.DataFrame(
        strategy.tape_samples,
        columns=["ts_ns", "equity_usd", "position_base", "mid", "bid_quote", "ask_quote", "quoting"],
    )
    samples = samples.astype({"ts_ns": "int64", "equity_usd": "float64", "position_base": "float64", "mid": "float64", "bid_quote": "float64", "ask_quote": "float64", "quoting": "bool"})
    funding = pd.DataFrame(funding_records, columns=["ts_ns", "instrument_id", "rate", "position_base", "price", "payment_usd"])
    funding = funding.drop(columns=["instrument_id"]).astype({"ts_ns": "int64", "rate": "float64", "position_base": "float64", "price": "float64", "payment_usd": "float64"})
    iid = strategy.config.instrument_id
    account = engine.portfolio.account(iid.venue)
    currency = account.base_currency if account is not None else None
    final_balance = account.balance_total(currency).as_double() if account is not None else math.nan
    commissions = account.commissions().get(currency) if account is not None else None
    final_position = 0.0
    avg_px = 0.0
    # portfolio.realized_pnl includes the snapshots of earlier NETTING cycles (a flat position that
    # reopens resets its own realized_pnl)
    realized_money = engine.portfolio.realized_pnl(iid)
    realized = realized_money.as_double() if realized_money is not None else 0.0
    for position in engine.cache.positions_open(instrument_id=iid):
        final_position += position.signed_qty
        avg_px = position.avg_px_open
    final_mid = float(mids["mid"].iloc[-1]) if len(mids) else math.nan
    book = engine.cache.order_book(iid) if mode == "book" else None
    bid, ask = (book.best_bid_price(), book.best_ask_price()) if book is not None else (None, None)
    final_spread = float(ask.as_decimal() - bid.as_decimal()) if bid is not None and ask is not None else math.nan
    unrealized = final_position * (final_mid - avg_px) if final_position else 0.0
    start_ns = int(mids["ts_ns"].iloc[0]) if len(mids) else int(info["range"][0])
    end_ns = int(mids["ts_ns"].iloc[-1]) if len(mids) else int(info["range"][1])
    return BacktestArtifacts(
        fills=fills,
        mids=mids,
        samples=samples,
        funding=funding,
        starting_balance_usd=cfg.capital_usd,
        final_balance_usd=final_balance,
        final_position_base=final_position,
        final_mid=final_mid,
        engine_realized_pnl_usd=realized,
        engine_unrealized_pnl_usd=unrealized,
        engine_commissions_usd=commissions.as_double() if commissions is not None else 0.0,
        instrument=str(iid),
        coin=cfg.coin,
        start_ns=start_ns,
        end_ns=end_ns,
        mode=mode,
        data_description="",
        sample_label=cfg.backtest.sample_label,
        config=msgspec.to_builtins(cfg),
        orders_submitted=strategy.orders_submitted,
        orders_modified=strategy.orders_modified,
        orders_canceled=strategy.orders_canceled,
        post_only_rejects=strategy.post_only_rejects,
        wall_seconds=wall,
        events_processed=int(getattr(result, "iterations", 0) or 0),
        final_market_spread=final_spread,
        taker_fee_frac=fee_fraction(cfg.venue.taker_fee_bps),
        maker_fee_frac=fee_fraction(cfg.venue.maker_fee_bps),
        final_best_bid=bid.as_double() if bid is not None else math.nan,
        final_best_ask=ask.as_double() if ask is not None else math.nan,
        has_trades=info.get("has_trades"),
        estimators=estimator_state(strategy),
    )


def estimator_state(strategy) -> dict | None:
    """Whether the strategy's core had fitted its estimators by the end of the run (None: no core).

    ``sigma_fitted``: the volatility estimator was ready (else quotes used
    ``calibration.default_sigma_bps_per_sqrt_s``); ``intensity_fitted``: the arrival-intensity fit
    (A, k) was valid (else ``default_A_per_s`` / ``default_k_per_bps``). End-of-run state only."""
    core = getattr(strategy, "core", None)
    if core is None:
        return None
    fit = core.intensity.fit() if core.mid == core.mid else None
    return {
        "sigma_fitted": bool(core.vol.ready and core.vol.sigma_price > 0),
        "intensity_fitted": bool(fit is not None and fit.valid),
        "source": "end-of-run state of the strategy's estimators",
    }
