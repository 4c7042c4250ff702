"""The recording session: URLs and instruments, the WebSocket subscription and run loop
(:func:`record`), and :class:`Recorder`, which turns ``l2Book``/``trades`` messages into catalog
rows, detects gaps and stale feeds, and hands complete parts and periodic flushes to the writer
(``flush.PartWriter``)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botmm_nautilus.adapters.hyperliquid.parsing import aggressor_of
from botmm_nautilus.data.catalog_io import StagedCatalogWriter
from botmm_nautilus.data.gaps import append_gap
from botmm_nautilus.data.gaps import gaps_path
from botmm_nautilus.data.summary import format_ns
from botmm_nautilus.errors import DataImportError
from botmm_nautilus.venue.errors import MalformedMessage
from botmm_nautilus.venue.messages import decode_l2book
from botmm_nautilus.venue.messages import decode_trade
from botmm_nautilus.venue.messages import l2book_coin_time
from botmm_nautilus.venue.urls import http_url
from botmm_nautilus.venue.urls import http_url_from_ws
from botmm_nautilus.venue.urls import ws_url_from_http

from .errors import RecorderError
from .flush import CoinLocks
from .flush import FlushJob
from .flush import PartWriter
from .flush import existing_data_floor
from .parts import CoinRecording
from .summary import status_line
from .summary import summarize

log = logging.getLogger("botmm.recorder")

NANOS_PER_SECOND = 1_000_000_000
NANOS_PER_MILLI = 1_000_000
_LOG_FIRST_BAD = 20  # malformed messages logged individually per channel, then every 1000th


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
    if not url:
        base = http_url(testnet)
        return base, ws_url_from_http(base)
    url = url.strip().rstrip("/")
    if url.startswith(("ws://", "wss://")):
        return http_url_from_ws(url), url
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


def _snippet(obj, limit: int = 200) -> str:
    try:
        text = json.dumps(obj, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        text = repr(obj)
    return text if len(text) <= limit else text[:limit] + "..."


def _iso(ts_ns: int | None) -> str | None:
    return None if ts_ns is None else format_ns(ts_ns)


# ------------------------------------------------------------------------------------- recorder
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
        part_ns = int(part_seconds * NANOS_PER_SECOND)
        self.coins: dict[str, CoinRecording] = {coin: CoinRecording(coin, inst, part_ns) for coin, inst in instruments.items()}
        self.flush_seconds = float(flush_seconds)
        self.status_seconds = float(status_seconds)
        self.stale_seconds = float(stale_seconds)
        self.exchange_gap_ns = int(exchange_gap_seconds * NANOS_PER_SECOND)
        self.dedupe_horizon_ns = int(dedupe_horizon_seconds * NANOS_PER_SECOND)
        self.clock_ns = clock_ns
        self._mono = monotonic
        self._print = print_fn
        self._tap = tap
        self._last_stamp = 0
        self.clock_steps_back = 0
        self.messages = 0
        self.other_messages = 0  # channels other than l2Book/trades, or coins not recorded
        self.malformed_by_channel: dict[str, int] = {}
        self.gaps_this_run: list[dict] = []
        self.repaired: list[str] = []
        self.writer = PartWriter(self.catalog_path, {coin: c.instrument_id for coin, c in self.coins.items()}, clock_ns)
        self._locks = CoinLocks(self.catalog_path)
        self._opened = False
        self._closed = False
        self._started_mono: float | None = None
        self._last_flush_mono = 0.0
        self._last_status_mono = 0.0

    # ================================================================== lifecycle
    def open(self) -> None:
        """Lock the coins, repair interrupted merges, check for overlapping data, write the
        instruments and start the writer thread."""
        if self._opened:
            return
        self._locks.acquire(self.coins)
        try:
            coin_instruments = {coin: c.instrument_id for coin, c in self.coins.items()}
            self._last_stamp = existing_data_floor(self.catalog_path, coin_instruments, self.clock_ns(), self.repaired)
            with StagedCatalogWriter(self.catalog_path) as writer:
                writer.write([c.instrument for c in self.coins.values()])
                writer.commit()
        except BaseException:
            self._locks.release()
            raise
        self.writer.start()
        self._opened = True
        now = self._mono()
        self._started_mono = now
        self._last_flush_mono = now
        self._last_status_mono = now

    def mark_started(self) -> None:
        """The feed is connected: stale checks, flush and status intervals count from now."""
        now = self._mono()
        self._started_mono = self._last_flush_mono = self._last_status_mono = now

    def _stamp(self) -> int:
        now = self.clock_ns()
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
        except DataImportError as exc:  # crossed or unsorted book
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
        coin, _ = l2book_coin_time(data)
        c = self.coins.get(coin)
        if c is None:
            self.other_messages += 1
            return
        c.messages += 1
        c.status_messages += 1
        book = decode_l2book(data, c.grid)
        ts_event = book.time * NANOS_PER_MILLI
        c.book_messages += 1
        last_ex = c.last_book_exchange_ns
        if last_ex is not None and not c.awaiting_book:
            if ts_event - last_ex > self.exchange_gap_ns:
                self._open_gap(c, "exchange_time_jump")
            elif ts_event < last_ex:
                c.book_time_backwards += 1
        deltas = c.differ.diff_ticks(book.bids, book.asks, ts_event, ts_init)  # validates (raises) before any state change
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
        # the book is known up to here (an unchanged snapshot writes nothing; deltas carry ts_init + a few ns)
        c.last_ts_init = max(ts_init, deltas[-1].ts_init) if deltas else ts_init
        c.last_exchange_ns = ts_event if c.last_exchange_ns is None else max(c.last_exchange_ns, ts_event)

    def _on_trades(self, data, ts_init: int) -> None:
        if not isinstance(data, list):
            raise MalformedMessage("trades", "", f"the message is a {type(data).__name__}, expected a list of trades")
        kept: dict[str, list] = {}
        newest: dict[str, int] = {}
        counted: set[str] = set()
        for i, item in enumerate(data):
            coin = item.get("coin") if isinstance(item, dict) else None
            c = self.coins.get(coin) if isinstance(coin, str) else None
            if c is None:
                if isinstance(coin, str):
                    self.other_messages += 1
                else:
                    self._bad("trades", item, f"trade {i} has no 'coin'", None)
                continue
            if coin not in counted:
                counted.add(coin)
                c.messages += 1
                c.status_messages += 1
            try:
                t = decode_trade(item)
                ticks = c.grid.price(t.px, "trades", "px")
                lots = c.grid.size(t.sz, "trades", "sz")
            except MalformedMessage as exc:
                self._bad("trades", item, f"trade {i}: {exc}", coin)
                continue
            c.trades_received += 1
            ts_event = t.time * NANOS_PER_MILLI
            tid = str(t.tid)
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
            kept.setdefault(coin, []).append(c.encoder.trade(ticks, lots, aggressor_of(t.side), tid, ts_event, ts_init))
            newest[coin] = max(newest.get(coin, ts_event), ts_event)
        for coin, ticks_out in kept.items():
            c = self.coins[coin]
            self._append(c, newest[coin], None, ticks_out)
            c.last_ts_init = ts_init
            c.last_exchange_ns = max(c.last_exchange_ns or 0, newest[coin])

    def _remember(self, c: CoinRecording, tid: str, ts_event: int) -> None:
        seen = c.seen_tids
        seen[tid] = ts_event
        horizon = ts_event - self.dedupe_horizon_ns
        while seen:
            if next(iter(seen.values())) >= horizon:
                break
            seen.popitem(last=False)

    def _append(self, c: CoinRecording, ts_event: int, deltas, trades) -> None:
        finished = c.append(ts_event, deltas, trades)
        if finished is not None:  # the open part is complete: its last rows, then its merge
            part, chunk = finished
            self.writer.submit(FlushJob([chunk] if chunk else [], [(c.coin, part)]))

    # ================================================================== gaps
    def on_reconnect(self) -> None:
        """The WebSocket was re-established (subscriptions re-sent): every coin's book is unknown
        from its last recorded message until its next snapshot."""
        for c in self.coins.values():
            self._open_gap(c, "disconnect")

    def _open_gap(self, c: CoinRecording, reason: str) -> None:
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

    def _close_gap(self, c: CoinRecording, end_ns: int, end_exchange_ns: int | None, resolved: bool) -> None:
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
            self._print(status_line(self, now - self._last_status_mono))
            self._last_status_mono = now
        return action

    def flush(self, wait: bool = False) -> None:
        """Hand every coin's buffer to the writer thread (``wait``: until written)."""
        chunks = [chunk for chunk in (c.take() for c in self.coins.values()) if chunk]
        self._last_flush_mono = self._mono()
        if chunks:
            self.writer.submit(FlushJob(chunks, []))
        if wait:
            self.writer.wait()

    def part_files(self) -> dict[tuple[str, int], list[Path]]:
        """``{(coin, part index): [files]}`` written in this run (part index = ts_event // part_ns)."""
        return self.writer.part_files()

    # ================================================================== stop
    def close(self) -> dict:
        """Final flush of every part, unresolved gaps logged, writer stopped, locks released;
        returns the summary."""
        if self._closed:
            return summarize(self)
        self._closed = True
        if not self._opened:
            self._locks.release()
            return summarize(self)
        stop_ns = self._stamp()
        for c in self.coins.values():
            if c.open_gap is not None:
                self._close_gap(c, stop_ns, None, resolved=False)
        chunks = [chunk for chunk in (c.take() for c in self.coins.values()) if chunk]
        finalize = [(c.coin, c.part) for c in self.coins.values() if c.part is not None]
        self.writer.submit(FlushJob(chunks, finalize))
        try:
            self.writer.close([c.instrument for c in self.coins.values()])
        finally:
            self._locks.release()
        return summarize(self)


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
