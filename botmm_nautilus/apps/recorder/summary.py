"""What the recorder reports: the periodic status line, the summary dict returned at stop, and
its text form printed by ``botmm record``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botmm_nautilus.data.gaps import gaps_path
from botmm_nautilus.data.summary import format_ns

if TYPE_CHECKING:
    from .session import Recorder


def status_line(rec: Recorder, interval_s: float) -> str:
    """One line per ``status_seconds``: per coin the message rate since the last line (the rate
    counters restart) and the rows written, then gaps, the last flush and problems if any."""
    parts = []
    for c in rec.coins.values():
        rate = c.status_messages / interval_s if interval_s > 0 else 0.0
        c.status_messages = 0
        state = " (book unknown)" if c.awaiting_book else ""
        deltas, trades = rec.writer.written[c.coin]
        parts.append(f"{c.coin} {rate:.1f} msg/s, {deltas:,} deltas, {trades:,} trades written{state}")
    gaps = sum(c.gaps for c in rec.coins.values()) + sum(1 for c in rec.coins.values() if c.open_gap)
    writer = rec.writer
    flush = format_ns(writer.last_flush_ns)[11:19] + "Z" if writer.last_flush_ns else "none yet"
    bad = sum(rec.malformed_by_channel.values())
    line = f"record {format_ns(rec.clock_ns())[:19]}Z | " + " | ".join(parts)
    line += f" | gaps {gaps} | last flush {flush} ({writer.last_flush_files} files)"
    if bad or writer.flush_failures:
        line += f" | malformed {bad}, flush failures {writer.flush_failures}"
    return line


def summarize(rec: Recorder) -> dict:
    """Counts per coin and for the run, the gaps of this run, flushes, merges and repairs."""
    writer = rec.writer
    coins = {}
    for coin, c in rec.coins.items():
        deltas_written, trades_written = writer.written[coin]
        coins[coin] = {
            "instrument_id": c.instrument_id,
            "messages": c.messages,
            "book_messages": c.book_messages,
            "book_messages_recorded": c.book_messages_recorded,
            "clears": c.clears,
            "deltas": deltas_written,
            "trades_received": c.trades_received,
            "trades": trades_written,
            "trades_duplicate": c.trades_duplicate,
            "trades_without_book": c.trades_without_book,
            "trades_before_book": c.trades_before_book,
            "book_time_backwards": c.book_time_backwards,
            "malformed": c.malformed,
            "gaps": c.gaps,
            "parts": writer.parts_written(coin),
            "deltas_unwritten": c.deltas_buffered - deltas_written,
            "trades_unwritten": c.trades_buffered - trades_written,
        }
    return {
        "catalog": str(rec.catalog_path),
        "coins": coins,
        "messages": rec.messages,
        "other_messages": rec.other_messages,
        "malformed": dict(rec.malformed_by_channel),
        "gaps": list(rec.gaps_this_run),
        "gaps_file": str(gaps_path(rec.catalog_path)),
        "flushes": writer.flushes,
        "flush_failures": writer.flush_failures,
        "last_flush_error": writer.last_flush_error,
        "files_written": writer.files_written,
        "merges": writer.merges,
        "clock_steps_back": rec.clock_steps_back,
        "rescue_path": writer.rescue_path,
        "repaired": list(rec.repaired),
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
