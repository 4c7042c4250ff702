"""Market push throttling (``twin.feed``): bbo at once on a change of the touch, the other views spaced out."""

from __future__ import annotations

from decimal import Decimal as D

from botmm_nautilus.twin import FaultInjector
from botmm_nautilus.twin import Scenario
from botmm_nautilus.twin import TwinClock
from botmm_nautilus.twin import TwinConfig
from botmm_nautilus.twin.feed import MarketFeed
from botmm_nautilus.twin.state import TwinState

T0 = 1_700_000_000_000


def test_bbo_is_pushed_on_change_and_the_other_views_at_most_once_per_interval():
    scenario = Scenario(["BTC", "ETH"], start_ms=T0)
    scenario.book("BTC", 0, bids=[(100000, 1)], asks=[(100001, 2)]).book("ETH", 0, bids=[(3000, 1)], asks=[(3001, 1)])
    state = TwinState(scenario.market_data(), TwinConfig(l2_book_min_interval_ms=500, market_push_interval_ms=200),
                      TwinClock.manual(T0), None, FaultInjector())
    state.books["BTC"].apply_snapshot([(D(100000), D(1))], [(D(100001), D(2))])
    events: list[tuple] = []
    state.publisher = lambda seq, key, payload: events.append((seq, key, payload))
    feed = MarketFeed(state)

    def pushed(now_ms: int) -> list[tuple]:
        events.clear()
        feed.flush(now_ms)
        return [(key, payload.get("time")) for _, key, payload in events]

    feed.coin_changed("BTC", T0)
    assert [(key, payload) for _, key, payload in events] == [
        (("bbo", "BTC"), {"coin": "BTC", "time": T0, "bbo": [{"px": "100000.0", "sz": "1.0", "n": 1},
                                                             {"px": "100001.0", "sz": "2.0", "n": 1}]})]
    assert pushed(T0) == [(("l2Book", "BTC"), T0), (("activeAssetCtx", "BTC"), None), (("allMids",), None)]
    assert events[-1][2] == {"mids": {"BTC": "100000.5"}}  # ETH's book was never applied: no mid

    events.clear()
    feed.coin_changed("BTC", T0 + 100)  # same touch: no bbo
    assert events == []
    assert pushed(T0 + 100) == []  # everything pushed less than an interval ago
    assert pushed(T0 + 200) == [(("activeAssetCtx", "BTC"), None), (("allMids",), None)]
    assert pushed(T0 + 499) == []
    assert pushed(T0 + 500) == [(("l2Book", "BTC"), T0 + 500)]  # the change at +100 is pushed once, 500 ms after the last
    assert pushed(T0 + 5000) == []  # nothing changed since

    events.clear()
    state.books["BTC"].set_level("A", D(100001), D(0))  # the ask moves away: a new touch
    state.books["BTC"].set_level("A", D(100003), D(1))
    feed.coin_changed("BTC", T0 + 5001)
    assert [payload["bbo"][1] for _, key, payload in events] == [{"px": "100003.0", "sz": "1.0", "n": 1}]
    assert [seq for seq, _, _ in events] == [state.emit_seq]  # every event has the next sequence number
