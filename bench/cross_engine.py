"""Cross-engine proof: the same fixed-rule quoter on the same Binance capture in our Nautilus
backtest and in hftbacktest (an independent engine), figures side by side.

    python bench/cross_engine.py --capture ../shared/data/binance/raw_ws/usdm_btcusdt_20240808.gz
        [--bps 2] [--interval-s 1] [--size BASE_UNITS] [--latency-ms 60]
        [--maker-fee-bps 2] [--taker-fee-bps 5] [--clock local|exchange] [--workdir DIR]

Needs the optional extra ``bench`` (``pip install -e .[bench]``: hftbacktest, which caps numpy
below 2.3, so use a separate virtual environment; see the README).

The quoter (strategies/fixed_quoter.py): at every multiple of ``--interval-s`` (epoch aligned) a
bid ``--bps`` below the mid rounded down to the tick and an ask ``--bps`` above rounded up
(``fixed_quote_ticks``, the same function compiled by numba on the hftbacktest side); an open
order at the target price is kept, otherwise it is canceled and a post-only order of ``--size``
placed. No skew, no model.

Nautilus leg: the capture imported with ``botmm data import-binance-raw`` (sequence-checked book),
run by ``botmm_nautilus.backtest.runner.build_run_config`` / ``build_node`` with
``instrument=`` and the ``FixedQuoter`` strategy: whatever fill rules the runner sets (queue
position, liquidity consumption, latency model, fee model) apply.

hftbacktest leg: the capture converted by hftbacktest's own converter
(``hftbacktest.data.utils.binancefutures.convert``), ``HashMapMarketDepthBacktest`` with
``partial_fill_exchange`` (partial fills at our price, full fill on a trade or book through it),
``risk_adverse_queue_model`` (queue ahead = the level's size at placement, reduced only by trades
at our price, clamped to the level's size when the level shrinks: the rules of our book mode),
``constant_order_latency(entry=--latency-ms, response=0)`` (Nautilus's latency model is inbound
only; acks are instantaneous), ``trading_value_fee_model`` with the same fees, and the tick and
lot of the imported instrument.

``--clock local`` (default): hftbacktest matches on the capture's local receive time, as
Nautilus does (its ``ts_init``): the converter's local-timestamp correction is skipped and every
event's exchange time is set to its local time (feed latency 0 in both engines).
``--clock exchange``: hftbacktest's native view, matching on Binance's transaction time ``T``
while the strategy sees each event at its (corrected) local time: the strategy then acts on data
that is already one feed latency old at the exchange, on top of the order latency.

Prints both sides' quote ticks, orders, fill events, orders filled, filled volume, fees and net
PnL marked to each engine's final mid, and as its last line
``nautilus/hftbacktest fill-volume ratio: X``.
"""

from __future__ import annotations

import argparse
import gzip
import math
import sys
import time
from decimal import Decimal
from pathlib import Path

import msgspec
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from botmm_nautilus.backtest.runner import build_node  # noqa: E402
from botmm_nautilus.backtest.runner import build_run_config  # noqa: E402
from botmm_nautilus.backtest.runner import catalog_instrument  # noqa: E402
from botmm_nautilus.config.asset import config_from_dict  # noqa: E402
from botmm_nautilus.data.binance import import_binance_raw  # noqa: E402
from botmm_nautilus.strategies.fixed_quoter import fixed_quote_ticks  # noqa: E402
from nautilus_trader.model.enums import OrderSide  # noqa: E402

DEFAULT_NOTIONAL_USD = 500.0  # --size default: the smallest multiple of the lot worth at least this
CAPITAL_USD = 1_000_000.0  # the Nautilus account (margin never binds)


# ------------------------------------------------------------------------------------ capture
def first_snapshot(capture: Path) -> tuple[str, dict]:
    """(symbol, REST depth snapshot) of a ``<local_ns> <json>`` Binance USD-M capture."""
    symbol = None
    with gzip.open(capture, "rb") if capture.name.endswith(".gz") else open(capture, "rb") as fh:
        for line in fh:
            _, _, payload = line.partition(b" ")
            msg = msgspec.json.decode(payload)
            data = msg.get("data") if isinstance(msg, dict) else None
            if isinstance(data, dict) and symbol is None:
                symbol = data.get("s")
            if isinstance(msg, dict) and "lastUpdateId" in msg:
                if symbol is None:
                    raise SystemExit(f"{capture}: depth snapshot before any message naming the symbol")
                return symbol, msg
    raise SystemExit(f"{capture}: no REST depth snapshot ({{\"lastUpdateId\": ...}}) in the capture")


def default_size(snapshot: dict, lot: Decimal) -> float:
    mid = (Decimal(snapshot["bids"][0][0]) + Decimal(snapshot["asks"][0][0])) / 2
    lots = math.ceil(Decimal(str(DEFAULT_NOTIONAL_USD)) / (mid * lot))
    return float(lots * lot)


def import_capture(capture: Path, workdir: Path) -> Path:
    """The capture's catalog in ``workdir`` (imported once, reused)."""
    catalog = workdir / f"catalog_{capture.name.split('.')[0]}"
    marker = catalog / ".imported"
    if not marker.exists():
        import_binance_raw(capture, catalog, replace=True, progress=False)
        marker.write_text(str(capture.resolve()))
    return catalog


# ------------------------------------------------------------------------------------ nautilus
def run_nautilus(catalog: Path, iid: str, args, size: float) -> dict:
    cfg = config_from_dict(
        {
            "coin": iid.split("-")[0].removesuffix("USDT").removesuffix("USDC"),
            "strategy": "FixedQuoter",
            "capital_usd": CAPITAL_USD,
            "venue": {"maker_fee_bps": args.maker_fee_bps, "taker_fee_bps": args.taker_fee_bps, "latency_ms": args.latency_ms},
        },
        source="bench/cross_engine.py",
    )
    run_cfg = build_run_config(
        cfg, str(catalog), "book", instrument=iid,
        strategy_fields={"half_spread_bps": args.bps, "requote_interval_s": args.interval_s, "order_size": size},
    )
    node = build_node(run_cfg)
    engine = node.get_engine(run_cfg.id)
    t0 = time.perf_counter()
    node.run()
    wall = time.perf_counter() - t0
    try:
        s = engine.trader.strategies()[0]
        book = engine.cache.order_book(s.config.instrument_id)
        final_mid = (book.best_bid_price().as_double() + book.best_ask_price().as_double()) / 2
        return {
            "quote ticks": len(s.ticks),
            "orders submitted": s.orders_submitted,
            "orders canceled": s.orders_canceled,
            "post-only rejects": s.post_only_rejects,
            "fill events": s.fill_events,
            "orders filled": len(s.filled_order_ids),
            "filled volume": s.filled_qty,
            "fees": s.fees,
            "final position": s.position,
            "final mid": final_mid,
            "net pnl": s.cash + s.position * final_mid - s.fees,
            "wall s": wall,
            "_ticks": {int(t): (int(b), int(a)) for t, b, a, _, _ in s.ticks},
            "_orders": {
                (o.ts_init, 1 if o.side == OrderSide.BUY else -1): o.filled_qty.as_double()
                for o in engine.cache.orders(strategy_id=s.id)
            },
        }
    finally:
        node.dispose()


# --------------------------------------------------------------------------------- hftbacktest
def convert_for_hftbacktest(capture: Path, clock: str):
    """The capture through hftbacktest's own Binance futures converter; ``clock='local'``: every
    event at its local receive time on both of hftbacktest's timelines (see the module doc)."""
    import numpy as np
    from hftbacktest.data.utils import binancefutures
    from hftbacktest.types import EXCH_EVENT
    from hftbacktest.types import LOCAL_EVENT

    if clock == "exchange":
        return binancefutures.convert(str(capture), buffer_size=20_000_000)
    original = binancefutures.correct_local_timestamp
    binancefutures.correct_local_timestamp = lambda data, base_latency: data  # keep the capture's local times
    try:
        data = binancefutures.convert(str(capture), buffer_size=20_000_000)
    finally:
        binancefutures.correct_local_timestamp = original
    # every raw row appears once with the LOCAL flag, in local (then file) order
    rows = data[(data["ev"] & LOCAL_EVENT) == LOCAL_EVENT].copy()
    rows["exch_ts"] = rows["local_ts"]
    rows["ev"] = rows["ev"] | EXCH_EVENT | LOCAL_EVENT
    return np.ascontiguousarray(rows)


def _hft_loop_factory():
    from numba import njit
    from numba import uint64

    from hftbacktest.order import EXPIRED
    from hftbacktest.order import GTX
    from hftbacktest.order import LIMIT

    quote = njit(fixed_quote_ticks)
    invalid_min = -(2**63)
    invalid_max = 2**63 - 1

    @njit
    def scan(hbt, filled, refused, out):
        """Fold the local orders' filled quantities into ``filled``; one fill event per observed
        increase. (hftbacktest 2.4.4's own ``state_values`` skip partial fills: issue #299.)"""
        values = hbt.orders(0).values()
        while values.has_next():
            order = values.get()
            done = order.qty - order.leaves_qty
            if done > filled[order.order_id] + 1e-12:
                filled[order.order_id] = done
                out[4] += 1
            if order.status == EXPIRED and not refused[order.order_id]:
                refused[order.order_id] = True  # a post-only refusal, counted once
                out[3] += 1

    @njit
    def loop(hbt, data_start_ns, interval_ns, start_ns, half_spread_bps, qty, filled, refused, placed, out, ticks):
        """The FixedQuoter rule, on the same clock multiples as Nautilus's timer. ``filled[id]``:
        quantity order id filled; ``refused[id]``: refused as post-only; ``placed[id]``: its submission time
        (negative for a sell); ``out``: quote ticks, submitted, canceled, post-only refusals, fill
        events, last return code of hftbacktest (1 = end of data); ``ticks[i]``: (ts, best bid,
        best ask) of quote tick i. Before its first ``elapse`` the backtest stands at the first event."""
        tick = hbt.depth(0).tick_size
        next_tick = (data_start_ns // interval_ns + 1) * interval_ns
        rc = hbt.elapse(next_tick - data_start_ns)
        next_id = 1
        bid_id = 0
        ask_id = 0
        bid_tick = 0
        ask_tick = 0
        while rc == 0:
            scan(hbt, filled, refused, out)
            hbt.clear_inactive_orders(0)
            depth = hbt.depth(0)
            bb = depth.best_bid_tick
            ba = depth.best_ask_tick
            if hbt.current_timestamp >= start_ns and bb != invalid_min and ba != invalid_max and bb < ba:
                target_bid, target_ask = quote(bb, ba, half_spread_bps)
                if out[0] < len(ticks):
                    ticks[out[0], 0] = hbt.current_timestamp
                    ticks[out[0], 1] = bb
                    ticks[out[0], 2] = ba
                out[0] += 1
                orders = hbt.orders(0)
                live = bid_id != 0 and uint64(bid_id) in orders
                if not (live and bid_tick == target_bid) and next_id + 2 < len(placed):
                    if live:
                        hbt.cancel(0, uint64(bid_id), False)
                        out[2] += 1
                    bid_id = next_id
                    next_id += 1
                    bid_tick = target_bid
                    placed[bid_id] = hbt.current_timestamp
                    hbt.submit_buy_order(0, uint64(bid_id), target_bid * tick, qty, GTX, LIMIT, False)
                    out[1] += 1
                live = ask_id != 0 and uint64(ask_id) in orders
                if not (live and ask_tick == target_ask) and next_id + 2 < len(placed):
                    if live:
                        hbt.cancel(0, uint64(ask_id), False)
                        out[2] += 1
                    ask_id = next_id
                    next_id += 1
                    ask_tick = target_ask
                    placed[ask_id] = -hbt.current_timestamp
                    hbt.submit_sell_order(0, uint64(ask_id), target_ask * tick, qty, GTX, LIMIT, False)
                    out[1] += 1
            next_tick += interval_ns
            # to the next decision, looking at every order response on the way (fill events)
            while True:
                rc = hbt.wait_next_feed(True, next_tick - hbt.current_timestamp)
                if rc == 3:
                    scan(hbt, filled, refused, out)
                    rc = 0
                elif rc == 2:
                    rc = 0
                if rc != 0 or hbt.current_timestamp >= next_tick:
                    break
        scan(hbt, filled, refused, out)
        out[5] = rc

    return loop


def run_hftbacktest(capture: Path, args, tick: float, lot: float, size: float) -> dict:
    import numpy as np
    from hftbacktest import BacktestAsset
    from hftbacktest import HashMapMarketDepthBacktest
    from hftbacktest.types import DEPTH_SNAPSHOT_EVENT
    from hftbacktest.types import LOCAL_EVENT

    data = convert_for_hftbacktest(capture, args.clock)
    snap = data[((data["ev"] & 0xFF) == DEPTH_SNAPSHOT_EVENT) & ((data["ev"] & LOCAL_EVENT) == LOCAL_EVENT)]
    start_ns = int(snap["local_ts"].min())  # quote once the strategy has seen the first full book
    latency_ns = int(round(args.latency_ms * 1e6))
    maker_fee = args.maker_fee_bps * 1e-4
    asset = (
        BacktestAsset()
        .data([data])
        .linear_asset(1.0)
        .constant_order_latency(latency_ns, 0)
        .risk_adverse_queue_model()
        .partial_fill_exchange()
        .trading_value_fee_model(maker_fee, args.taker_fee_bps * 1e-4)
        .tick_size(tick)
        .lot_size(lot)
        .last_trades_capacity(0)
    )
    hbt = HashMapMarketDepthBacktest([asset])
    interval_ns = int(round(args.interval_s * 1e9))
    n_ticks = int((data["local_ts"][-1] - data["local_ts"][0]) // interval_ns) + 2
    filled = np.zeros(2 * n_ticks + 3, dtype=np.float64)
    placed = np.zeros(2 * n_ticks + 3, dtype=np.int64)
    refused = np.zeros(2 * n_ticks + 3, dtype=np.bool_)
    out = np.zeros(6, dtype=np.int64)
    ticks = np.zeros((n_ticks, 3), dtype=np.int64)
    loop = _hft_loop_factory()
    t0 = time.perf_counter()
    loop(hbt, int(data["local_ts"][0]), interval_ns, start_ns, args.bps, size, filled, refused, placed, out, ticks)
    wall = time.perf_counter() - t0
    if out[5] != 1:
        raise SystemExit(f"hftbacktest stopped with return code {out[5]} before the end of the data")
    depth = hbt.depth(0)
    final_mid = (depth.best_bid + depth.best_ask) / 2
    sv = hbt.state_values(0)
    # every fill is a maker fill at the order's price (post-only orders never take)
    ids = np.flatnonzero(placed)
    qty = filled[ids]
    side = np.where(placed[ids] > 0, 1.0, -1.0)
    price = np.zeros(len(ids))  # each order's price: the target of the decision that placed it
    tick_px = {int(t): (int(b), int(a)) for t, b, a in ticks[: min(int(out[0]), len(ticks))]}
    for k, i in enumerate(ids):
        bb, ba = tick_px[abs(int(placed[i]))]
        bid_t, ask_t = fixed_quote_ticks(bb, ba, args.bps)
        price[k] = (bid_t if side[k] > 0 else ask_t) * tick
    position = float((side * qty).sum())
    cash = float((-side * price * qty).sum())
    fees = float((price * qty).sum() * maker_fee)
    result = {
        "quote ticks": int(out[0]),
        "orders submitted": int(out[1]),
        "orders canceled": int(out[2]),
        "post-only rejects": int(out[3]),
        "fill events": int(out[4]),
        "orders filled": int((qty > 0).sum()),
        "filled volume": float(qty.sum()),
        "fees": fees,
        "final position": position,
        "final mid": final_mid,
        "net pnl": cash + position * final_mid - fees,
        "wall s": wall,
        "_ticks": tick_px,
        "_orders": {(abs(int(placed[i])), 1 if placed[i] > 0 else -1): float(q) for i, q in zip(ids, qty)},
        "_state_volume": float(sv.trading_volume),
    }
    hbt.close()
    return result


# ------------------------------------------------------------------------------------ main
def _fmt(value) -> str:
    if isinstance(value, int):
        return f"{value:d}"
    return f"{value:.6f}" if abs(value) < 1e4 else f"{value:.2f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--capture", required=True, type=Path, help="Binance USD-M raw capture (<local_ns> <json> lines, .gz)")
    ap.add_argument("--bps", type=float, default=2.0, help="half spread from the mid, bps (default 2)")
    ap.add_argument("--interval-s", type=float, default=1.0, help="requote interval, s (default 1)")
    ap.add_argument("--size", type=float, default=None, help=f"quote size in base units (default: the lot multiple worth >= {DEFAULT_NOTIONAL_USD:.0f} USD)")
    ap.add_argument("--latency-ms", type=float, default=60.0, help="order entry latency, ms (default 60); acks are instantaneous")
    ap.add_argument("--maker-fee-bps", type=float, default=2.0, help="maker fee, bps, + = cost (default 2: Binance USD-M VIP 0)")
    ap.add_argument("--taker-fee-bps", type=float, default=5.0, help="taker fee, bps (default 5: Binance USD-M VIP 0)")
    ap.add_argument("--clock", choices=("local", "exchange"), default="local", help="hftbacktest's matching clock (see the module doc)")
    ap.add_argument("--show-diff", type=int, default=0, metavar="N", help="list the first N orders whose filled size differs")
    ap.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out" / "cross_engine", help="where the imported catalog is kept")
    args = ap.parse_args(argv)
    if not args.capture.is_file():
        ap.error(f"--capture {args.capture}: no such file")
    if args.bps < 0 or args.interval_s <= 0 or args.latency_ms < 0 or (args.size is not None and args.size <= 0):
        ap.error("--bps and --latency-ms must be >= 0, --interval-s and --size > 0")
    try:
        import hftbacktest  # noqa: F401
    except ImportError:
        ap.error("hftbacktest is not installed: pip install -e .[bench] (in its own virtual environment: it needs numpy < 2.3)")

    args.workdir.mkdir(parents=True, exist_ok=True)
    _, snapshot = first_snapshot(args.capture)
    catalog = import_capture(args.capture, args.workdir)
    instrument = None
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    found = ParquetDataCatalog(str(catalog)).instruments()
    if len(found) != 1:
        raise SystemExit(f"{catalog}: expected one instrument, found {len(found)}")
    instrument = catalog_instrument(str(catalog), found[0].id)
    iid = str(instrument.id)
    tick = instrument.price_increment.as_decimal()
    lot = instrument.size_increment.as_decimal()
    size = args.size if args.size is not None else default_size(snapshot, lot)
    if Decimal(str(size)) % lot != 0:
        ap.error(f"--size {size} is not a multiple of the lot {lot}")

    naut = run_nautilus(catalog, iid, args, size)
    hft = run_hftbacktest(args.capture, args, float(tick), float(lot), size)

    print(f"capture {args.capture.name} ({iid}, tick {tick}, lot {lot}); half spread {args.bps:g} bps, "
          f"requote every {args.interval_s:g} s, size {size:g}, entry latency {args.latency_ms:g} ms, "
          f"fees maker {args.maker_fee_bps:g} / taker {args.taker_fee_bps:g} bps, hftbacktest clock: {args.clock}")
    print(f"{'':22s}{'nautilus':>18s}{'hftbacktest':>18s}")
    for key in naut:
        if not key.startswith("_"):
            print(f"{key:22s}{_fmt(naut[key]):>18s}{_fmt(hft[key]):>18s}")
    common = naut["_ticks"].keys() & hft["_ticks"].keys()
    same = sum(naut["_ticks"][t] == hft["_ticks"][t] for t in common)
    print(f"quote ticks in both engines: {len(common)}; same best bid and ask at {same} of them")
    both = naut["_orders"].keys() & hft["_orders"].keys()
    print(f"orders placed at the same time and side in both engines: {len(both)} "
          f"(only nautilus {len(naut['_orders'].keys() - both)}, only hftbacktest {len(hft['_orders'].keys() - both)})")
    rows = {"filled in both": [0, 0.0, 0.0], "filled in nautilus only": [0, 0.0, 0.0], "filled in hftbacktest only": [0, 0.0, 0.0]}
    for key in both:
        n, h = naut["_orders"][key], hft["_orders"][key]
        row = "filled in both" if n > 0 and h > 0 else "filled in nautilus only" if n > 0 else "filled in hftbacktest only" if h > 0 else None
        if row:
            rows[row][0] += 1
            rows[row][1] += n
            rows[row][2] += h
    for row, (count, n_qty, h_qty) in rows.items():
        print(f"  {row:27s} {count:5d} orders, volume nautilus {n_qty:.6f} hftbacktest {h_qty:.6f}")
    differing = sorted(k for k in both if abs(naut["_orders"][k] - hft["_orders"][k]) > 1e-12)
    for ts, side in differing[: args.show_diff]:
        print(f"  differs: {'bid' if side > 0 else 'ask'} placed {pd.Timestamp(ts, tz='UTC')} ({ts}): filled nautilus "
              f"{naut['_orders'][(ts, side)]:g} hftbacktest {hft['_orders'][(ts, side)]:g}")
    if abs(hft["_state_volume"] - hft["filled volume"]) > 1e-9:
        print(f"note: hftbacktest's own state_values count {hft['_state_volume']:.6f} filled, without the partial fills "
              "that did not complete the order (hftbacktest issue #299); the figures above count every fill")
    ratio = naut["filled volume"] / hft["filled volume"] if hft["filled volume"] > 0 else math.nan
    print(f"nautilus/hftbacktest fill-volume ratio: {ratio:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
