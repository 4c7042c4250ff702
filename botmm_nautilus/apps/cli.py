"""The ``botmm`` command line.

    botmm data import-hyperliquid-ws DIR --catalog CAT [--coins BTC ETH] [--order-by exchange|receive]
                   [--feed-delay-ms MS] [--replace]
    botmm data import-l2-snapshots DIR --instrument ID --catalog CAT [--tick X] [--lot Y] [--quote-currency USDC]
                   [--maker-fee-bps B] [--taker-fee-bps B] [--order-by exchange|receive] [--feed-delay-ms MS]
                   [--gap-threshold-s S] [--match GLOB] [--replace]
    botmm data import-hyperliquid-s3 FILE... --catalog CAT [--allow-truncated] [--replace]
    botmm data import-candles FILE... --coin COIN --catalog CAT [--interval 5m] [--replace] [--force]
    botmm data import-funding FILE --coin COIN --catalog CAT [--replace] [--force]
    botmm data import-binance-raw FILE --catalog CAT [--replace]
    botmm data derive-snapshots FILE --catalog CAT [--levels 20] [--interval-ms 500] [--replace]
    botmm data synth --catalog CAT [--coins ...] [--days N] [--bar-days N] [--seed S]
    botmm data info --catalog CAT
    botmm backtest --config configs/btc.yaml [--catalog CAT] [--start ISO] [--end ISO] [--strategy NAME]
                   [--mode book|candles] [--json FILE] [--report DIR] [--fills CSV]
    botmm screen --catalog CAT [--instruments ID ...] [--start ISO] [--end ISO] [--horizons 1 5 30 60]
                 [--edge-horizon 30] [--maker-fee-bps X] [--json FILE] [--report DIR]
    botmm ablate --config configs/btc.yaml --catalog CAT --variants configs/ablation_basic.yaml
                 --window in=START..END --window out=START..END [--instrument ID] [--mode book|candles]
                 [--jobs 2] [--json FILE] [--report DIR] [--runs-dir DIR] [--bucket-s S] [--resamples N] [--seed N]
    botmm twin --catalog CAT --coins BTC ETH [--auto-account [USD]] [--fund ADDRESS=USD] [--port P] [--speed X]
    botmm live [--config configs/live.yaml] [--venue testnet|mainnet|twin] [--url URL] [--run-seconds N] [--json FILE]
    botmm kill [--config configs/live.yaml] [--flatten] [--reason TEXT] [--coins ...] | --reset
    botmm record --coins BTC ETH --catalog CAT [--url URL] [--venue testnet|mainnet] [--run-seconds N]
                 [--flush-seconds 60] [--part-seconds 3600] [--json FILE]
    botmm config show FILE [--kind asset|live]
    botmm config check FILE... [--kind asset|live]
    botmm config docs [--out docs/CONFIG.md]
    botmm train-fill-model --instrument ID --catalog CAT [--start ISO] [--end ISO] [--out FILE] [--json FILE]
                   [--sample-interval-s 1] [--horizon-s 5] [--markout-s 5] [--distances 0,1,2,5]
                   [--adverse-threshold-bps 0] [--fill-rule queue|touch] [--max-iter 150] [--threads 1]
    botmm train-fill-model --apply-model FILE --instrument ID --catalog CAT [--json FILE]   (score a saved model)

    botmm --version

Every error a user can cause (a bad option value, bad YAML, missing or corrupt data, a catalog
without the needed data, a refused key) is a ``BotmmError``: it prints one line ``error: ...``
naming the option, file or field and exits with status 2, never with a traceback. Options are
checked before any work starts (``apps.options``). Any other exception is a bug and keeps its
traceback; Ctrl-C exits with status 130.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from botmm_nautilus import __version__
from botmm_nautilus.apps import options
from botmm_nautilus.errors import BotmmError
from botmm_nautilus.errors import ConfigError


def _quiet_warnings() -> None:
    # pandas 3 warns about the Nautilus engine's use of Timestamp.utcnow() on every run
    warnings.filterwarnings("ignore", message=".*utcnow.*")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    try:
        from pandas.errors import Pandas4Warning  # type: ignore[attr-defined]

        warnings.filterwarnings("ignore", category=Pandas4Warning)
    except ImportError:  # pandas < 3
        pass


class _Parser(argparse.ArgumentParser):
    """``argparse`` with its usage errors as one ``error:`` line (exit status 2) like every
    other user error; ``--help`` shows the usage."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


# ------------------------------------------------------------------------------------------ data


def cmd_import_ws(args) -> int:
    from botmm_nautilus.data.hl_ws import import_hyperliquid_ws

    options.output_dir(args.catalog, "--catalog")
    options.non_negative(args.feed_delay_ms, "--feed-delay-ms")
    summary = import_hyperliquid_ws(args.directory, args.catalog, coins=args.coins, replace=args.replace, progress=not args.quiet,
                                    order_by=args.order_by, feed_delay_ms=args.feed_delay_ms)
    print(summary)
    return 0


def cmd_import_l2_snapshots(args) -> int:
    from botmm_nautilus.data.snapshots import import_l2_snapshots

    options.output_dir(args.catalog, "--catalog")
    options.non_negative(args.feed_delay_ms, "--feed-delay-ms")
    options.positive(args.gap_threshold_s, "--gap-threshold-s")
    extra = {} if args.gap_threshold_s is None else {"gap_threshold_s": args.gap_threshold_s}
    summary = import_l2_snapshots(
        args.directory, args.catalog, args.instrument, tick=args.tick, lot=args.lot, quote_currency=args.quote_currency,
        maker_fee_bps=args.maker_fee_bps, taker_fee_bps=args.taker_fee_bps, order_by=args.order_by,
        feed_delay_ms=args.feed_delay_ms, match=args.match, replace=args.replace, progress=not args.quiet, **extra,
    )
    print(summary)
    return 0


def cmd_import_s3(args) -> int:
    from botmm_nautilus.data.hl_s3 import import_hyperliquid_s3

    options.output_dir(args.catalog, "--catalog")
    kwargs = {"replace": args.replace, "progress": not args.quiet}
    if args.allow_truncated:
        kwargs["allow_truncated"] = True
    summary = import_hyperliquid_s3(args.files, args.catalog, **kwargs)
    print(summary)
    return 0


def cmd_import_candles(args) -> int:
    from botmm_nautilus.data.candles import import_candles

    options.output_dir(args.catalog, "--catalog")
    summary = import_candles(args.files, args.coin, args.catalog, interval=args.interval, replace=args.replace, force=args.force)
    print(summary)
    return 0


def cmd_import_funding(args) -> int:
    from botmm_nautilus.data.funding import import_funding

    options.output_dir(args.catalog, "--catalog")
    summary = import_funding(args.file, args.coin, args.catalog, replace=args.replace, force=args.force)
    print(summary)
    return 0


def cmd_import_binance(args) -> int:
    from botmm_nautilus.data.binance import import_binance_raw

    options.output_dir(args.catalog, "--catalog")
    summary = import_binance_raw(args.file, args.catalog, replace=args.replace)
    print(summary)
    return 0


def cmd_derive_snapshots(args) -> int:
    from botmm_nautilus.data.derive import derive_window_snapshots

    options.positive(args.levels, "--levels")
    options.positive(args.interval_ms, "--interval-ms")
    options.output_dir(args.catalog, "--catalog")
    window = {k: v for k, v in (("levels", args.levels), ("interval_ms", args.interval_ms)) if v is not None}
    summary = derive_window_snapshots(args.file, args.catalog, replace=args.replace, progress=not args.quiet, **window)
    print(summary)
    return 0


def cmd_synth(args) -> int:
    from botmm_nautilus.data.synth import start_time_ns
    from botmm_nautilus.data.synth import write_synthetic_catalog
    from botmm_nautilus.data.synth_params import SYNTH_PARAMS

    coins = tuple(dict.fromkeys(c.upper() for c in args.coins))
    if not coins:
        raise ConfigError(f"--coins: give at least one coin; known: {', '.join(SYNTH_PARAMS)}")
    unknown = [c for c in coins if c not in SYNTH_PARAMS]
    if unknown:
        raise ConfigError(f"--coins {' '.join(unknown)}: no synthetic parameters; known: {', '.join(SYNTH_PARAMS)}")
    options.positive(args.days, "--days")
    options.non_negative(args.bar_days, "--bar-days")
    options.non_negative(args.seed, "--seed")
    start_time_ns(args.start, "--start")
    options.output_dir(args.catalog, "--catalog")
    summary = write_synthetic_catalog(
        args.catalog,
        coins=coins,
        l2_hours=args.days * 24.0,
        bar_days=args.bar_days,
        seed=args.seed,
        start=args.start,
        progress=not args.quiet,
        replace=args.replace,
    )
    print(summary)
    return 0


def cmd_info(args) -> int:
    from botmm_nautilus.data.info import catalog_info
    from botmm_nautilus.data.info import format_catalog_info

    if not Path(args.catalog).is_dir():
        from botmm_nautilus.data.catalog_io import CatalogError

        raise CatalogError(f"catalog {args.catalog} not found" + (" (it is a file)" if Path(args.catalog).exists() else ""))
    print(format_catalog_info(catalog_info(args.catalog)))
    return 0


# -------------------------------------------------------------------------------------- backtest


def cmd_backtest(args) -> int:
    from botmm_nautilus.backtest.runner import run_backtest
    from botmm_nautilus.config.asset import load_config
    from botmm_nautilus.times import parse_period_ns
    from botmm_nautilus.reports import format_summary_table

    parse_period_ns(args.start, args.end, ("--start", "--end"))
    options.output_file(args.json, "--json")
    options.output_dir(args.report, "--report")
    options.output_file(args.fills, "--fills")
    cfg = load_config(args.config)
    outcome = run_backtest(
        cfg,
        catalog_path=args.catalog,
        start=args.start,
        end=args.end,
        mode=args.mode,
        json_path=args.json,
        report_dir=args.report,
        data_description=args.data_description,
        progress=not args.quiet,
        instrument=args.instrument,
        strategy=args.strategy,
    )
    print(format_summary_table(outcome.summary))
    if args.fills:
        from botmm_nautilus.reports import write_fills_csv

        path = write_fills_csv(outcome.artifacts.fills, args.fills)
        print(f"fills CSV: {path} ({len(outcome.artifacts.fills):,} OrderFilled events, "
              f"{outcome.summary.get('venue_fills', 0):,} venue fills)")
    for warning in outcome.summary.get("warnings") or []:
        print(f"WARNING: {warning}", file=sys.stderr)
    if outcome.json_path:
        print(f"JSON result: {outcome.json_path}")
    if outcome.report_path:
        print(f"HTML report: {outcome.report_path}")
    return 0


# ----------------------------------------------------------------------------------------- screen


def cmd_screen(args) -> int:
    from botmm_nautilus.data.screen import format_screen_table
    from botmm_nautilus.data.screen import screen_catalog
    from botmm_nautilus.reports import write_json
    from botmm_nautilus.times import parse_period_ns

    start_ns, end_ns = parse_period_ns(args.start, args.end, ("--start", "--end"))
    for h in args.horizons:
        options.non_negative(h, "--horizons")
    options.non_negative(args.edge_horizon, "--edge-horizon")
    options.output_file(args.json, "--json")
    options.output_dir(args.report, "--report")
    result = screen_catalog(
        args.catalog, instruments=args.instruments, start_ns=start_ns, end_ns=end_ns, horizons_s=args.horizons,
        edge_horizon_s=args.edge_horizon, maker_fee_bps=args.maker_fee_bps, progress=not args.quiet,
    )
    print(format_screen_table(result))
    for note in result["notes"]:
        print(f"note: {note}", file=sys.stderr)
    if args.json:
        print(f"JSON result: {write_json(result, args.json)}")
    if args.report:
        from botmm_nautilus.reports.screen_html import write_screen_report

        print(f"HTML report: {write_screen_report(result, Path(args.report) / 'screen.html')}")
    return 0


# ----------------------------------------------------------------------------------------- ablate


def cmd_ablate(args) -> int:
    import time

    from botmm_nautilus.backtest.ablation import parse_windows
    from botmm_nautilus.backtest.ablation import run_ablation
    from botmm_nautilus.reports.ablation import format_ablation_table
    from botmm_nautilus.reports import write_json
    from botmm_nautilus.reports.ablation import write_ablation_html

    windows = parse_windows(args.window)
    options.input_file(args.variants, "--variants")
    options.output_file(args.json, "--json")
    options.output_dir(args.report, "--report")
    options.output_dir(args.runs_dir, "--runs-dir")
    options.positive(args.jobs, "--jobs")
    options.positive(args.bucket_s, "--bucket-s")
    options.positive(args.resamples, "--resamples")
    result = run_ablation(
        args.config, args.catalog, args.variants, windows, instrument=args.instrument, mode=args.mode, jobs=args.jobs,
        bucket_s=args.bucket_s, runs_dir=args.runs_dir, progress=None if args.quiet else (lambda line: print(line, flush=True)),
    )
    print(format_ablation_table(result))
    print(f"{len(result['rows'])} backtests in {result['wall_seconds']:.1f} s wall with --jobs {args.jobs}")
    if args.json:
        print(f"JSON result: {write_json(result, args.json)}")
    if args.report:
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        path = write_ablation_html(result, Path(args.report) / f"ablation_{stamp}.html",
                                   title=f"Ablation: {result['data']['instrument']} ({Path(args.variants).name})")
        print(f"HTML report: {path}")
    return 0


# ------------------------------------------------------------------------------------------- twin


def cmd_twin(args) -> int:
    from botmm_nautilus.times import parse_period_ns
    from botmm_nautilus.twin import serve
    from botmm_nautilus.twin.standalone import check_host
    from botmm_nautilus.twin.standalone import parse_fund

    parse_period_ns(args.start, args.end, ("--start", "--end"))
    options.non_negative(args.balance, "--balance")
    auto = args.auto_account is not None
    auto_usd = args.balance if args.auto_account is None or args.auto_account != args.auto_account else args.auto_account
    options.non_negative(auto_usd, "--auto-account")
    options.input_file(args.accounts, "--accounts")
    check_host(args.host, args.allow_remote)
    fund = dict(parse_fund(text) for text in args.fund or [])
    return serve(
        args.catalog,
        args.coins,
        host=args.host,
        port=args.port,
        speed=args.speed,
        balance=auto_usd,
        accounts_file=args.accounts,
        fund=fund,
        auto_create_accounts=auto,
        allow_remote=args.allow_remote,
        loop=args.loop,
        start=args.start,
        end=args.end,
    )


_AUTO_DEFAULT = float("nan")  # ``--auto-account`` given without a USD amount: new accounts get --balance


# ----------------------------------------------------------------------------------------- record


def cmd_record(args) -> int:
    import json
    import logging

    from botmm_nautilus.apps.recorder import RecordSettings
    from botmm_nautilus.apps.recorder import format_summary
    from botmm_nautilus.apps.recorder import record_blocking
    from botmm_nautilus.apps.recorder import resolve_urls

    for name in ("run_seconds", "flush_seconds", "part_seconds", "stale_seconds", "status_seconds"):
        check = options.positive if name in ("part_seconds", "run_seconds") else options.non_negative
        check(getattr(args, name), f"--{name.replace('_', '-')}")
    options.output_dir(args.catalog, "--catalog")
    options.output_file(args.json, "--json")
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    http_url, ws_url = resolve_urls(args.url, testnet=args.venue != "mainnet")
    settings = RecordSettings(
        coins=list(dict.fromkeys(args.coins)),
        catalog=args.catalog,
        http_url=http_url,
        ws_url=ws_url,
        part_seconds=args.part_seconds,
        flush_seconds=args.flush_seconds,
        status_seconds=0.0 if args.quiet else args.status_seconds,
        stale_seconds=args.stale_seconds,
        run_seconds=args.run_seconds,
    )
    summary = record_blocking(settings, print_fn=lambda line: print(line, flush=True))
    print(format_summary(summary), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2, default=str))
    return 1 if summary.get("rescue_path") else 0


# ----------------------------------------------------------------------------------------- config


def cmd_config_show(args) -> int:
    from botmm_nautilus.config.loader import dump_yaml
    from botmm_nautilus.config.schema import load_any

    kind, cfg = load_any(args.file, args.kind)
    if kind == "variants":
        from botmm_nautilus.config.variants import format_variants

        print(f"# {args.file}: {len(cfg)} ablation variants, each applied on top of a per-asset file (the first is the baseline)")
        print(format_variants(cfg), end="")
        return 0
    print(f"# {args.file}: every {kind} setting with its effective value (defaults included)")
    print(dump_yaml(cfg), end="")
    return 0


def cmd_config_check(args) -> int:
    from botmm_nautilus.config.schema import load_any
    from botmm_nautilus.errors import ConfigError

    failed = 0
    for path in args.files:
        try:
            kind, _ = load_any(path, args.kind)
        except ConfigError as exc:
            failed += 1
            print(f"error: {exc}", file=sys.stderr)
        else:
            print(f"ok: {path} ({kind} config)")
    return 2 if failed else 0


def cmd_config_docs(args) -> int:
    from botmm_nautilus.config.docs import render_config_docs

    text = render_config_docs()
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
        print(f"wrote {args.out}")
    else:
        print(text, end="")
    return 0


def add_config_parser(sub) -> None:
    """``botmm config show|check|docs``: the YAML configuration, its effective values and its reference."""
    kinds = ["asset", "live", "variants"]  # config.schema.KINDS (not imported here: it loads Nautilus)
    cfg = sub.add_parser("config", help="show, check and document the YAML configuration (per-asset files, live.yaml, "
                         "ablation variants)")
    csub = cfg.add_subparsers(dest="config_command", required=True)
    sp = csub.add_parser("show", help="every setting of a file with its effective value (defaults included), as YAML")
    sp.add_argument("file")
    sp.add_argument("--kind", choices=kinds, default=None, help="per-asset file, live.yaml or a variants file (default: from its keys)")
    sp.set_defaults(func=cmd_config_show)
    sp = csub.add_parser("check", help="validate files: exit 0 if all are valid, 2 naming the file and field otherwise")
    sp.add_argument("files", nargs="+")
    sp.add_argument("--kind", choices=kinds, default=None, help="per-asset file, live.yaml or a variants file (default: from its keys)")
    sp.set_defaults(func=cmd_config_check)
    sp = csub.add_parser("docs", help="the configuration reference (docs/CONFIG.md) generated from the schema")
    sp.add_argument("--out", default=None, help="write it here (default: print it)")
    sp.set_defaults(func=cmd_config_docs)


# ---------------------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="botmm", description="Hyperliquid market making on Nautilus Trader")
    p.add_argument("--version", action="version", version=f"botmm-nautilus {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="import, generate and inspect Parquet catalog data")
    dsub = data.add_subparsers(dest="data_command", required=True)

    def common(sp, catalog_required=True):
        sp.add_argument("--catalog", required=catalog_required, help="ParquetDataCatalog directory")
        sp.add_argument("--replace", action="store_true", help="overwrite overlapping data already in the catalog")
        sp.add_argument("--quiet", action="store_true", help="no progress display")

    from botmm_nautilus.data import replay_order

    def replay_options(sp):
        sp.add_argument("--order-by", choices=replay_order.ORDER_BY_CHOICES, default=replay_order.DEFAULT_ORDER_BY,
                        help="replay order (ts_init): exchange time + feed delay (default: the venue's order; trades "
                        "reach a recorder later than books) or the recorder's receive time")
        sp.add_argument("--feed-delay-ms", type=float, default=None,
                        help="with --order-by exchange: ts_init = exchange time + this (default: the median book receive delay "
                        "of the recording)")

    sp = dsub.add_parser("import-hyperliquid-ws", help="Hyperliquid WebSocket recording folder (orderbooks_*/trades_* csv.gz)")
    sp.add_argument("directory")
    sp.add_argument("--coins", nargs="*", default=None)
    replay_options(sp)
    common(sp)
    sp.set_defaults(func=cmd_import_ws)

    sp = dsub.add_parser(
        "import-l2-snapshots",
        help="a folder of L2 snapshot files of any venue (orderbook*.parquet/.csv: list or wide level columns) and the "
        "trades* files beside them (aggressor inferred when the recorded side is missing or constant)",
    )
    sp.add_argument("directory")
    sp.add_argument("--instrument", required=True, help="instrument id SYMBOL.VENUE, e.g. BTC-USD-PERP.STANDX")
    sp.add_argument("--tick", default=None, help="price increment, e.g. 0.1 (default: inferred from the book)")
    sp.add_argument("--lot", default=None, help="size increment, e.g. 0.0001 (default: inferred from the book)")
    sp.add_argument("--quote-currency", default="USDC",
                    help="quote and settlement currency (default USDC, whatever the symbol says: the backtest account is "
                    "USDC, and Nautilus books no PnL for a USD-quoted instrument on a USDC account)")
    sp.add_argument("--maker-fee-bps", type=float, default=None, help="instrument maker fee (default: Hyperliquid base tier)")
    sp.add_argument("--taker-fee-bps", type=float, default=None, help="instrument taker fee (default: Hyperliquid base tier)")
    sp.add_argument("--gap-threshold-s", type=float, default=None,
                    help="no book for longer than this = a gap: CLEAR + snapshot, listed by botmm data info "
                    "(default: engine.book_diff's, 60)")
    sp.add_argument("--match", default=None, help="only files whose name matches this glob, e.g. '*2026-01-06_0[01]*'")
    replay_options(sp)
    common(sp)
    sp.set_defaults(func=cmd_import_l2_snapshots)

    sp = dsub.add_parser("import-hyperliquid-s3", help="Hyperliquid S3 archive l2Book hour files (LZ4 JSON lines)")
    sp.add_argument("files", nargs="+")
    sp.add_argument("--allow-truncated", action="store_true", help="keep the complete lines of a cut-off file")
    common(sp)
    sp.set_defaults(func=cmd_import_s3)

    sp = dsub.add_parser("import-candles", help="candles: Feather/CSV (date,open,high,low,close,volume) or candleSnapshot JSON")
    sp.add_argument("files", nargs="+")
    sp.add_argument("--coin", required=True)
    sp.add_argument("--interval", default=None, help="e.g. 1m, 5m, 15m, 1h (default: from the file name or timestamps)")
    sp.add_argument("--force", action="store_true", help="import even when a file name names another coin than --coin")
    common(sp)
    sp.set_defaults(func=cmd_import_candles)

    sp = dsub.add_parser("import-funding", help="hourly funding history (Feather/CSV/fundingHistory JSON)")
    sp.add_argument("file")
    sp.add_argument("--coin", required=True)
    sp.add_argument("--force", action="store_true", help="import even when the file name names another coin than --coin")
    common(sp)
    sp.set_defaults(func=cmd_import_funding)

    sp = dsub.add_parser("import-binance-raw", help="Binance USD-M raw WebSocket capture (<local_ns> <json> lines)")
    sp.add_argument("file")
    common(sp)
    sp.set_defaults(func=cmd_import_binance)

    sp = dsub.add_parser(
        "derive-snapshots",
        help="a Binance USD-M raw capture seen as Hyperliquid shows a book: top N levels a side every T ms, plus its trades",
    )
    sp.add_argument("file")
    sp.add_argument("--levels", type=int, default=None, help="levels a side (default: 20, what Hyperliquid publishes)")
    sp.add_argument("--interval-ms", type=float, default=None, help="sampling interval in receive time (default: 500)")
    common(sp)
    sp.set_defaults(func=cmd_derive_snapshots)

    sp = dsub.add_parser("synth", help="generate the seeded synthetic market (L2, trades, bars, funding)")
    sp.add_argument("--coins", nargs="*", default=["BTC", "ETH", "SOL", "XRP", "HYPE"])
    sp.add_argument("--days", type=float, default=1.0, help="days of L2 book + trades (default 1)")
    sp.add_argument("--bar-days", type=int, default=365, help="days of 5-minute and 1-hour bars (default 365)")
    sp.add_argument("--seed", type=int, default=7)
    sp.add_argument("--start", default="2025-01-01", help="first day (UTC)")
    common(sp)
    sp.set_defaults(func=cmd_synth)

    sp = dsub.add_parser("info", help="what a catalog holds: instruments, data types, time ranges, counts")
    sp.add_argument("--catalog", required=True)
    sp.set_defaults(func=cmd_info)

    bt = sub.add_parser("backtest", help="run the config's strategy (MarketMaker by default) over a catalog")
    bt.add_argument("--config", required=True, help="per-asset YAML, e.g. configs/btc.yaml")
    bt.add_argument("--catalog", default=None, help="catalog directory (default: backtest.catalog in the config)")
    bt.add_argument("--start", default=None, help="ISO time, e.g. 2025-01-01T00:00:00Z")
    bt.add_argument("--end", default=None)
    bt.add_argument("--mode", choices=["book", "candles"], default="book")
    bt.add_argument("--strategy", default=None,
                    help="strategy to run instead of the config's `strategy:` (MarketMaker, AdaptiveMarketMaker, FixedQuoter, DoNothing)")
    bt.add_argument(
        "--instrument",
        default=None,
        help="instrument id in the catalog to trade (default: the config coin's Hyperliquid perp, e.g. "
        "BTC-USDC-PERP.HL); any venue's, e.g. BTCUSDT-PERP.BINANCE; fees and latency come from the config",
    )
    bt.add_argument("--json", default=None, help="write the result JSON here")
    bt.add_argument("--report", default=None, help="write the HTML report into this directory")
    bt.add_argument("--fills", default=None, help="write every fill (OrderFilled event) as CSV here: ts, ts_ns, side, price, "
                    "qty, order_id, venue_order_id, trade_id, liquidity, fee_usd, mid_at_fill")
    bt.add_argument("--data-description", default=None, help="what the data is, for the report header")
    bt.add_argument("--quiet", action="store_true")
    bt.set_defaults(func=cmd_backtest)

    from botmm_nautilus.data.screen import DEFAULT_EDGE_HORIZON_S
    from botmm_nautilus.data.screen import DEFAULT_HORIZONS_S

    sp = sub.add_parser("screen", help="where a maker can earn: per instrument of a catalog the touch spread, depth, "
                        "volatility, trade rate, adverse selection of touch fills, edge and break-even maker fee")
    sp.add_argument("--catalog", required=True, help="catalog with order book deltas and trade ticks")
    sp.add_argument("--instruments", nargs="+", default=None, help="instrument ids (default: every one with book data)")
    sp.add_argument("--start", default=None, help="ISO time (default: the first book message)")
    sp.add_argument("--end", default=None, help="ISO time (default: the last book message)")
    sp.add_argument("--horizons", nargs="+", type=float, default=list(DEFAULT_HORIZONS_S),
                    help=f"markout horizons in seconds (default: {' '.join(f'{h:g}' for h in DEFAULT_HORIZONS_S)})")
    sp.add_argument("--edge-horizon", type=float, default=DEFAULT_EDGE_HORIZON_S,
                    help=f"the horizon whose adverse selection edge_bps subtracts (default {DEFAULT_EDGE_HORIZON_S:g} s)")
    sp.add_argument("--maker-fee-bps", type=float, default=None,
                    help="maker fee for every instrument, + = a cost (default: Hyperliquid's base tier for HL, else the "
                    "catalog instrument's maker fee, marked as assumed)")
    sp.add_argument("--json", default=None, help="write the result JSON here")
    sp.add_argument("--report", default=None, help="write the HTML page (screen.html) into this directory")
    sp.add_argument("--quiet", action="store_true", help="no progress lines")
    sp.set_defaults(func=cmd_screen)

    ab = sub.add_parser("ablate", help="one backtest per (variant, window) in worker processes, and the ablation table with CIs")
    ab.add_argument("--config", required=True, help="per-asset YAML the variants are applied to, e.g. configs/btc.yaml")
    ab.add_argument("--catalog", required=True, help="catalog directory")
    ab.add_argument("--variants", required=True, help="variants YAML: a list of {name, strategy, set: {dotted.key: value}}; "
                    "the first is the baseline (configs/ablation_basic.yaml)")
    ab.add_argument("--window", action="append", required=True, metavar="NAME=START..END",
                    help="a window; NAME in / out (or in-X / out-X) labels it in-sample / out-of-sample (repeatable)")
    ab.add_argument("--instrument", default=None, help="instrument id in the catalog (default: the config coin's Hyperliquid perp)")
    ab.add_argument("--mode", choices=["book", "candles"], default="book")
    ab.add_argument("--jobs", type=int, default=2, help="backtests at a time, each in a fresh process (default 2)")
    ab.add_argument("--bucket-s", type=float, default=None,
                    help="PnL bucket of the bootstrap CI in seconds (default: 3600 when the shortest window has >= 12 hours, "
                    "else the longest of 1800..1 s giving >= 12 buckets)")
    ab.add_argument("--resamples", type=int, default=None, help="bootstrap resamples (default: reports.bootstrap.DEFAULT_RESAMPLES, 2000)")
    ab.add_argument("--seed", type=int, default=None, help="bootstrap seed (default: reports.bootstrap.DEFAULT_SEED)")
    ab.add_argument("--json", default=None, help="write the ablation result JSON here")
    ab.add_argument("--report", default=None, help="write the HTML page (table and charts) into this directory")
    ab.add_argument("--runs-dir", default=None, help="also write each run's backtest JSON here ({variant}__{window}.json)")
    ab.add_argument("--quiet", action="store_true", help="no progress lines")
    ab.set_defaults(func=cmd_ablate)

    sp = sub.add_parser("twin", help="local Hyperliquid exchange twin (HTTP + WebSocket) replaying a catalog: paper trading, integration tests")
    sp.add_argument("--catalog", required=True)
    sp.add_argument("--coins", nargs="+", required=True)
    sp.add_argument("--host", default="127.0.0.1", help="a loopback address unless --allow-remote")
    sp.add_argument("--allow-remote", action="store_true",
                    help="serve on a non-loopback --host (the /_twin/* admin endpoints have no authentication)")
    sp.add_argument("--port", type=int, default=3001, help="0 = any free port; 3001 = the SDK's LOCAL_API_URL")
    sp.add_argument("--speed", type=float, default=1.0, help="replay speed (1 = real time)")
    sp.add_argument("--auto-account", type=float, nargs="?", const=_AUTO_DEFAULT, default=None, metavar="USD",
                    help="give any signer an account with USD (default --balance) USDC; without it (and without "
                         "--fund/--accounts) an unknown signer is refused as on the venue")
    sp.add_argument("--fund", action="append", metavar="ADDRESS=USD", help="create an account with USD USDC (repeatable)")
    sp.add_argument("--balance", type=float, default=100000.0, help="starting USDC of accounts made by --auto-account")
    sp.add_argument("--accounts", default=None, help='JSON: {"0xaddr": usdc} or {"accounts": {...}, "subAccounts": {"0xmaster": ["0xsub"]}}')
    sp.add_argument("--loop", action="store_true", help="replay again from the start when the data ends")
    sp.add_argument("--start", default=None, help="ISO time (default: the first order-book data)")
    sp.add_argument("--end", default=None, help="ISO time (default: the last book or trade data)")
    sp.set_defaults(func=cmd_twin)

    sp = sub.add_parser("record", help="record Hyperliquid l2Book + trades into the Parquet catalog (hourly parts, gaps logged)")
    sp.add_argument("--coins", nargs="+", required=True)
    sp.add_argument("--catalog", required=True)
    sp.add_argument("--url", default=None, help="venue HTTP base (http://127.0.0.1:3001 for the twin) or its ws(s)://.../ws URL; "
                    "default: the --venue's public URL")
    sp.add_argument("--venue", choices=["testnet", "mainnet"], default="testnet", help="default URL when --url is not given "
                    "(testnet, like the adapter's config; market data needs no key)")
    sp.add_argument("--run-seconds", type=float, default=None, help="stop after N seconds (default: until Ctrl-C / SIGTERM)")
    sp.add_argument("--flush-seconds", type=float, default=60.0, help="write buffered data every N s (0 = only at part "
                    "rotation and stop; default 60)")
    sp.add_argument("--part-seconds", type=float, default=3600.0, help="part length in exchange time (default 3600 = UTC hours)")
    sp.add_argument("--stale-seconds", type=float, default=30.0, help="no book message of a coin for N s = a gap (0 = off)")
    sp.add_argument("--status-seconds", type=float, default=10.0, help="status line interval (default 10)")
    sp.add_argument("--json", default=None, help="write the summary as JSON here")
    sp.add_argument("--quiet", action="store_true", help="no status lines")
    sp.set_defaults(func=cmd_record)

    sp = sub.add_parser("train-fill-model", help="train the fill / adverse-selection model on a catalog's book and trades "
                        "(time split with embargo, out-of-sample AUC, calibration, shuffled-label guard)")
    sp.add_argument("--instrument", required=True, help="instrument id in the catalog, e.g. BTC-USD-PERP.STANDX")
    sp.add_argument("--catalog", required=True)
    sp.add_argument("--start", default=None, help="ISO time (default: the first data)")
    sp.add_argument("--end", default=None, help="ISO time (default: the last data)")
    sp.add_argument("--out", default=None, help="write the model file (JSON) here")
    sp.add_argument("--json", default=None, help="write the training report (AUCs, calibration, base rates) here")
    sp.add_argument("--sample-interval-s", type=float, default=1.0, help="a set of candidates every N s of replay time")
    sp.add_argument("--horizon-s", type=float, default=5.0, help="a candidate is filled when the fill rule holds within N s")
    sp.add_argument("--markout-s", type=float, default=5.0, help="markout of a fill: the mid N s after it")
    sp.add_argument("--distances", default="0,1,2,5", help="candidate distances behind the touch, in ticks (comma list)")
    sp.add_argument("--adverse-threshold-bps", type=float, default=0.0, help="a fill is adverse when its markout against us exceeds this")
    sp.add_argument("--fill-rule", default="queue", help="queue: through the price, or the size printed at it exceeds the "
                    "size displayed there at t; touch: any trade at or through the price")
    sp.add_argument("--apply-model", default=None, metavar="FILE", help="do not train: score this saved model on the "
                    "catalog's data (out of sample: another period or venue), with the model's own label settings")
    sp.add_argument("--max-iter", type=int, default=150, help="boosting iterations (trees) per model")
    sp.add_argument("--threads", type=int, default=1, help="threads scikit-learn may use (1 is fastest on a busy machine)")
    sp.add_argument("--quiet", action="store_true")
    sp.set_defaults(func=cmd_train_fill_model)

    from botmm_nautilus.apps.live import add_live_parser

    add_live_parser(sub)
    from botmm_nautilus.apps.control import add_kill_parser

    add_kill_parser(sub)
    add_config_parser(sub)
    return p


def cmd_train_fill_model(args) -> int:
    import json

    from botmm_nautilus.ml.dataset import FILL_RULES
    from botmm_nautilus.ml.dataset import DatasetSettings
    from botmm_nautilus.ml.train import train_fill_model
    from botmm_nautilus.times import parse_time_ns

    if not Path(args.catalog).is_dir():
        raise ConfigError(f"--catalog {args.catalog}: no such folder")
    options.output_file(args.out, "--out")
    options.output_file(args.json, "--json")
    options.positive(args.max_iter, "--max-iter")
    options.positive(args.threads, "--threads")
    for value, name in ((args.sample_interval_s, "--sample-interval-s"), (args.horizon_s, "--horizon-s"),
                        (args.markout_s, "--markout-s")):
        options.positive(value, name)
    try:
        distances = tuple(int(x) for x in args.distances.split(",") if x.strip())
    except ValueError:
        raise ConfigError(f"--distances {args.distances!r}: expected whole numbers of ticks separated by commas, e.g. 0,1,2,5") from None
    if not distances or min(distances) < 0:
        raise ConfigError(f"--distances {args.distances!r}: expected whole numbers >= 0, e.g. 0,1,2,5")
    if args.fill_rule not in FILL_RULES:
        raise ConfigError(f"--fill-rule {args.fill_rule!r}: expected one of {', '.join(FILL_RULES)}")
    settings = DatasetSettings(sample_interval_s=args.sample_interval_s, distances_ticks=distances, horizon_s=args.horizon_s,
                               markout_s=args.markout_s, adverse_threshold_bps=args.adverse_threshold_bps,
                               fill_rule=args.fill_rule, book_levels=max(10, max(distances) + 1))
    start = parse_time_ns(args.start, "--start")
    end = parse_time_ns(args.end, "--end")
    if start is not None and end is not None and end <= start:
        raise ConfigError(f"--end {args.end}: must be after --start {args.start}")
    say = (lambda _t: None) if args.quiet else (lambda t: print(t, file=sys.stderr, flush=True))
    if args.apply_model:
        from botmm_nautilus.ml.train import apply_fill_model

        options.input_file(args.apply_model, "--apply-model")
        if args.out:
            raise ConfigError("--out: not with --apply-model (the model is only scored)")
        try:
            report = apply_fill_model(args.apply_model, args.catalog, args.instrument, start, end, args.sample_interval_s,
                                      distances, json_path=args.json, progress=not args.quiet, say=say)
        except ValueError as exc:
            raise ConfigError(f"train-fill-model --apply-model {args.apply_model} --instrument {args.instrument}: {exc}") from None
        print(json.dumps({"instrument_id": report["instrument_id"], "candidates": report["candidates"],
                          "model_trained_on": report["model_trained_on"]["instrument_id"],
                          "auc": {k: v["auc"] for k, v in report["models"].items()},
                          "base_rate": {k: v["base_rate"] for k, v in report["models"].items()},
                          "predicted_mean": {k: v["predicted_mean"] for k, v in report["models"].items()}}, indent=1))
        return 0
    try:
        report = train_fill_model(args.catalog, args.instrument, start, end, settings, out=args.out, json_path=args.json,
                                  progress=not args.quiet, say=say, model_settings={"max_iter": args.max_iter}, threads=args.threads)
    except ValueError as exc:
        raise ConfigError(f"train-fill-model --instrument {args.instrument} --catalog {args.catalog}: {exc}") from None
    head = {
        "instrument_id": report["instrument_id"],
        "candidates": report["candidates"],
        "fill_rate": round(report["dataset"]["fill_rate"], 4),
        "auc_test": {k: report["models"][k]["auc"]["test"] for k in report["models"]},
        "shuffled_label_auc_test": {k: report["models"][k]["shuffled_label_auc_test"] for k in report["models"]},
    }
    print(json.dumps(head, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run one ``botmm`` command; the exit status: 0 done, 2 a user error (one ``error:`` line),
    130 interrupted (Ctrl-C), or what the command returns."""
    try:
        _quiet_warnings()
        args = build_parser().parse_args(argv)
        return args.func(args)
    except BotmmError as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line (a multi-line message has its lines joined)."""
    return " ".join(part.strip() for part in str(exc).splitlines() if part.strip()) or type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
