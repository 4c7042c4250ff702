"""The venue layer's message decoders (botmm_nautilus/venue/messages.py): real Hyperliquid messages
decode to the values they carry; a malformed or wrong-typed field is refused with an error that
names the message kind and the field, never turned into a default or a guess."""

from __future__ import annotations

import gzip
import json
import pickle
import random
from decimal import Decimal

import pytest

from botmm_nautilus.errors import BotmmError
from botmm_nautilus.venue.errors import HyperliquidError
from botmm_nautilus.venue.errors import MalformedMessage
from botmm_nautilus.venue.messages import BUY
from botmm_nautilus.venue.messages import SELL
from botmm_nautilus.venue.messages import SIDE_SPELLINGS
from botmm_nautilus.venue.messages import TickGrid
from botmm_nautilus.venue.messages import decimal_text_to_ticks
from botmm_nautilus.venue.messages import decode_fill
from botmm_nautilus.venue.messages import decode_l2book
from botmm_nautilus.venue.messages import decode_order
from botmm_nautilus.venue.messages import decode_order_update
from botmm_nautilus.venue.messages import decode_trade
from botmm_nautilus.venue.messages import is_rejected_status
from botmm_nautilus.venue.messages import l2book_coin_time

# The venue's documented examples (API docs, "Info endpoint"), verbatim apart from shortened hashes.
FILL = {"coin": "AVAX", "px": "18.435", "sz": "93.53", "side": "B", "time": 1681222254710, "startPosition": "26.86",
        "dir": "Open Long", "closedPnl": "0.0", "hash": "0xa166e3fa63c25663024b03f2e0da011a00307e4017465df020210d3d432e7cb8",
        "oid": 90542681, "crossed": False, "fee": "0.01", "feeToken": "USDC", "tid": 118906512037719}
FRONTEND_OPEN_ORDER = {"coin": "BTC", "side": "A", "limitPx": "29792.0", "sz": "5.0", "oid": 91490942,
                       "timestamp": 1681247412573, "origSz": "5.0", "orderType": "Limit", "tif": "Gtc",
                       "reduceOnly": False, "isTrigger": False, "triggerPx": "0.0", "triggerCondition": "N/A",
                       "isPositionTpsl": False, "children": [], "cloid": None}
ORDER_UPDATE = {"order": {"coin": "ETH", "side": "B", "limitPx": "1850.5", "sz": "0.0", "oid": 7, "timestamp": 1724361546000,
                          "origSz": "0.5", "cloid": "0x0000000000000000000000000000000a"},
                "status": "filled", "statusTimestamp": 1724361546645}


def _ws_fixture(shared_data):
    """The real 25 s WebSocket capture: ``<local ns> <frame>`` lines of BTC l2Book and trades."""
    with gzip.open(shared_data / "hyperliquid" / "fixtures" / "btcusd_20250126.gz", "rt") as fh:
        return [json.loads(line.split(" ", 1)[1]) for line in fh]


def _book(coin="BTC", time=1_700_000_000_000, bids=(("100.5", "1"),), asks=(("100.6", "2"),)):
    return {"coin": coin, "time": time,
            "levels": [[{"px": p, "sz": s, "n": 1} for p, s in bids], [{"px": p, "sz": s, "n": 1} for p, s in asks]]}


# ------------------------------------------------------------------------------------- numbers
@pytest.mark.parametrize("text, decimals, ticks", [
    ("110234.5", 1, 1102345), ("110234", 1, 1102340), ("0.00150", 5, 150), ("0.0015", 5, 150), ("12.3400", 2, 1234),
    ("0.0", 2, 0), ("1.", 2, 100), ("3", 0, 3), ("2.50", 0, None), ("0.000001", 5, None), ("1e-5", 5, None),
    ("-1.5", 1, None), (".5", 1, None), ("abc", 1, None), (" 1", 1, None), ("1.2.3", 2, None), ("", 2, None),
    ("\u0663", 0, None), ("\u00b2", 0, None), (1.5, 1, None), (None, 1, None),
])
def test_decimal_text_to_ticks_is_exact_or_refuses(text, decimals, ticks):
    assert decimal_text_to_ticks(text, decimals) == ticks


def test_decimal_text_to_ticks_equals_decimal_arithmetic():
    rng = random.Random(11)
    for _ in range(2000):
        decimals = rng.randrange(0, 7)
        value = Decimal(rng.randrange(0, 10**12)).scaleb(-rng.randrange(0, decimals + 1))
        text = format(value, "f") + "0" * rng.randrange(0, 3) * ("." in format(value, "f"))
        assert decimal_text_to_ticks(text, decimals) == int(value.scaleb(decimals)), text


def test_tick_grid_memo_is_exact_past_its_limit_and_refuses_non_positive():
    grid = TickGrid(2, 3)
    for i in range(1, 20_000):  # more distinct texts than the memo holds: it is cleared, results stay exact
        assert grid.price(f"{i}.5", "l2Book", "px") == i * 100 + 50
    assert grid.size("0.125", "trades", "sz") == 125
    for bad in ("0", "0.000", "-1"):
        with pytest.raises(MalformedMessage, match=r"^trades sz: .* is not a positive plain decimal"):
            grid.size(bad, "trades", "sz")
    with pytest.raises(MalformedMessage, match="is a JSON number, expected a decimal string"):
        grid.price(100.5, "trades", "px")


def test_side_meaning():
    assert (BUY, SELL) == ("B", "A")
    assert SIDE_SPELLINGS == {"b": True, "buy": True, "a": False, "sell": False}


# ------------------------------------------------------------------------------------- l2Book
def test_real_l2book_messages_decode_to_exact_ticks(shared_data):
    frames = [f for f in _ws_fixture(shared_data) if f["channel"] == "l2Book"]
    assert len(frames) == 46
    grid = TickGrid(1, 5)  # BTC: szDecimals 5, 1 price decimal
    for frame in frames:
        data = frame["data"]
        book = decode_l2book(data, grid)
        assert (book.coin, book.time) == ("BTC", data["time"]) == l2book_coin_time(data)
        for side, decoded in zip(data["levels"], (book.bids, book.asks)):
            assert decoded == [(int(Decimal(lv["px"]) * 10), int(Decimal(lv["sz"]) * 10**5)) for lv in side]
        assert [t for t, _ in book.bids] == sorted((t for t, _ in book.bids), reverse=True)
        assert book.bids[0][0] < book.asks[0][0]
    rest = json.loads((shared_data / "hyperliquid" / "fixtures" / "http_l2_book_btc.json").read_text())
    book = decode_l2book(rest, TickGrid(1, 5))  # the /info answer has the same shape (here without "n")
    assert book.bids[0] == (1104270, 411882) and book.time == 1761786491067


@pytest.mark.parametrize("data, field, reason", [
    ("garbage", "", "the message is a JSON string, expected an object"),
    ({"time": 1, "levels": [[], []]}, "coin", "None is not a coin name"),
    (dict(_book(), time="1700000000000"), "time", "is not epoch milliseconds"),
    (dict(_book(), time=True), "time", "is not epoch milliseconds"),
    (dict(_book(), time=1.7e12), "time", "is not epoch milliseconds"),
    ({"coin": "BTC", "time": 1}, "levels", "None is not [[bids], [asks]]"),
    (dict(_book(), levels=[[]]), "levels", "is not [[bids], [asks]]"),
    (dict(_book(), levels=[[], {"px": "1"}]), "levels", "is not [[bids], [asks]]"),
    (dict(_book(), levels=[[], ["100.6"]]), "levels[1][0]", "'100.6' is not {px, sz, n}"),
    (dict(_book(), levels=[[{"sz": "1"}], []]), "levels[0][0]", "no 'px'"),
    (_book(bids=(("100.5", "1"), (100.4, "1"))), "levels[0][1].px", "100.4 is a JSON number, expected a decimal string"),
    (_book(bids=(("100.5", "1"), (["100.4"], "1"))), "levels[0][1].px", "is a JSON array, expected a decimal string"),
    (_book(bids=(("abc", "1"),)), "levels[0][0].px", "'abc' is not a positive plain decimal with at most 1 decimals"),
    (_book(asks=(("100.65", "1"),)), "levels[1][0].px", "'100.65' is not a positive plain decimal with at most 1 decimals"),
    (_book(asks=(("100.6", "1e-3"),)), "levels[1][0].sz", "'1e-3' is not a positive plain decimal with at most 3 decimals"),
    (_book(asks=(("100.6", "0.000"),)), "levels[1][0].sz", "'0.000' is not a positive plain decimal"),
    (_book(asks=(("100.6", None),)), "levels[1][0].sz", "None is a JSON null, expected a decimal string"),
])
def test_malformed_l2book_names_the_field(data, field, reason):
    with pytest.raises(MalformedMessage) as info:
        decode_l2book(data, TickGrid(1, 3))
    err = info.value
    assert (err.kind, err.field) == ("l2Book", field)
    assert reason in err.reason and str(err).startswith(f"l2Book {field}:" if field else "l2Book:")


# ------------------------------------------------------------------------------------- trades
def test_real_trades_decode(shared_data):
    items = [t for f in _ws_fixture(shared_data) if f["channel"] == "trades" for t in f["data"]]
    items += json.loads((shared_data / "hyperliquid" / "fixtures" / "http_recent_trades_btc.json").read_text())
    assert len(items) == 67
    grid = TickGrid(1, 5)
    for item in items:
        t = decode_trade(item)
        assert (t.coin, t.side, t.px, t.sz, t.time, t.tid, t.users) == \
            (item["coin"], item["side"], item["px"], item["sz"], item["time"], item["tid"], item["users"])
        assert grid.price(t.px, "trades", "px") == int(Decimal(t.px) * 10)
        assert grid.size(t.sz, "trades", "sz") == int(Decimal(t.sz) * 10**5)
    assert {decode_trade(i).side for i in items} == {"A", "B"}


TRADE = {"coin": "BTC", "side": "B", "px": "104310.5", "sz": "0.02", "time": 1769916001000, "tid": 300002,
         "hash": "0x" + "0" * 64, "users": ["0xb", "0xs"]}


@pytest.mark.parametrize("change, field, reason", [
    ({"side": "X"}, "side", "'X' is not B (bid, buy) or A (ask, sell)"),
    ({"side": "b"}, "side", "'b' is not B"),
    ({"side": "buy"}, "side", "'buy' is not B"),
    ({"px": 104310.5}, "px", "expected str, got float"),
    ({"sz": None}, "sz", "expected str, got null"),
    ({"tid": "300002"}, "tid", "expected int, got str"),
    ({"time": 1769916001000.0}, "time", "expected int, got float"),
    ({"time": True}, "time", "expected int, got bool"),
    ({"coin": 7}, "coin", "expected str, got int"),
    ({"users": "0xb"}, "users", "expected array, got str"),
    ({"tid": None, "drop": "tid"}, "tid", "missing"),
])
def test_wrong_typed_trade_is_refused(change, field, reason):
    item = {k: v for k, v in {**TRADE, **change}.items() if k != change.get("drop") and k != "drop"}
    with pytest.raises(MalformedMessage) as info:
        decode_trade(item)
    assert (info.value.kind, info.value.field) == ("trades", field) and reason in info.value.reason


def test_trade_that_is_not_an_object():
    with pytest.raises(MalformedMessage, match="^trades: expected object, got array"):
        decode_trade([TRADE])


# ------------------------------------------------------------------------------------- fills
def test_documented_fill_decodes():
    f = decode_fill(FILL)
    assert (f.coin, f.px, f.sz, f.side, f.time, f.oid, f.tid, f.crossed, f.fee, f.feeToken) == \
        ("AVAX", "18.435", "93.53", "B", 1681222254710, 90542681, 118906512037719, False, "0.01", "USDC")
    assert (f.closedPnl, f.dir, f.startPosition, f.cloid) == ("0.0", "Open Long", "26.86", None)
    rebate = decode_fill({**FILL, "fee": "-0.0021", "closedPnl": "-3.5", "startPosition": "-1", "crossed": True,
                          "cloid": "0x0000000000000000000000000000000a"})
    assert (rebate.fee, rebate.crossed, rebate.cloid) == ("-0.0021", True, "0x0000000000000000000000000000000a")


@pytest.mark.parametrize("change, field, reason", [
    ({"oid": "90542681"}, "oid", "expected int, got str"),
    ({"crossed": "false"}, "crossed", "expected bool, got str"),
    ({"side": "S"}, "side", "'S' is not B"),
    ({"px": "1e3"}, "px", "'1e3' is not a plain decimal"),
    ({"sz": "-93.53"}, "sz", "'-93.53' is not a plain decimal"),
    ({"fee": "abc"}, "fee", "'abc' is not a plain decimal"),
    ({"fee": 0.01}, "fee", "expected str, got float"),
    ({"cloid": 10}, "cloid", "expected str | null, got int"),
])
def test_wrong_typed_fill_is_refused(change, field, reason):
    with pytest.raises(MalformedMessage) as info:
        decode_fill({**FILL, **change})
    assert (info.value.kind, info.value.field) == ("userFills", field) and reason in info.value.reason


# ------------------------------------------------------------------------------------- orders
def test_documented_orders_and_updates_decode():
    o = decode_order(FRONTEND_OPEN_ORDER)
    assert (o.coin, o.side, o.limitPx, o.sz, o.oid, o.timestamp, o.origSz, o.tif, o.reduceOnly, o.cloid) == \
        ("BTC", "A", "29792.0", "5.0", 91490942, 1681247412573, "5.0", "Gtc", False, None)
    plain = decode_order({"coin": "BTC", "side": "A", "limitPx": "29792.0", "sz": "0.5", "oid": 91490942,
                          "timestamp": 1681247412573, "origSz": "1.0", "cloid": "0x00000000000000000000000000000007",
                          "reduceOnly": True})  # openOrders: no tif
    assert (plain.tif, plain.reduceOnly, plain.cloid) == (None, True, "0x00000000000000000000000000000007")
    assert decode_order({k: v for k, v in FRONTEND_OPEN_ORDER.items() if k != "origSz"}).origSz is None  # older records
    u = decode_order_update(ORDER_UPDATE)
    assert (u.status, u.statusTimestamp, u.order.oid, u.order.sz, u.order.origSz) == ("filled", 1724361546645, 7, "0.0", "0.5")
    found = {"status": "order", "order": {"order": FRONTEND_OPEN_ORDER, "status": "open", "statusTimestamp": 1724361546645}}
    assert decode_order_update(found["order"]).order.oid == 91490942  # the found order of an orderStatus answer


@pytest.mark.parametrize("item, field, reason", [
    ({**ORDER_UPDATE, "order": {**ORDER_UPDATE["order"], "oid": "7"}}, "order.oid", "expected int, got str"),
    ({**ORDER_UPDATE, "order": {**ORDER_UPDATE["order"], "limitPx": 1850.5}}, "order.limitPx", "expected str, got float"),
    ({**ORDER_UPDATE, "order": {**ORDER_UPDATE["order"], "origSz": "0.5.0"}}, "order.origSz", "is not a plain decimal"),
    ({**ORDER_UPDATE, "order": {**ORDER_UPDATE["order"], "side": "buy"}}, "order.side", "'buy' is not B"),
    ({"order": ORDER_UPDATE["order"], "statusTimestamp": 1}, "status", "missing"),
    ({**ORDER_UPDATE, "status": None}, "status", "expected str, got null"),
    ({"status": "open"}, "order", "missing"),
])
def test_wrong_typed_order_update_is_refused(item, field, reason):
    with pytest.raises(MalformedMessage) as info:
        decode_order_update(item)
    assert (info.value.kind, info.value.field) == ("orderUpdates", field) and reason in info.value.reason


def test_wrong_typed_open_order_is_refused():
    with pytest.raises(MalformedMessage, match=r"^openOrders reduceOnly: expected bool, got null"):
        decode_order({**FRONTEND_OPEN_ORDER, "reduceOnly": None})


def test_rejected_statuses():
    assert is_rejected_status("rejected") and is_rejected_status("badAloPxRejected") and is_rejected_status("perpMarginRejected")
    assert not any(is_rejected_status(s) for s in ("open", "filled", "canceled", "marginCanceled", "scheduledCancel"))


def test_malformed_message_is_a_user_error_that_survives_pickling():
    err = MalformedMessage("trades", "px", "expected str, got float")
    assert isinstance(err, HyperliquidError) and isinstance(err, BotmmError) and isinstance(err, ValueError)
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.kind, copy.field, copy.reason, str(copy)) == ("trades", "px", "expected str, got float",
                                                              "trades px: expected str, got float")
