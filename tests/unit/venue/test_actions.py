"""The venue layer's /exchange side (botmm_nautilus/venue/actions.py) and endpoints (urls.py):
the exact action dicts that get signed, cloids, per-item answers and whole-action errors."""

from __future__ import annotations

import pytest

from botmm_nautilus.errors import BotmmError
from botmm_nautilus.venue import actions
from botmm_nautilus.venue.errors import ExchangeActionError
from botmm_nautilus.venue.urls import http_url
from botmm_nautilus.venue.urls import http_url_from_ws
from botmm_nautilus.venue.urls import ws_url_from_http


def test_order_wire_key_order_and_plain_decimals():
    cloid = actions.cloid_for("O-1")
    wire = actions.order_wire(3, False, "100000.0", "0.00150", True, "Alo", cloid)
    assert list(wire) == ["a", "b", "p", "s", "r", "t", "c"]
    assert (wire["p"], wire["s"], wire["t"]) == ("100000", "0.0015", {"limit": {"tif": "Alo"}})
    assert "c" not in actions.order_wire(3, True, 1, 1, False, "Gtc", None)
    assert [actions.decimal_to_wire(v) for v in ("1.50", "1E+2", 0.1, "0.000010")] == ["1.5", "100", "0.1", "0.00001"]
    assert actions.order_action([wire]) == {"type": "order", "orders": [wire], "grouping": "na"}


def test_action_builders():
    w = actions.order_wire(0, True, "1", "1", False, "Gtc", None)
    assert actions.batch_modify_action([(12, w)]) == {"type": "batchModify", "modifies": [{"oid": 12, "order": w}]}
    assert actions.cancel_action([(0, 12)]) == {"type": "cancel", "cancels": [{"a": 0, "o": 12}]}
    assert actions.cancel_by_cloid_action([(1, "0x" + "0" * 32)]) == \
        {"type": "cancelByCloid", "cancels": [{"asset": 1, "cloid": "0x" + "0" * 32}]}
    assert actions.schedule_cancel_action(1_700_000_000_123.0) == {"type": "scheduleCancel", "time": 1_700_000_000_123}
    assert actions.schedule_cancel_action(None) == {"type": "scheduleCancel"}


def test_cloid_is_deterministic_and_a_cloid_maps_to_itself():
    c = actions.cloid_for("O-20250904-000000-001-001-1")
    assert actions.is_cloid(c) and c == actions.cloid_for("O-20250904-000000-001-001-1") and actions.cloid_for(c) == c
    assert c != actions.cloid_for("O-20250904-000000-001-001-2")
    assert not actions.is_cloid("0x" + "A" * 32) and not actions.is_cloid("0x123") and not actions.is_cloid(None)


def test_answers_and_error_texts():
    ok = {"status": "ok", "response": {"type": "cancel", "data": {"statuses": [
        "success", {"error": "Order was never placed, already canceled, or filled. asset=1"}]}}}
    statuses = actions.response_statuses(ok)
    assert statuses[0] == "success" and actions.error_text(statuses[0]) is None
    assert actions.MISSING_ORDER in actions.error_text(statuses[1])
    assert actions.response_statuses({"status": "ok", "response": {"type": "default"}}) == []
    with pytest.raises(ExchangeActionError, match="Cannot modify canceled or filled order") as info:
        actions.response_statuses({"status": "err", "response": "Cannot modify canceled or filled order"})
    assert isinstance(info.value, BotmmError)
    with pytest.raises(ExchangeActionError):
        actions.response_statuses("502 Bad Gateway")
    assert actions.is_post_only_reject("Post only order would have immediately matched, bbo was 90901@90902. asset=0")
    assert not actions.is_post_only_reject("Order has invalid price.") and not actions.is_post_only_reject(None)
    assert actions.MODIFY_REPLACE_FAILED in "Error placing new order during modify: Post only order would have ..."


def test_urls():
    assert http_url(True) == "https://api.hyperliquid-testnet.xyz" and http_url(False) == "https://api.hyperliquid.xyz"
    for base, ws in (("https://api.hyperliquid.xyz", "wss://api.hyperliquid.xyz/ws"),
                     ("http://127.0.0.1:3001", "ws://127.0.0.1:3001/ws")):
        assert ws_url_from_http(base) == ws_url_from_http(base + "/") == ws
        assert http_url_from_ws(ws) == http_url_from_ws(ws + "/") == base
    assert http_url_from_ws("ws://127.0.0.1:3001") == "http://127.0.0.1:3001"
