"""``botmm record``: record Hyperliquid ``l2Book`` and ``trades`` into the Parquet catalog.

    botmm record --coins BTC ETH --catalog CAT [--url URL] [--venue testnet|mainnet] [--run-seconds N]
                 [--flush-seconds 60] [--part-seconds 3600]

What is written, per coin (instrument ``{COIN}-USDC-PERP.HL``, built from the venue's ``meta``
szDecimals and written once per run):

* the book as incremental ``OrderBookDelta`` rows (``SnapshotDiffer``): the first snapshot, and the
  first one after a gap, is CLEAR + full book; every later snapshot only what changed, ``F_LAST``
  on the last delta of each message;
* ``TradeTick`` rows: aggressor from the venue's ``side`` (``B`` = buyer lifted the ask -> BUYER,
  ``A`` = seller hit the bid -> SELLER) and the venue trade id ``tid``.

Timestamps: ``ts_event`` = the message's exchange ``time``; ``ts_init`` = local receive time
(when the frame is handed to the recorder), made strictly increasing over the whole run (a clock
that steps back, or two frames stamped in the same nanosecond, are bumped by 1 ns and counted).
Strictly increasing ``ts_init`` keeps the catalog's per-file ``[first, last ts_init]`` intervals
disjoint across flushes.

Parts: each coin's data is cut into parts of ``part_seconds`` (default one UTC hour) of exchange
time. A part ends at the first message of the coin whose ``ts_event`` falls in a later part; so
every message goes to exactly one part (one at exactly the boundary opens the new part), parts
are contiguous in receive order and the book carries over (no CLEAR at a part boundary). Buffers
are flushed to the catalog at each rotation, every ``flush_seconds`` (a crash loses at most that
much) and on stop. A flush is one ``StagedCatalogWriter`` commit (all-or-nothing; a conflict with
existing files raises and writes nothing). A failed flush keeps its data in memory and is retried
at the next flush; if it still fails at stop, the data goes to a separate rescue catalog
``CAT/.recorder-rescue-*`` (named in the summary). When a part is complete its flush files are
merged into one Parquet file per data type (written as ``*.parquet.tmp`` then renamed; the pieces
are removed after; a crash in between leaves pieces contained in the merged file's interval, which
the next recorder start removes).

Overlaps: before recording, the catalog's existing delta/trade files of the recorded coins are
checked: data stamped after the current time is refused (the new files would overlap); otherwise
new stamps start after the newest existing file. A lock file per coin
(``CAT/.recorder-locks/COIN.lock``) keeps two recorders from writing the same coin into one catalog.

Gaps (``botmm_nautilus.data.gaps``; ``botmm data info`` lists them): a WebSocket reconnect
(``disconnect``), no book message for ``stale_seconds`` (``stale``: the coin is resubscribed, or
the connection rebuilt when every coin is stale) or an exchange-time jump of more than
``exchange_gap_seconds`` between two book messages (``exchange_time_jump``). During a gap nothing
is written for the coin; it ends at the next book message, stored as CLEAR + full snapshot.
Trades received while the book is unknown, or stamped before the first book message after the
start or a gap (the venue may re-send recent trades on subscribe), are dropped and counted, never
invented; re-sent trades are dropped by ``tid`` (remembered for ``dedupe_horizon_seconds``).

Bad input: a message that cannot be parsed or validated (missing fields, numbers off the
instrument's tick/lot grid, an unknown trade side, a crossed or unsorted book) is logged with its
channel and a snippet, counted, and not written; the recorder keeps running.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import fcntl
import json
import logging
import os
import signal
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from typing import Callable

from botmm_nautilus.data.catalog_io import StagedCatalogWriter
from botmm_nautilus.data.catalog_io import file_interval
from botmm_nautilus.data.gaps import append_gap
from botmm_nautilus.data.gaps import gaps_path
from botmm_nautilus.data.hl_ws import AGGRESSOR_BY_SIDE
from botmm_nautilus.data.summary import format_ns
from botmm_nautilus.engine.book_diff import SnapshotDiffer
from botmm_nautilus.engine.ticks import value_to_ticks
from botmm_nautilus.errors import BotmmError
from botmm_nautilus.errors import DataImportError

log = logging.getLogger("botmm.recorder")

NANOS_PER_SECOND = 1_000_000_000
NANOS_PER_MILLI = 1_000_000
DELTAS_DIR = "order_book_deltas"  # Nautilus catalog folder names (data/<dir>/<instrument id>/)
TRADES_DIR = "trade_tick"
LOCKS_DIR = ".recorder-locks"
_NO_DIFFER_GAP = 2**62  # the recorder detects gaps itself (and logs them); the differ must not resync silently
_LOG_FIRST_BAD = 20  # malformed messages logged individually per channel, then every 1000th


class RecorderError(BotmmError):
    """A user-facing problem (unknown coin, venue unreachable, catalog conflict): one line ``error: ...``."""


class MalformedMessage(ValueError):
    """A WebSocket message that cannot be recorded (reason in the text)."""


# ------------------------------------------------------------------------------------- settings


@dataclass
class RecordSettings:
    coins: list[str]
    catalog: str
    http_url: str
    ws_url: str
    part_seconds: float = 3600.0
    flush_seconds: float = 60.0  # 0 = only at part rotation and stop
    status_seconds: float = 10.0  # 0 = no status lines
    stale_seconds: float = 30.0  # no book message of a coin for this long -> gap; 0 = off
    exchange_gap_seconds: float = 60.0
    heartbeat_seconds: float = 50.0
    reconnect_max_seconds: float = 10.0
    connect_timeout_seconds: float = 10.0
    dedupe_horizon_seconds: float = 3600.0
    run_seconds: float | None = None


def resolve_urls(url: str | None, testnet: bool = True) -> tuple[str, str]:
    """``(http base, ws url)`` the way the adapter derives them (``HLDataClientConfig``): no URL ->
    the venue's default (testnet unless ``testnet`` is false); an ``http(s)://`` base -> its
    ``/ws``; a ``ws(s)://.../ws`` URL -> itself, with the HTTP base (for ``meta``) derived back."""
    from botmm_nautilus.venue.urls import http_url
    from botmm_nautilus.venue.urls import ws_url_from_http

    if not url:
        base = http_url(testnet)
        return base, ws_url_from_http(base)
    url = url.strip().rstrip("/")
    if url.startswith(("ws://", "wss://")):
        base = "http" + url[len("ws"):]
        if base.endswith("/ws"):
            base = base[: -len("/ws")]
        return base, url
    if not url.startswith(("http://", "https://")):
        raise RecorderError(f"--url {url!r}: expected http(s)://host[:port] or ws(s)://host[:port]/ws")
    return url, ws_url_from_http(url)


async def load_instruments(http_url: str, coins: list[str], timeout_s: float = 10.0) -> dict[str, Any]:
    """``{coin: CryptoPerpetual}`` from the venue's ``meta`` (szDecimals); a ``RecorderError`` naming
    the available coins when one is not listed (coin names match case-insensitively)."""
    from botmm_nautilus.adapters.hyperliquid import HLInstrumentProvider
    from botmm_nautilus.adapters.hyperliquid.http import HLHttpClient

    http = HLHttpClient(http_url, timeout_s=timeout_s, max_retries=2)
    provider = HLInstrumentProvider(http)  # the whole universe: an unknown coin's error lists the others
    try:
        try:
            await provider.refresh()
        except Exception as exc:  # noqa: BLE001 - any failure: the venue cannot be used
            raise RecorderError(f"venue {http_url} unreachable or answered nonsense to meta ({type(exc).__name__}: {exc})") from None
    finally:
        await http.close()
    by_upper = {name.upper(): name for name in provider.sz_decimals}
    out: dict[str, Any] = {}
    missing = []
    for coin in coins:
        name = by_upper.get(coin.upper())
        if name is None:
            missing.append(coin)
        else:
            out[name] = provider.instrument_for_coin(name)
    if missing:
        listed = sorted(provider.sz_decimals)
        wanted = {m.upper() for m in missing}
        delisted = sorted(c for c in provider.asset_of if c not in provider.sz_decimals and c.upper() in wanted)
        extra = f" ({', '.join(delisted)} delisted)" if delisted else ""
        raise RecorderError(
            f"unknown coin(s) {', '.join(missing)}{extra} at {http_url}; available coins ({len(listed)}): "
            f"{', '.join(listed) or 'none'}",
        )
    return out


# ------------------------------------------------------------------------------------- parsing (pure)


def _require_int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedMessage(f"{what} is {value!r}, expected an integer (ms)")
    return value


def parse_book(data) -> tuple[str, int, list[tuple], list[tuple]]:
    """``l2Book`` data -> ``(coin, time_ms, bid (px, sz) pairs, ask pairs)`` (values as sent)."""
    if not isinstance(data, dict):
        raise MalformedMessage(f"data is {type(data).__name__}, expected an object")
    coin = data.get("coin")
    if not isinstance(coin, str) or not coin:
        raise MalformedMessage("no 'coin'")
    time_ms = _require_int(data.get("time"), "'time'")
    levels = data.get("levels")
    if not isinstance(levels, list) or len(levels) != 2 or not all(isinstance(side, list) for side in levels):
        raise MalformedMessage("'levels' is not [[bids], [asks]]")
    sides = []
    for name, side in zip(("bid", "ask"), levels):
        pairs = []
        for i, level in enumerate(side):
            if not isinstance(level, dict) or "px" not in level or "sz" not in level:
                raise MalformedMessage(f"{name} level {i} is not {{px, sz, n}}: {level!r}")
            pairs.append((level["px"], level["sz"]))
        sides.append(pairs)
    return coin, time_ms, sides[0], sides[1]


def parse_trade(t, price_precision: int, size_precision: int):
    """One ``trades`` entry -> ``(price ticks, size lots, aggressor, tid text, time_ms)``."""
    if not isinstance(t, dict):
        raise MalformedMessage(f"trade is {type(t).__name__}, expected an object")
    side = t.get("side")
    aggressor = AGGRESSOR_BY_SIDE.get(side.strip().lower()) if isinstance(side, str) else None
    if aggressor is None:
        raise MalformedMessage(f"side {side!r} is not B (buyer aggressor) or A (seller aggressor)")
    tid = t.get("tid")
    if isinstance(tid, bool) or not isinstance(tid, (int, str)) or not str(tid).strip():
        raise MalformedMessage(f"tid {tid!r} is not a trade id")
    time_ms = _require_int(t.get("time"), "'time'")
    ticks = value_to_ticks(t.get("px"), price_precision)
    if ticks is None or ticks <= 0:
        raise MalformedMessage(f"px {t.get('px')!r} is not a positive price with at most {price_precision} decimals")
    lots = value_to_ticks(t.get("sz"), size_precision)
    if lots is None or lots <= 0:
        raise MalformedMessage(f"sz {t.get('sz')!r} is not a positive size with at most {size_precision} decimals")
    return ticks, lots, aggressor, str(tid).strip(), time_ms


def _snippet(obj, limit: int = 200) -> str:
    try:
        text = json.dumps(obj, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        text = repr(obj)
    return text if len(text) <= limit else text[:limit] + "..."


# ------------------------------------------------------------------------------------- catalog files


def merge_part_files(files: list[Path]) -> Path:
    """Merge the flush files of one part (one data type and instrument, disjoint ts_init intervals)
    into one file ``<first start>_<last end>.parquet``; returns it. Written as ``.tmp`` and renamed
    before the pieces are removed (see :func:`repair_interrupted_merges`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted(files, key=lambda p: file_interval(p)[0])
    if len(files) == 1:
        return files[0]
    start_text = files[0].name[: -len(".parquet")].split("_", 1)[0]
    end_text = files[-1].name[: -len(".parquet")].split("_", 1)[1]
    target = files[0].parent / f"{start_text}_{end_text}.parquet"
    tmp = target.with_name(target.name + ".tmp")
    combined = pa.concat_tables([pq.read_table(f) for f in files])
    pq.write_table(combined, tmp)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    for f in files:
        if f != target:
            f.unlink()
    return target


def repair_interrupted_merges(directory: Path) -> list[str]:
    """Remove ``*.parquet.tmp`` files and files whose interval lies inside another file's interval
    (pieces left by a merge interrupted after its rename). Returns the removed names."""
    removed: list[str] = []
    if not directory.is_dir():
        return removed
    for tmp in directory.glob("*.parquet.tmp"):
        tmp.unlink()
        removed.append(tmp.name)
    files = [(file_interval(p), p) for p in directory.glob("*.parquet")]
    files = [(iv, p) for iv, p in files if iv is not None]
    for iv, p in files:
        if any(q != p and (q_iv[0] <= iv[0] and iv[1] <= q_iv[1]) and q_iv != iv for q_iv, q in files):
            p.unlink()
            removed.append(p.name)
    return removed


def _iso(ts_ns: int | None) -> str | None:
    return None if ts_ns is None else format_ns(ts_ns)


# ------------------------------------------------------------------------------------- recorder


class _Coin:
    """Per-coin state (touched only on the event loop thread, except the *_written counters)."""

    def __init__(self, coin: str, instrument) -> None:
        self.coin = coin
        self.instrument = instrument
        self.instrument_id = str(instrument.id)
        self.differ = SnapshotDiffer(instrument, gap_threshold_ns=_NO_DIFFER_GAP)
        self.encoder = self.differ.encoder
        self.deltas: list = []
        self.trades: list = []
        self.part: int | None = None
        self.awaiting_book = True
        self.open_gap: dict | None = None
        self.trade_floor_ns: int | None = None
        self.seen_tids: OrderedDict[str, int] = OrderedDict()
        self.last_ts_init: int | None = None  # last message recorded (book or trade)
        self.last_exchange_ns: int | None = None
        self.last_book_exchange_ns: int | None = None
        self.last_book_mono: float | None = None
        self.last_stale_action_mono: float | None = None
        # counters
        self.messages = 0  # l2Book + trades messages of this coin
        self.book_messages = 0
        self.book_messages_recorded = 0  # produced deltas
        self.clears = 0  # CLEAR + full snapshot written (start, after gaps)
        self.trades_received = 0
        self.trades_duplicate = 0
        self.trades_without_book = 0  # received while the book was unknown (start, gap)
        self.trades_before_book = 0  # exchange time before the first book message after start/gap
        self.book_time_backwards = 0
        self.malformed = 0
        self.gaps = 0
        self.deltas_buffered = 0
        self.trades_buffered = 0
        self.deltas_written = 0
        self.trades_written = 0
        self.status_messages = 0

    def take(self) -> tuple[str, int, list, list] | None:
        if not self.deltas and not self.trades:
            return None
        chunk = (self.coin, self.part, self.deltas, self.trades)
        self.deltas = []
        self.trades = []
        return chunk


@dataclass
class _FlushJob:
    chunks: list
    finalize: list


class Recorder:
    """Turns ``l2Book``/``trades`` messages into catalog parts (no sockets here: feed
    :meth:`on_message`, :meth:`on_reconnect` and :meth:`tick`; :func:`record` wires it to a WebSocket).

    ``clock_ns`` (local time, default ``time.time_ns``) and ``monotonic`` are injectable for tests;
    ``tap(channel, data, ts_init)`` sees every message before it is processed.
    """

    def __init__(
        self,
        catalog_path: str | os.PathLike,
        instruments: dict[str, Any],
        *,
        part_seconds: float = 3600.0,
        flush_seconds: float = 60.0,
        status_seconds: float = 10.0,
        stale_seconds: float = 30.0,
        exchange_gap_seconds: float = 60.0,
        dedupe_horizon_seconds: float = 3600.0,
        clock_ns: Callable[[], int] = time.time_ns,
        monotonic: Callable[[], float] = time.monotonic,
        print_fn: Callable[[str], None] = print,
        tap: Callable[[str, Any, int], None] | None = None,
    ) -> None:
        if part_seconds <= 0:
            raise RecorderError(f"part_seconds must be > 0, got {part_seconds}")
        self.catalog_path = Path(catalog_path)
        self.coins: dict[str, _Coin] = {coin: _Coin(coin, inst) for coin, inst in instruments.items()}
        self.part_ns = int(part_seconds * NANOS_PER_SECOND)
        self.flush_seconds = float(flush_seconds)
        self.status_seconds = float(status_seconds)
        self.stale_seconds = float(stale_seconds)
        self.exchange_gap_ns = int(exchange_gap_seconds * NANOS_PER_SECOND)
        self.dedupe_horizon_ns = int(dedupe_horizon_seconds * NANOS_PER_SECOND)
        self._clock_ns = clock_ns
        self._mono = monotonic
        self._print = print_fn
        self._tap = tap
        self._last_stamp = 0
        self.clock_steps_back = 0
        self.messages = 0
        self.other_messages = 0  # channels other than l2Book/trades, or coins not recorded
        self.malformed_by_channel: dict[str, int] = {}
        self.gaps_this_run: list[dict] = []
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._futures: list[concurrent.futures.Future] = []
        self._lock_files: list = []
        self._opened = False
        self._closed = False
        self._started_mono: float | None = None
        self._last_flush_mono = 0.0
        self._last_status_mono = 0.0
        self._last_status_messages = 0
        # writer-thread state
        self._pending: dict[tuple[str, int], tuple[list, list]] = {}
        self._to_finalize: set[tuple[str, int]] = set()
        self._part_files: dict[tuple[str, int], list[Path]] = {}
        self.flushes = 0
        self.flush_failures = 0
        self.files_written = 0
        self.merges = 0
        self.last_flush_ns: int | None = None
        self.last_flush_files = 0
        self.last_flush_error: str | None = None
        self.rescue_path: str | None = None
        self.repaired: list[str] = []

    # ================================================================== lifecycle
    def open(self) -> None:
        """Lock the coins, repair interrupted merges, check for overlapping data, write the
        instruments and start the writer thread."""
        if self._opened:
            return
        try:
            self.catalog_path.mkdir(parents=True, exist_ok=True)
            (self.catalog_path / LOCKS_DIR).mkdir(exist_ok=True)
        except OSError as exc:
            raise RecorderError(f"cannot use {self.catalog_path} as the catalog folder ({exc.strerror or exc})") from None
        self._lock_coins()
        try:
            floor = self._check_existing_data()
            self._last_stamp = floor
            with StagedCatalogWriter(self.catalog_path) as writer:
                writer.write([c.instrument for c in self.coins.values()])
                writer.commit()
        except BaseException:
            self._release_locks()
            raise
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="botmm-record-writer")
        self._opened = True
        now = self._mono()
        self._started_mono = now
        self._last_flush_mono = now
        self._last_status_mono = now

    def mark_started(self) -> None:
        """The feed is connected: stale checks, flush and status intervals count from now."""
        now = self._mono()
        self._started_mono = self._last_flush_mono = self._last_status_mono = now

    def _lock_coins(self) -> None:
        lock_dir = self.catalog_path / LOCKS_DIR
        for coin in self.coins:
            path = lock_dir / f"{coin}.lock"
            fh = open(path, "a+")
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                fh.close()
                self._release_locks()
                raise RecorderError(
                    f"another recorder is writing {coin} into {self.catalog_path} (lock {path} is held); "
                    "stop it or record into another catalog",
                ) from None
            fh.seek(0)
            fh.truncate()
            fh.write(f"{os.getpid()}\n")
            fh.flush()
            self._lock_files.append(fh)

    def _release_locks(self) -> None:
        for fh in self._lock_files:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
                fh.close()
            except OSError:
                pass
        self._lock_files = []

    def _stream_dirs(self, c: _Coin) -> list[Path]:
        data = self.catalog_path / "data"
        return [data / DELTAS_DIR / c.instrument_id, data / TRADES_DIR / c.instrument_id]

    def _check_existing_data(self) -> int:
        """Newest ts_init already stored for the recorded coins (0 if none); raises when it is in
        the future (new files would overlap it)."""
        now = self._clock_ns()
        floor = 0
        for c in self.coins.values():
            for directory in self._stream_dirs(c):
                removed = repair_interrupted_merges(directory)
                if removed:
                    log.warning(f"{directory}: removed {len(removed)} leftover file(s) of an interrupted merge: {removed}")
                    self.repaired.extend(str(directory / name) for name in removed)
                if not directory.is_dir():
                    continue
                for f in directory.glob("*.parquet"):
                    iv = file_interval(f)
                    if iv is None:
                        continue
                    if iv[1] >= now:
                        raise RecorderError(
                            f"catalog {self.catalog_path} already holds {c.coin} data up to {format_ns(iv[1])} "
                            f"({f.relative_to(self.catalog_path)}), which is after the local clock ({format_ns(now)}); "
                            "recorded files would overlap it: record into another catalog",
                        )
                    floor = max(floor, iv[1])
        return floor

    def _stamp(self) -> int:
        now = self._clock_ns()
        last = self._last_stamp
        if now <= last:
            if now < last:
                self.clock_steps_back += 1
            now = last + 1
        self._last_stamp = now
        return now

    # ================================================================== messages
    def on_message(self, channel: str, data: Any) -> None:
        """One WebSocket data message (``channel``, ``data``); never raises."""
        ts_init = self._stamp()
        self.messages += 1
        if self._tap is not None:
            try:
                self._tap(channel, data, ts_init)
            except Exception:  # noqa: BLE001 - an observer must not stop the recording
                log.exception("recorder tap failed")
        try:
            if channel == "l2Book":
                self._on_book(data, ts_init)
            elif channel == "trades":
                self._on_trades(data, ts_init)
            else:
                self.other_messages += 1
        except MalformedMessage as exc:
            self._bad(channel, data, str(exc), data.get("coin") if isinstance(data, dict) else None)
        except DataImportError as exc:  # levels off the instrument grid, crossed or unsorted book
            self._bad(channel, data, exc.message, data.get("coin") if isinstance(data, dict) else None)
        except Exception as exc:  # noqa: BLE001 - a bug must not stop the recording; it is logged loudly
            log.exception(f"{channel}: unexpected error while recording a message: {_snippet(data)}")
            self._bad(channel, data, f"{type(exc).__name__}: {exc}", None, logged=True)

    def _bad(self, channel: str, data, reason: str, coin, logged: bool = False) -> None:
        n = self.malformed_by_channel.get(channel, 0) + 1
        self.malformed_by_channel[channel] = n
        c = self.coins.get(coin) if isinstance(coin, str) else None
        if c is not None:
            c.malformed += 1
        if not logged and (n <= _LOG_FIRST_BAD or n % 1000 == 0):
            log.warning(f"{channel}: malformed message #{n} not recorded ({reason}): {_snippet(data)}")

    def _on_book(self, data, ts_init: int) -> None:
        coin, time_ms, bid_pairs, ask_pairs = parse_book(data)
        c = self.coins.get(coin)
        if c is None:
            self.other_messages += 1
            return
        c.messages += 1
        c.status_messages += 1
        differ = c.differ
        bids = differ.levels_to_ticks(bid_pairs, "bid")
        asks = differ.levels_to_ticks(ask_pairs, "ask")
        ts_event = time_ms * NANOS_PER_MILLI
        c.book_messages += 1
        last_ex = c.last_book_exchange_ns
        if last_ex is not None and not c.awaiting_book:
            if ts_event - last_ex > self.exchange_gap_ns:
                self._open_gap(c, "exchange_time_jump")
            elif ts_event < last_ex:
                c.book_time_backwards += 1
        deltas = differ.diff_ticks(bids, asks, ts_event, ts_init)  # validates (raises) before any state change
        c.last_book_exchange_ns = ts_event
        c.last_book_mono = self._mono()
        if c.awaiting_book:
            c.awaiting_book = False
            c.trade_floor_ns = ts_event
            c.clears += 1
            if c.open_gap is not None:
                self._close_gap(c, ts_init, ts_event, resolved=True)
        if deltas:
            c.book_messages_recorded += 1
            self._append(c, ts_event, deltas, None)
        c.last_ts_init = ts_init  # the book is known up to here (an unchanged snapshot writes nothing)
        c.last_exchange_ns = ts_event if c.last_exchange_ns is None else max(c.last_exchange_ns, ts_event)

    def _on_trades(self, data, ts_init: int) -> None:
        if not isinstance(data, list):
            raise MalformedMessage(f"data is {type(data).__name__}, expected a list of trades")
        kept: dict[str, list] = {}
        newest: dict[str, int] = {}
        counted: set[str] = set()
        for i, t in enumerate(data):
            coin = t.get("coin") if isinstance(t, dict) else None
            c = self.coins.get(coin) if isinstance(coin, str) else None
            if c is None:
                if isinstance(coin, str):
                    self.other_messages += 1
                else:
                    self._bad("trades", t, f"trade {i} has no 'coin'", None)
                continue
            if coin not in counted:
                counted.add(coin)
                c.messages += 1
                c.status_messages += 1
            try:
                ticks, lots, aggressor, tid, time_ms = parse_trade(t, c.encoder.price_precision, c.encoder.size_precision)
            except MalformedMessage as exc:
                self._bad("trades", t, f"trade {i}: {exc}", coin)
                continue
            c.trades_received += 1
            ts_event = time_ms * NANOS_PER_MILLI
            if c.awaiting_book:
                c.trades_without_book += 1
                continue
            if tid in c.seen_tids:
                c.trades_duplicate += 1
                continue
            if c.trade_floor_ns is not None and ts_event < c.trade_floor_ns:
                c.trades_before_book += 1
                continue
            self._remember(c, tid, ts_event)
            kept.setdefault(coin, []).append(c.encoder.trade(ticks, lots, aggressor, tid, ts_event, ts_init))
            newest[coin] = max(newest.get(coin, ts_event), ts_event)
        for coin, ticks_out in kept.items():
            c = self.coins[coin]
            self._append(c, newest[coin], None, ticks_out)
            c.last_ts_init = ts_init
            c.last_exchange_ns = max(c.last_exchange_ns or 0, newest[coin])

    def _remember(self, c: _Coin, tid: str, ts_event: int) -> None:
        seen = c.seen_tids
        seen[tid] = ts_event
        horizon = ts_event - self.dedupe_horizon_ns
        while seen:
            if next(iter(seen.values())) >= horizon:
                break
            seen.popitem(last=False)

    def _append(self, c: _Coin, ts_event: int, deltas, trades) -> None:
        part = ts_event // self.part_ns
        if c.part is None:
            c.part = part
        elif part > c.part:
            self._rotate(c, part)
        if deltas:
            c.deltas.extend(deltas)
            c.deltas_buffered += len(deltas)
        if trades:
            c.trades.extend(trades)
            c.trades_buffered += len(trades)

    def _rotate(self, c: _Coin, new_part: int) -> None:
        old = c.part
        chunk = c.take()
        self._submit(_FlushJob([chunk] if chunk else [], [(c.coin, old)]))
        c.part = new_part

    # ================================================================== gaps
    def on_reconnect(self) -> None:
        """The WebSocket was re-established (subscriptions re-sent): every coin's book is unknown
        from its last recorded message until its next snapshot."""
        for c in self.coins.values():
            self._open_gap(c, "disconnect")

    def _open_gap(self, c: _Coin, reason: str) -> None:
        c.differ.resync()
        c.awaiting_book = True
        if c.open_gap is not None or c.last_ts_init is None:
            return  # already in a gap / nothing recorded yet (the coin's recording simply starts later)
        c.open_gap = {
            "coin": c.coin,
            "instrument_id": c.instrument_id,
            "reason": reason,
            "start_ns": c.last_ts_init,
            "start_exchange_ns": c.last_exchange_ns,
        }
        log.warning(f"{c.coin}: gap opened ({reason}) after {format_ns(c.last_ts_init)}; the book restarts with CLEAR")

    def _close_gap(self, c: _Coin, end_ns: int, end_exchange_ns: int | None, resolved: bool) -> None:
        gap = c.open_gap
        c.open_gap = None
        if gap is None:
            return
        gap.update(
            end_ns=end_ns,
            end_exchange_ns=end_exchange_ns,
            start=_iso(gap["start_ns"]),
            end=_iso(end_ns),
            duration_s=round((end_ns - gap["start_ns"]) / NANOS_PER_SECOND, 6),
            resolved=resolved,
        )
        c.gaps += 1
        self.gaps_this_run.append(gap)
        try:
            append_gap(self.catalog_path, gap)
        except OSError as exc:
            log.error(f"cannot append to the gap log {gaps_path(self.catalog_path)}: {exc}; gap: {gap}")
        log.warning(f"{c.coin}: gap {gap['reason']} {gap['start']} .. {gap['end']} ({gap['duration_s']:.3f} s)"
                    + ("" if resolved else " unresolved at stop"))

    # ================================================================== periodic work
    def tick(self) -> dict:
        """Stale checks, periodic flush and status line; returns what the connection owner should
        do: ``{"reconnect": bool, "resubscribe": [coins]}``."""
        now = self._mono()
        action: dict = {"reconnect": False, "resubscribe": []}
        if self.stale_seconds > 0 and self._started_mono is not None:
            stale = []
            for c in self.coins.values():
                last = max(x for x in (c.last_book_mono, c.last_stale_action_mono, self._started_mono) if x is not None)
                if now - last > self.stale_seconds:
                    stale.append(c)
            if stale:
                for c in stale:
                    c.last_stale_action_mono = now
                    self._open_gap(c, "stale")
                if len(stale) == len(self.coins):
                    action["reconnect"] = True
                    log.warning(f"no book message for {self.stale_seconds:g} s on any coin; reconnecting")
                else:
                    action["resubscribe"] = [c.coin for c in stale]
                    log.warning(f"no book message for {self.stale_seconds:g} s for {', '.join(action['resubscribe'])}; resubscribing")
        if self.flush_seconds > 0 and now - self._last_flush_mono >= self.flush_seconds:
            self.flush()
        if self.status_seconds > 0 and now - self._last_status_mono >= self.status_seconds:
            self._print(self.status_line(now - self._last_status_mono))
            self._last_status_mono = now
        return action

    def status_line(self, interval_s: float) -> str:
        parts = []
        for c in self.coins.values():
            rate = c.status_messages / interval_s if interval_s > 0 else 0.0
            c.status_messages = 0
            state = " (book unknown)" if c.awaiting_book else ""
            parts.append(f"{c.coin} {rate:.1f} msg/s, {c.deltas_written:,} deltas, {c.trades_written:,} trades written{state}")
        gaps = sum(c.gaps for c in self.coins.values()) + sum(1 for c in self.coins.values() if c.open_gap)
        flush = format_ns(self.last_flush_ns)[11:19] + "Z" if self.last_flush_ns else "none yet"
        bad = sum(self.malformed_by_channel.values())
        line = f"record {format_ns(self._clock_ns())[:19]}Z | " + " | ".join(parts)
        line += f" | gaps {gaps} | last flush {flush} ({self.last_flush_files} files)"
        if bad or self.flush_failures:
            line += f" | malformed {bad}, flush failures {self.flush_failures}"
        return line

    # ================================================================== flushing (writer thread)
    def flush(self, wait: bool = False) -> None:
        """Hand every coin's buffer to the writer thread (``wait``: until written)."""
        chunks = [chunk for chunk in (c.take() for c in self.coins.values()) if chunk]
        self._last_flush_mono = self._mono()
        if chunks:
            self._submit(_FlushJob(chunks, []))
        if wait:
            self.wait_flushed()

    def wait_flushed(self) -> None:
        for fut in list(self._futures):
            fut.result()
        self._futures = [f for f in self._futures if not f.done()]

    def _submit(self, job: _FlushJob) -> None:
        if self._executor is None:
            raise RuntimeError("Recorder.open() was not called")
        self._futures = [f for f in self._futures if not f.done()]
        self._futures.append(self._executor.submit(self._run_job, job))

    def _run_job(self, job: _FlushJob) -> None:
        for coin, part, deltas, trades in job.chunks:
            pend = self._pending.setdefault((coin, part), ([], []))
            pend[0].extend(deltas)
            pend[1].extend(trades)
        self._to_finalize.update(job.finalize)
        if self._pending and not self._write_pending():
            return
        for key in sorted(self._to_finalize):
            if key in self._pending:
                continue
            self._to_finalize.discard(key)
            self._merge_part(key)

    def _write_pending(self) -> bool:
        starts: dict[tuple[str, int], tuple[str, int]] = {}
        try:
            with StagedCatalogWriter(self.catalog_path) as writer:
                for (coin, part), (deltas, trades) in self._pending.items():
                    iid = self.coins[coin].instrument_id
                    for objs in (deltas, trades):
                        if objs:
                            writer.write(objs)
                            starts[(iid, objs[0].ts_init)] = (coin, part)
                report = writer.commit()
        except Exception as exc:  # noqa: BLE001 - keep the data, retry at the next flush
            self.flush_failures += 1
            self.last_flush_error = f"{type(exc).__name__}: {exc}"
            n = sum(len(d) + len(t) for d, t in self._pending.values())
            log.error(f"flush failed ({self.last_flush_error}); {n} rows kept in memory, retried at the next flush")
            return False
        for rel in report.files_added:
            path = self.catalog_path / rel
            iv = file_interval(path)
            key = starts.get((path.parent.name, iv[0])) if iv else None
            if key is not None:
                self._part_files.setdefault(key, []).append(path)
        for (coin, _part), (deltas, trades) in self._pending.items():
            c = self.coins[coin]
            c.deltas_written += len(deltas)
            c.trades_written += len(trades)
        self._pending.clear()
        self.flushes += 1
        self.files_written += len(report.files_added)
        self.last_flush_ns = self._clock_ns()
        self.last_flush_files = len(report.files_added)
        return True

    def _merge_part(self, key: tuple[str, int]) -> None:
        files = self._part_files.get(key, [])
        by_dir: dict[Path, list[Path]] = {}
        for f in files:
            by_dir.setdefault(f.parent, []).append(f)
        merged = []
        for directory, group in by_dir.items():
            if len(group) < 2:
                merged.extend(group)
                continue
            try:
                merged.append(merge_part_files(group))
                self.merges += 1
            except Exception as exc:  # noqa: BLE001 - the pieces stay valid catalog files
                log.error(f"{directory}: merging {len(group)} files of part {key} failed ({type(exc).__name__}: {exc}); pieces kept")
                merged.extend(group)
        if files:
            self._part_files[key] = merged

    def parts_written(self, coin: str) -> int:
        return sum(1 for (c, _), files in self._part_files.items() if c == coin and files)

    def part_files(self) -> dict[tuple[str, int], list[Path]]:
        """``{(coin, part index): [files]}`` written in this run (part index = ts_event // part_ns)."""
        return {k: list(v) for k, v in self._part_files.items()}

    # ================================================================== stop
    def close(self) -> dict:
        """Final flush of every part, unresolved gaps logged, writer stopped, locks released;
        returns the summary."""
        if self._closed:
            return self.summary()
        self._closed = True
        if not self._opened:
            self._release_locks()
            return self.summary()
        stop_ns = self._stamp()
        for c in self.coins.values():
            if c.open_gap is not None:
                self._close_gap(c, stop_ns, None, resolved=False)
        chunks = [chunk for chunk in (c.take() for c in self.coins.values()) if chunk]
        finalize = [(c.coin, c.part) for c in self.coins.values() if c.part is not None]
        self._submit(_FlushJob(chunks, finalize))
        try:
            self.wait_flushed()
        finally:
            assert self._executor is not None
            self._executor.shutdown(wait=True)
            if self._pending:
                self._rescue()
            self._release_locks()
        return self.summary()

    def _rescue(self) -> None:
        """Data that could not be committed: a separate catalog next to the target (never lost silently)."""
        from nautilus_trader.persistence.catalog import ParquetDataCatalog

        path = self.catalog_path / f".recorder-rescue-{os.getpid()}-{time.strftime('%Y%m%dT%H%M%S')}"
        try:
            catalog = ParquetDataCatalog(str(path))
            catalog.write_data([c.instrument for c in self.coins.values()])
            for deltas, trades in self._pending.values():
                for objs in (deltas, trades):
                    if objs:
                        catalog.write_data(objs)
            self.rescue_path = str(path)
            log.error(f"data that could not be written to {self.catalog_path} was saved in {path}")
        except Exception as exc:  # noqa: BLE001
            log.error(f"rescue write to {path} failed too ({type(exc).__name__}: {exc}); unwritten rows are lost")

    def summary(self) -> dict:
        coins = {}
        for coin, c in self.coins.items():
            coins[coin] = {
                "instrument_id": c.instrument_id,
                "messages": c.messages,
                "book_messages": c.book_messages,
                "book_messages_recorded": c.book_messages_recorded,
                "clears": c.clears,
                "deltas": c.deltas_written,
                "trades_received": c.trades_received,
                "trades": c.trades_written,
                "trades_duplicate": c.trades_duplicate,
                "trades_without_book": c.trades_without_book,
                "trades_before_book": c.trades_before_book,
                "book_time_backwards": c.book_time_backwards,
                "malformed": c.malformed,
                "gaps": c.gaps,
                "parts": self.parts_written(coin),
                "deltas_unwritten": c.deltas_buffered - c.deltas_written,
                "trades_unwritten": c.trades_buffered - c.trades_written,
            }
        return {
            "catalog": str(self.catalog_path),
            "coins": coins,
            "messages": self.messages,
            "other_messages": self.other_messages,
            "malformed": dict(self.malformed_by_channel),
            "gaps": list(self.gaps_this_run),
            "gaps_file": str(gaps_path(self.catalog_path)),
            "flushes": self.flushes,
            "flush_failures": self.flush_failures,
            "last_flush_error": self.last_flush_error,
            "files_written": self.files_written,
            "merges": self.merges,
            "clock_steps_back": self.clock_steps_back,
            "rescue_path": self.rescue_path,
            "repaired": list(self.repaired),
        }


def format_summary(summary: dict) -> str:
    lines = [f"botmm record summary: catalog {summary['catalog']}"
             + (f", {summary['elapsed_s']:.1f} s" if "elapsed_s" in summary else "")]
    head = (f"  {'coin':<8} {'book msgs':>9} {'clears':>6} {'deltas':>9} {'trades':>8} {'dup':>5} "
            f"{'no book':>7} {'parts':>5} {'gaps':>4} {'malformed':>9}")
    lines.append(head)
    for coin, s in summary["coins"].items():
        lines.append(
            f"  {coin:<8} {s['book_messages']:>9,} {s['clears']:>6} {s['deltas']:>9,} {s['trades']:>8,} "
            f"{s['trades_duplicate']:>5} {s['trades_without_book'] + s['trades_before_book']:>7} {s['parts']:>5} "
            f"{s['gaps']:>4} {s['malformed']:>9}",
        )
    lines.append("  (dup: re-sent trades dropped by tid; no book: trades dropped because the book was unknown, "
                 "at the start or in a gap)")
    if summary["gaps"]:
        lines.append(f"gaps this run ({len(summary['gaps'])}, logged in {summary['gaps_file']}):")
        for g in summary["gaps"]:
            tail = "" if g.get("resolved", True) else "  (unresolved at stop)"
            lines.append(f"  {g['coin']:<8} {g['start']} .. {g['end']}  {g['duration_s']:.3f} s  {g['reason']}{tail}")
    else:
        lines.append("gaps this run: none")
    if summary.get("ws_reconnects"):
        lines.append(f"WebSocket reconnects: {summary['ws_reconnects']}")
    if summary["malformed"]:
        lines.append(f"malformed messages not recorded: {summary['malformed']}")
    if summary["flush_failures"]:
        lines.append(f"flush failures: {summary['flush_failures']} (last: {summary['last_flush_error']})")
    if summary["rescue_path"]:
        lines.append(f"UNWRITTEN DATA saved in {summary['rescue_path']} (a separate catalog)")
    if summary["clock_steps_back"]:
        lines.append(f"local clock stepped back {summary['clock_steps_back']} time(s); ts_init kept strictly increasing")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------- runner


async def record(
    settings: RecordSettings,
    *,
    stop_event: asyncio.Event | None = None,
    print_fn: Callable[[str], None] = print,
    tap: Callable[[str, Any, int], None] | None = None,
    handle_signals: bool = True,
    on_started: Callable[[Recorder], None] | None = None,
) -> dict:
    """Record until ``stop_event``, SIGINT/SIGTERM (main thread only) or ``run_seconds``; returns the summary."""
    from botmm_nautilus.adapters.hyperliquid.ws import HLWebSocketClient

    started = time.perf_counter()
    instruments = await load_instruments(settings.http_url, settings.coins, settings.connect_timeout_seconds)
    rec = Recorder(
        settings.catalog,
        instruments,
        part_seconds=settings.part_seconds,
        flush_seconds=settings.flush_seconds,
        status_seconds=settings.status_seconds,
        stale_seconds=settings.stale_seconds,
        exchange_gap_seconds=settings.exchange_gap_seconds,
        dedupe_horizon_seconds=settings.dedupe_horizon_seconds,
        print_fn=print_fn,
        tap=tap,
    )
    rec.open()
    loop = asyncio.get_running_loop()
    stop = stop_event or asyncio.Event()
    installed = []
    if handle_signals and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
                installed.append(sig)
            except (NotImplementedError, RuntimeError):
                pass
    ws = HLWebSocketClient(
        settings.ws_url, rec.on_message, on_reconnect=rec.on_reconnect, heartbeat_s=settings.heartbeat_seconds,
        stale_s=0.0, reconnect_max_s=settings.reconnect_max_seconds, log=log, name="botmm-record-ws",
    )
    try:
        for coin in instruments:
            await ws.subscribe({"type": "l2Book", "coin": coin})
            await ws.subscribe({"type": "trades", "coin": coin})
        try:
            await ws.start(timeout_s=settings.connect_timeout_seconds)
        except ConnectionError as exc:
            raise RecorderError(str(exc)) from None
        rec.mark_started()
        print_fn(
            f"botmm record: {', '.join(instruments)} from {settings.ws_url} into {settings.catalog}; parts of "
            f"{settings.part_seconds:g} s (exchange time), flush every {settings.flush_seconds:g} s; "
            f"gaps -> {gaps_path(settings.catalog)}"
            + (f"; stopping after {settings.run_seconds:g} s" if settings.run_seconds else "; Ctrl-C stops"),
        )
        if on_started is not None:
            on_started(rec)
        deadline = loop.time() + settings.run_seconds if settings.run_seconds else None
        while not stop.is_set():
            timeout = 0.25 if deadline is None else max(0.0, min(0.25, deadline - loop.time()))
            try:
                await asyncio.wait_for(stop.wait(), timeout)
            except asyncio.TimeoutError:
                pass
            if deadline is not None and loop.time() >= deadline:
                break
            action = rec.tick()
            if action["reconnect"]:
                ws.force_reconnect()
            for coin in action["resubscribe"]:
                sub = {"type": "l2Book", "coin": coin}
                await ws.unsubscribe(sub)
                await ws.subscribe(sub)
    finally:
        await ws.stop()
        for sig in installed:
            loop.remove_signal_handler(sig)
        summary = await asyncio.to_thread(rec.close)
    summary["ws_reconnects"] = ws.reconnects
    summary["elapsed_s"] = time.perf_counter() - started
    summary["ws_url"] = settings.ws_url
    return summary


def record_blocking(settings: RecordSettings, print_fn: Callable[[str], None] = print, **kwargs) -> dict:
    return asyncio.run(record(settings, print_fn=print_fn, **kwargs))


__all__ = [
    "MalformedMessage",
    "RecordSettings",
    "Recorder",
    "RecorderError",
    "format_summary",
    "load_instruments",
    "merge_part_files",
    "parse_book",
    "parse_trade",
    "record",
    "record_blocking",
    "repair_interrupted_merges",
    "resolve_urls",
]

