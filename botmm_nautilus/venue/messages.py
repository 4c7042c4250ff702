"""Hyperliquid's market and account messages as typed structs, with one decoder per message kind.

The same objects arrive on the WebSocket channels (``l2Book``, ``trades``, ``userFills``,
``orderUpdates``) and in ``/info`` answers (``l2Book``, ``userFills``/``userFillsByTime``,
``openOrders``/``frontendOpenOrders``, ``orderStatus``). Every consumer decodes them here: the
live adapter, the importers (``data.hl_s3``, ``data.hl_ws``) and the recorder (``apps.recorder``).

Wire semantics, in this one place:

* ``side``: ``"B"`` (:data:`BUY`) = bid / buy, ``"A"`` (:data:`SELL`) = ask / sell. In ``trades``
  the side is the aggressor's: ``B`` = a buyer lifted the ask, ``A`` = a seller hit the bid.
* Prices, sizes and USD amounts are plain decimal strings (``"110234.5"``, ``"0.0015"``), never
  JSON numbers; ids (``oid``, ``tid``) and times (epoch milliseconds) are JSON integers.
* On an instrument's grid a price or size is an integer number of ticks or lots,
  ``value * 10**decimals`` (:func:`decimal_text_to_ticks`, exact integer parsing of the text).

A message that does not fit its kind raises :class:`~botmm_nautilus.venue.errors.MalformedMessage`
naming the kind and the field (``l2Book levels[0][3].px: ...``, ``trades side: ...``); a wrong
type is refused, never turned into a default or a guess.

Speed: ``l2Book`` is the hot path of the live adapter (every book message of every coin, on the
one event loop). :func:`decode_l2book` therefore reads the JSON objects directly and checks them
while it converts levels to ticks with the memos of a :class:`TickGrid`: a repeated price or
size costs one dict lookup. The other kinds are small and rare and use ``msgspec.convert``.
"""

from __future__ import annotations

from typing import Any
from typing import Final
from typing import Literal

import msgspec

from botmm_nautilus.venue.errors import MalformedMessage

BUY: Final[str] = "B"  # bid side; in trades: the buyer was the aggressor
SELL: Final[str] = "A"  # ask side; in trades: the seller was the aggressor

# Side text (lower-cased, stripped) -> is the buy side: the wire's ``B``/``A`` and the
# ``buy``/``sell`` of recordings that spelled the side out (data.hl_ws CSV files).
SIDE_SPELLINGS: Final[dict[str, bool]] = {"b": True, "buy": True, "a": False, "sell": False}

Side = Literal["B", "A"]

_MEMO_LIMIT = 8192  # TickGrid memo entries per kind before it is cleared


# ------------------------------------------------------------------------------------- numbers
def decimal_text_to_ticks(text: Any, decimals: int) -> int | None:
    """``"110234.5"`` -> ``1102345`` at 1 decimal: exact integer parsing of a plain decimal string
    (digits, optionally one ``.`` and digits; trailing zeros beyond ``decimals`` are fine). None
    for anything else (not a string, a sign, an exponent, spaces, too many significant decimals)."""
    if text.__class__ is not str or not text.isascii():
        return None
    i = text.find(".")
    if i < 0:
        if not text.isdigit():
            return None
        return int(text) * 10**decimals
    whole, frac = text[:i], text[i + 1:]
    if len(frac) > decimals:
        frac = frac.rstrip("0")
        if len(frac) > decimals:
            return None
    if not (whole.isdigit() and (frac.isdigit() or not frac)):
        return None
    return int(whole + frac + "0" * (decimals - len(frac)))


def _is_decimal_text(text: str, signed: bool) -> bool:
    body = text[1:] if signed and text[:1] == "-" else text
    whole, dot, frac = body.partition(".")
    return body.isascii() and whole.isdigit() and (not dot or frac.isdigit())


class TickGrid:
    """One instrument's price and size grid (``price_decimals``, ``size_decimals``) with memos
    text -> ticks and text -> lots: the same prices and sizes come back message after message,
    and a repeated one costs a dict lookup. Keep one grid per instrument (a new one when its
    precision changes); each memo is cleared when it grows past 8,192 entries."""

    __slots__ = ("_px", "_sz", "price_decimals", "size_decimals")

    def __init__(self, price_decimals: int, size_decimals: int) -> None:
        self.price_decimals = int(price_decimals)
        self.size_decimals = int(size_decimals)
        self._px: dict[str, int] = {}
        self._sz: dict[str, int] = {}

    def price(self, text: Any, kind: str, field: str) -> int:
        """A positive price as ticks; ``MalformedMessage(kind, field)`` otherwise."""
        ticks = self._px.get(text) if text.__class__ is str else None
        return ticks if ticks is not None else self._new(self._px, text, self.price_decimals, kind, field)

    def size(self, text: Any, kind: str, field: str) -> int:
        """A positive size as lots; ``MalformedMessage(kind, field)`` otherwise."""
        lots = self._sz.get(text) if text.__class__ is str else None
        return lots if lots is not None else self._new(self._sz, text, self.size_decimals, kind, field)

    @staticmethod
    def _new(memo: dict, text: Any, decimals: int, kind: str, field: str) -> int:
        value = decimal_text_to_ticks(text, decimals)
        if value is None or value <= 0:
            if text.__class__ is not str:
                raise MalformedMessage(kind, field, f"{text!r} is a JSON {_json_type(text)}, expected a decimal string")
            raise MalformedMessage(
                kind, field, f"{text!r} is not a positive plain decimal with at most {decimals} decimals",
            )
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
        memo[text] = value
        return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


# ------------------------------------------------------------------------------------- l2Book
class L2Book(msgspec.Struct, gc=False):
    """An ``l2Book`` message on an instrument's grid: levels as ``(price ticks, size lots)``,
    best first (bids descending, asks ascending, as sent; the order is not checked here)."""

    coin: str
    time: int  # exchange time, epoch ms
    bids: list[tuple[int, int]]
    asks: list[tuple[int, int]]


def l2book_coin_time(data: Any) -> tuple[str, int]:
    """``(coin, time ms)`` of an ``l2Book`` message (to choose the instrument before decoding the levels)."""
    if data.__class__ is not dict:
        raise MalformedMessage("l2Book", "", f"the message is a JSON {_json_type(data)}, expected an object")
    coin = data.get("coin")
    if coin.__class__ is not str or not coin:
        raise MalformedMessage("l2Book", "coin", f"{coin!r} is not a coin name")
    time_ms = data.get("time")
    if time_ms.__class__ is not int:
        raise MalformedMessage("l2Book", "time", f"{time_ms!r} is not epoch milliseconds (an integer)")
    return coin, time_ms


def decode_l2book(data: Any, grid: TickGrid) -> L2Book:
    """An ``l2Book`` message ``{"coin", "time", "levels": [[bids], [asks]]}`` (levels
    ``{"px", "sz", "n"}``) with its prices and sizes on ``grid``."""
    if data.__class__ is not dict:
        l2book_coin_time(data)  # raises, naming what is wrong
    coin = data.get("coin")
    time_ms = data.get("time")
    if coin.__class__ is not str or time_ms.__class__ is not int or not coin:
        l2book_coin_time(data)
    levels = data.get("levels")
    if levels.__class__ is not list or len(levels) != 2 or levels[0].__class__ is not list \
            or levels[1].__class__ is not list:
        raise MalformedMessage("l2Book", "levels", f"{_short(levels)} is not [[bids], [asks]]")
    return L2Book(coin, time_ms, _side_ticks(levels[0], 0, grid), _side_ticks(levels[1], 1, grid))


def _side_ticks(levels: list, side: int, grid: TickGrid) -> list[tuple[int, int]]:
    out = []
    append = out.append
    px_memo = grid._px
    sz_memo = grid._sz
    try:
        for lv in levels:
            px = lv["px"]
            ticks = px_memo.get(px)
            if ticks is None:
                ticks = grid.price(px, "l2Book", f"levels[{side}][{len(out)}].px")
            sz = lv["sz"]
            lots = sz_memo.get(sz)
            if lots is None:
                lots = grid.size(sz, "l2Book", f"levels[{side}][{len(out)}].sz")
            append((ticks, lots))
    except (TypeError, KeyError) as exc:  # a level that is not {"px", "sz", ...} (or an unhashable value)
        i = len(out)
        lv = levels[i]
        if lv.__class__ is not dict:
            raise MalformedMessage("l2Book", f"levels[{side}][{i}]", f"{_short(lv)} is not {{px, sz, n}}") from None
        for name in ("px", "sz"):
            if name not in lv:
                raise MalformedMessage("l2Book", f"levels[{side}][{i}]", f"no '{name}'") from None
            if lv[name].__class__ is not str:
                raise MalformedMessage(
                    "l2Book", f"levels[{side}][{i}].{name}",
                    f"{_short(lv[name])} is a JSON {_json_type(lv[name])}, expected a decimal string",
                ) from None
        raise MalformedMessage("l2Book", f"levels[{side}][{i}]", f"{type(exc).__name__}: {exc}") from None
    return out


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


# ------------------------------------------------------------------------------------- typed kinds
def _convert(kind: str, obj: Any, typ: type):
    """``msgspec.convert`` with its error as a ``MalformedMessage`` naming the field."""
    try:
        return msgspec.convert(obj, typ)
    except msgspec.ValidationError as exc:
        text = str(exc)
        reason, _, path = text.partition(" - at `")
        field = path.rstrip("`").removeprefix("$").lstrip(".")
        missing = reason.removeprefix("Object missing required field `")
        if missing != reason:  # "Object missing required field `tid`": name the field itself
            field = f"{field}.{missing.rstrip('`')}" if field else missing.rstrip("`")
            reason = "missing"
        elif reason.startswith("Invalid enum value ") and field.endswith("side"):
            reason = f"{reason.removeprefix('Invalid enum value ')} is not B (bid, buy) or A (ask, sell)"
        elif reason.startswith("Expected `"):  # "Expected `int`, got `str`"
            reason = "e" + reason.replace("`", "")[1:]
        raise MalformedMessage(kind, field, reason) from None


def _check_decimals(kind: str, obj: Any, fields: tuple[str, ...], signed: tuple[str, ...] = (), prefix: str = "") -> None:
    """Each of ``fields`` (str attributes of ``obj``, None allowed) is a plain decimal string."""
    for name in fields:
        text = getattr(obj, name)
        if text is not None and not _is_decimal_text(text, name in signed):
            raise MalformedMessage(kind, prefix + name, f"{text!r} is not a plain decimal")


class Trade(msgspec.Struct, gc=False):
    """One entry of a ``trades`` message. ``side`` is the aggressor's (``B`` buyer, ``A`` seller)."""

    coin: str
    side: Side
    px: str
    sz: str
    time: int  # exchange time, epoch ms
    tid: int
    hash: str = ""
    users: list[str] = []  # [buyer, seller]


def decode_trade(item: Any) -> Trade:
    """One entry of a ``trades`` message (a ``trades`` message is a list of them). Prices and
    sizes are checked when they are put on a grid (:meth:`TickGrid.price`, :meth:`TickGrid.size`)."""
    return _convert("trades", item, Trade)


class UserFill(msgspec.Struct, gc=False):
    """One fill of ``userFills`` (WebSocket ``{"user", "isSnapshot", "fills": [...]}`` or the
    ``/info`` ``userFills``/``userFillsByTime`` list). ``crossed`` = taker; ``fee`` negative = rebate."""

    coin: str
    px: str
    sz: str
    side: Side
    time: int  # epoch ms
    oid: int
    tid: int
    crossed: bool = False
    fee: str = "0"
    feeToken: str = "USDC"
    cloid: str | None = None
    closedPnl: str = "0"
    dir: str = ""
    startPosition: str = "0"
    hash: str = ""


def decode_fill(item: Any) -> UserFill:
    fill = _convert("userFills", item, UserFill)
    _check_decimals("userFills", fill, ("px", "sz", "fee", "closedPnl", "startPosition"),
                    signed=("fee", "closedPnl", "startPosition"))
    return fill


class Order(msgspec.Struct, gc=False):
    """An order as the venue describes it: the ``order`` of ``orderUpdates`` and ``orderStatus``,
    an ``openOrders``/``frontendOpenOrders`` entry. ``sz`` is the remaining size; ``origSz`` is
    absent from older records; ``tif`` only in ``frontendOpenOrders``."""

    coin: str
    side: Side
    limitPx: str
    sz: str
    oid: int
    timestamp: int = 0  # placement time, epoch ms
    origSz: str | None = None
    cloid: str | None = None
    tif: str | None = None
    reduceOnly: bool = False


def decode_order(item: Any) -> Order:
    """An ``openOrders``/``frontendOpenOrders`` entry."""
    order = _convert("openOrders", item, Order)
    _check_decimals("openOrders", order, ("limitPx", "sz", "origSz"))
    return order


class OrderUpdate(msgspec.Struct, gc=False):
    """An ``orderUpdates`` entry, or the found ``order`` of an ``orderStatus`` answer: the order,
    its status (``open``, ``filled``, ``canceled``, ``...Canceled``, ``...Rejected``, ...) and when
    it took it."""

    order: Order
    status: str
    statusTimestamp: int = 0


def decode_order_update(item: Any) -> OrderUpdate:
    update = _convert("orderUpdates", item, OrderUpdate)
    _check_decimals("orderUpdates", update.order, ("limitPx", "sz", "origSz"), prefix="order.")
    return update


def is_rejected_status(status: str) -> bool:
    """``rejected`` and the ``...Rejected`` statuses (``badAloPxRejected``, ``perpMarginRejected``, ...)."""
    return status == "rejected" or status.endswith("Rejected")
