"""What ``botmm live`` tells its operator: waiting for the venue, a status line per coin while it
runs, and an end table from the venue's own state.

* :func:`wait_for_venue`: the venue's ``metaAndAssetCtxs``, asked again every second while the venue
  does not answer (connection refused, time-out, HTTP 5xx: a twin still loading its catalog, a
  venue restarting) for up to ``wait_s`` seconds, with a line at once and every ``MESSAGE_EVERY_S`` s.
  A definite answer (an HTTP 4xx) is not waited for.
* :class:`StatusTicker`: every ``status_interval_s`` one line per coin: the node's position, PnL
  (realised + unrealised, fees included), quotes resting, fills, and the rate budget left
  (address actions and IP weight).
* :func:`read_venue_state` + :func:`end_table`: after the stop, positions and resting orders as
  the venue reports them (``clearinghouseState``, ``frontendOpenOrders``), next to the node's
  belief. A position or an order left at the venue is called out on its own lines, saying that it
  stays open and what to do; if the venue cannot be read, the table says so and shows the node's
  belief only.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from typing import Callable

MESSAGE_EVERY_S = 5.0  # while waiting for the venue: one line this often
POLL_EVERY_S = 1.0  # while waiting for the venue: ask this often


# ------------------------------------------------------------------------------------------ start-up


async def wait_for_venue(http, base_url: str, wait_s: float, say: Callable[[str], None],
                         error: Callable[[str], Exception]) -> Any:
    """``http.meta_and_ctxs()`` once the venue answers; ``error(text)`` is raised when it does not
    within ``wait_s`` s (or refuses definitely)."""
    started = time.monotonic()
    next_message = started  # the first message at once, then every MESSAGE_EVERY_S
    while True:
        try:
            return await http.meta_and_ctxs()
        except Exception as exc:  # noqa: BLE001 - classified below
            waited = time.monotonic() - started
            transient = _not_answering(exc)
            if not transient or waited >= wait_s:
                after = f" after waiting {waited:.0f} s" if transient and wait_s > 0 else ""
                raise error(f"venue {base_url} unreachable{after}: {exc}") from None
            if time.monotonic() >= next_message:
                say(f"botmm live: venue {base_url} not answering yet ({_short(exc)}); waiting up to {wait_s:g} s "
                    f"({waited:.0f} s so far)")
                next_message += MESSAGE_EVERY_S
            await asyncio.sleep(min(POLL_EVERY_S, max(wait_s - waited, 0.0)))


def _short(exc: BaseException) -> str:
    """The cause of a failed request without the retry wrapper's prefix, at most 100 characters."""
    text = str(exc).split(" attempts: ", 1)[-1]
    return text if len(text) <= 100 else text[:97] + "..."


def _not_answering(exc: BaseException) -> bool:
    """True when the venue gave no answer (connection refused or dropped, time-out) or HTTP 429/5xx:
    it may answer later. An ``HttpError`` after retries keeps the status of the last attempt."""
    if getattr(exc, "should_retry", False):
        return True
    if not hasattr(exc, "status") or "signing key" in str(exc):
        return False
    status = exc.status
    return status is None or status == 429 or status >= 500


# ------------------------------------------------------------------------------------------ while running


def _money(value) -> float:
    return value.as_double() if value is not None else 0.0


def coin_status(node, strategy) -> dict:
    """The node's view of one coin: position, PnL USD (realised + unrealised), quotes resting, fills."""
    iid = strategy.config.instrument_id
    portfolio = node.portfolio
    return {
        "coin": iid.symbol.value.split("-")[0],
        "position": float(portfolio.net_position(iid)),
        "pnl_usd": _money(portfolio.realized_pnl(iid)) + _money(portfolio.unrealized_pnl(iid)),
        "quotes": len(node.cache.orders_open(instrument_id=iid)),
        "fills": int(getattr(strategy, "fills", 0)),
    }


def budget_text(rate: dict | None) -> str:
    """Rate budget left, from ``HLExecutionClient.rate_budget()``."""
    if not rate:
        return "rate budget n/a"
    used, cap = rate.get("address_requests_used"), rate.get("address_requests_cap")
    ip_cap, ip_rate = rate.get("ip_weight_budget_per_min"), rate.get("ip_weight_per_min")
    parts = []
    if used is not None and cap is not None:
        parts.append(f"address actions left {cap - used:,}/{cap:,}")
    if ip_cap is not None and ip_rate is not None:
        parts.append(f"IP weight {ip_rate:,.0f}/{ip_cap:,.0f} per min")
    return "; ".join(parts) or "rate budget n/a"


def status_lines(statuses: list[dict], budget: str, elapsed_s: float) -> list[str]:
    """One line per coin."""
    clock = time.strftime("%H:%M:%S", time.gmtime(elapsed_s))
    return [
        f"[status +{clock}] {st['coin']:<5} position {st['position']:+.6g}  PnL {st['pnl_usd']:+.2f} USD  "
        f"quotes resting {st['quotes']}  fills {st['fills']}  |  {budget}"
        for st in statuses
    ]


class StatusTicker:
    """Prints :func:`status_lines` every ``interval_s`` on the node's event loop (0 = never)."""

    def __init__(self, node, strategies: list, exec_client_of: Callable[[], Any], interval_s: float,
                 print_fn: Callable[[str], None]) -> None:
        self.node = node
        self.strategies = strategies
        self.exec_client_of = exec_client_of
        self.interval_s = interval_s
        self.print_fn = print_fn
        self.started = time.monotonic()
        self.lines_printed = 0

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.interval_s > 0:
            loop.call_later(self.interval_s, self._tick, loop)

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            exec_client = self.exec_client_of()
            rate = exec_client.rate_budget() if exec_client is not None else None
            lines = status_lines([coin_status(self.node, st) for st in self.strategies], budget_text(rate),
                                 time.monotonic() - self.started)
            for line in lines:
                self.print_fn(line)
            self.lines_printed += len(lines)
        except Exception as exc:  # noqa: BLE001 - a status line must never stop the node
            self.print_fn(f"[status] unavailable: {exc!r}")
        if loop.is_running():
            loop.call_later(self.interval_s, self._tick, loop)


# ------------------------------------------------------------------------------------------ at the end


async def read_venue_state(http) -> dict:
    """``{"positions": {coin: szi}, "open_orders": {coin: n}, "marks": {coin: px}}`` as the venue reports them."""
    state = await http.clearinghouse_state()
    orders = await http.open_orders()
    positions: dict[str, float] = {}
    values: dict[str, float] = {}
    for item in state.get("assetPositions", []):
        pos = item.get("position", {})
        szi = float(pos.get("szi", 0) or 0)
        if szi:
            positions[pos["coin"]] = szi
            values[pos["coin"]] = abs(float(pos.get("positionValue", 0) or 0))
    open_orders: dict[str, int] = {}
    for o in orders or []:
        open_orders[o["coin"]] = open_orders.get(o["coin"], 0) + 1
    return {"positions": positions, "open_orders": open_orders, "position_values_usd": values}


def end_table(coins: list[str], node_positions: dict[str, float], pnl_usd: dict[str, float], fills: dict[str, int],
              venue: dict | None, venue_error: str | None = None) -> list[str]:
    """The end-of-run table and, loudly, anything left at the venue. ``node_positions`` etc. by coin;
    ``venue`` from :func:`read_venue_state` (None when it could not be read: ``venue_error``)."""
    lines = ["botmm live: end of run" + (" (positions and orders as the venue reports them)" if venue is not None
                                         else f" (the venue could not be read: {venue_error}; node's belief only)")]
    lines.append(f"  {'coin':<6}{'venue position':>16}{'node position':>16}{'orders resting':>16}{'fills':>8}{'PnL USD':>11}")
    venue_pos = (venue or {}).get("positions", {})
    venue_orders = (venue or {}).get("open_orders", {})
    shown = list(dict.fromkeys([*coins, *venue_pos, *venue_orders]))
    for coin in shown:
        vp = f"{venue_pos.get(coin, 0.0):+.6g}" if venue is not None else "?"
        vo = str(venue_orders.get(coin, 0)) if venue is not None else "?"
        lines.append(f"  {coin:<6}{vp:>16}{node_positions.get(coin, 0.0):>+16.6g}{vo:>16}{fills.get(coin, 0):>8}"
                     f"{pnl_usd.get(coin, 0.0):>+11.2f}")
    leftover = {c: p for c, p in (venue_pos if venue is not None else node_positions).items() if p}
    values = (venue or {}).get("position_values_usd", {})
    for coin, szi in leftover.items():
        value = f" (about {values[coin]:,.2f} USD)" if coin in values else ""
        lines.append(f"!!! LEFTOVER POSITION: {coin} {szi:+.6g}{value} is still open at the venue. The node has stopped "
                     "and will not close it: close it yourself (an IOC order) or accept the exposure.")
    for coin, n in venue_orders.items():
        if n:
            lines.append(f"!!! ORDERS STILL RESTING: {coin} has {n} open order(s) at the venue after the stop. The node "
                         "will not cancel them any more: cancel them yourself (the dead-man's switch, if armed, "
                         "cancels them when it fires).")
    if venue is not None:
        for coin in coins:
            if abs(venue_pos.get(coin, 0.0) - node_positions.get(coin, 0.0)) > 1e-12:
                lines.append(f"!!! {coin}: the node believed {node_positions.get(coin, 0.0):+.6g} but the venue holds "
                             f"{venue_pos.get(coin, 0.0):+.6g}; the venue's figure is the true one.")
    return lines


def node_figures(node, strategies) -> tuple[dict[str, float], dict[str, float], dict[str, int]]:
    """(positions, PnL USD, fills) by coin as the node believes them."""
    positions, pnl, fills = {}, {}, {}
    for st in strategies:
        s = coin_status(node, st)
        positions[s["coin"]], pnl[s["coin"]], fills[s["coin"]] = s["position"], s["pnl_usd"], s["fills"]
    return positions, pnl, fills
