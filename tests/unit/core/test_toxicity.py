"""Toxicity: markouts of our fills on scripted mid paths, bands, one-sided pauses, causality, bounds."""

from __future__ import annotations

import math

import pytest

from botmm_nautilus.core.adjust import OwnFill
from botmm_nautilus.core.adjust import QuoteContext
from botmm_nautilus.core.params import ToxicityParams
from botmm_nautilus.core.toxicity import Toxicity

S = 1_000_000_000


def ctx(ts_ns: int, mid: float = 100.0) -> QuoteContext:
    return QuoteContext(
        ts_ns=ts_ns, mid=mid, best_bid=mid - 0.01, best_ask=mid + 0.01, sigma_price=0.01, position_base=0.0,
        max_position_usd=1000.0, equity_usd=1000.0, capital_usd=1000.0, order_size_usd=100.0, tick_size=0.01,
    )


def buy(ts_s: float, mid: float) -> OwnFill:
    return OwnFill(ts_ns=int(ts_s * S), is_buy=True, price=mid - 0.01, qty=1.0, mid=mid)


def sell(ts_s: float, mid: float) -> OwnFill:
    return OwnFill(ts_ns=int(ts_s * S), is_buy=False, price=mid + 0.01, qty=1.0, mid=mid)


def test_markouts_on_a_scripted_path_hand_computed():
    # no mid before the fill: σ is the floor 1 bp/√s x mid 100 = 0.01 price units per √s
    tox = Toxicity(ToxicityParams(horizons_s=(1.0, 5.0, 30.0), ema_alpha=0.2, initial_score=0.3, decay_half_life_s=0,
                                  min_sigma_bps_per_sqrt_s=1.0, min_markouts=1))
    tox.on_fill(buy(10.0, 100.0))
    tox.on_mid(10 * S, 99.0)  # at the fill's own timestamp: not after it, never used
    tox.on_mid(int(10.5 * S), 99.0)  # before the 1 s horizon
    assert tox.state()["bid"]["markouts"] == 0
    tox.on_mid(11 * S, 99.995)  # 1 s horizon: adverse 0.005 / (0.01·√1) = 0.5; EMA 0.3 + 0.2·(0.5 − 0.3) = 0.34
    assert tox.score("bid", 11 * S) == pytest.approx(0.34)
    tox.on_mid(16 * S, 99.98)  # 5 s horizon reached at 16 s (6 s elapsed): 0.02 / (0.01·√6) = 0.81650
    s5 = 0.02 / (0.01 * math.sqrt(6.0))
    assert tox.score("bid", 16 * S) == pytest.approx(0.34 + 0.2 * (s5 - 0.34))
    tox.on_mid(40 * S, 100.05)  # 30 s horizon: the mid rose after our buy: not adverse, score 0
    expected = 0.34 + 0.2 * (s5 - 0.34)
    expected += 0.2 * (0.0 - expected)
    assert tox.score("bid", 40 * S) == pytest.approx(expected)
    assert tox.score("ask", 40 * S) == 0.3  # no sells
    # markouts in bps of the fill mid, + = in our favour: (99.995 − 100)/100·1e4 = −0.5, −2, +5
    m = tox.markout_bps()
    assert (m["1s"]["bid"], m["5s"]["bid"], m["30s"]["bid"]) == (pytest.approx(-0.5), pytest.approx(-2.0), pytest.approx(5.0))
    assert m["1s"]["ask"] is None
    st = tox.state()
    assert st["bid"]["markouts"] == 3 and st["pending"] == 0


def test_a_sell_followed_by_a_rising_mid_is_adverse():
    tox = Toxicity(ToxicityParams(horizons_s=(1.0,), ema_alpha=1.0, decay_half_life_s=0, min_sigma_bps_per_sqrt_s=1.0))
    tox.on_fill(sell(0.0, 100.0))
    tox.on_mid(1 * S, 100.004)  # adverse 0.004 / 0.01 = 0.4 (alpha 1: the score is the last markout)
    assert tox.score("ask", 1 * S) == pytest.approx(0.4)
    assert tox.score("bid", 1 * S) == 0.3


def test_sigma_is_the_own_ewma_at_the_fill_time_and_zero_sigma_uses_the_floor():
    p = ToxicityParams(horizons_s=(1.0,), ema_alpha=1.0, decay_half_life_s=0, min_sigma_bps_per_sqrt_s=0.2,
                       vol_sample_interval_s=1.0)
    tox = Toxicity(p)
    tox.on_mid(0, 100.0)
    tox.on_mid(1 * S, 100.1)  # one return r = ln(1.001) over 1 s: σ_frac = |r|/√1, σ_price = |r|·100.1
    sigma = math.log(1.001) * 100.1
    tox.on_fill(buy(2.0, 100.1))
    tox.on_mid(3 * S, 100.0)  # adverse 0.1
    assert tox.score("bid", 3 * S) == pytest.approx(0.1 / sigma)  # 0.99950, far from the floor's 0.1/0.002 -> 1
    assert tox.score("bid", 3 * S) < 1.0

    flat = Toxicity(p)
    for t in range(5):
        flat.on_mid(t * S, 100.0)  # σ = 0 exactly
    flat.on_fill(buy(5.0, 100.0))
    flat.on_mid(6 * S, 99.999)  # 0.001 / (0.2e-4·100 = 0.002) = 0.5
    assert flat.score("bid", 6 * S) == pytest.approx(0.5)


def test_candle_mode_horizons_on_the_same_bar_close_count_once():
    tox = Toxicity(ToxicityParams(horizons_s=(1.0, 5.0, 600.0), ema_alpha=0.5, initial_score=0.3, decay_half_life_s=0,
                                  min_sigma_bps_per_sqrt_s=1.0))
    tox.on_mid(0, 100.0)
    tox.on_fill(buy(100.0, 100.0))
    tox.on_mid(300 * S, 100.0)  # bar close: 1 s and 5 s both reached here, one observation of score 0
    assert tox.state()["bid"]["markouts"] == 1 and tox.score("bid", 300 * S) == pytest.approx(0.15)
    assert tox.state()["markout_counts"]["1s"]["bid"] == 1 and tox.state()["markout_counts"]["5s"]["bid"] == 1
    tox.on_mid(600 * S, 99.5)  # 600 s horizon not yet (due at 700 s)
    assert tox.state()["bid"]["markouts"] == 1
    tox.on_mid(900 * S, 99.0)  # due at 700, first close at or after it: 900 s, elapsed 800 s
    # σ = floor 0.01/√s (fill at 100 s: one mid seen, no return yet): 1.0 / (0.01·√800) = 3.5 -> clamp 1
    assert tox.score("bid", 900 * S) == pytest.approx(0.15 + 0.5 * (1.0 - 0.15))


def test_band_multipliers():
    tox = Toxicity(ToxicityParams())
    assert [tox.band_mult(x) for x in (0.61, 0.6, 0.41, 0.4, 0.3, 0.2, 0.19, 0.0)] == [1.5, 1.25, 1.25, 1.0, 1.0, 1.0, 0.9, 0.9]


def test_adjust_applies_the_band_per_side_after_min_markouts():
    tox = Toxicity(ToxicityParams(horizons_s=(1.0,), ema_alpha=1.0, decay_half_life_s=0, min_sigma_bps_per_sqrt_s=1.0,
                                  min_markouts=2, pause_threshold=1.0))
    tox.on_fill(buy(0.0, 100.0))
    tox.on_mid(1 * S, 99.995)  # bid score 0.5, but 1 markout < 2
    assert tox.adjust(ctx(1 * S)).neutral
    tox.on_fill(buy(1.0, 99.995))
    tox.on_mid(2 * S, 99.988)  # 0.007/(0.0099995) = 0.70004 -> band > 0.6: x1.5
    a = tox.adjust(ctx(2 * S))
    assert a.bid_spread_mult == 1.5 and a.ask_spread_mult == 1.0 and not a.pull_bid and "bid toxicity 0.70 x1.5" in a.reason


def test_pause_starts_and_ends_at_the_right_timestamps_and_is_logged():
    tox = Toxicity(ToxicityParams(horizons_s=(1.0,), ema_alpha=1.0, decay_half_life_s=0, min_sigma_bps_per_sqrt_s=1.0,
                                  min_markouts=1, pause_threshold=0.8, pause_s=30.0))
    tox.on_fill(buy(0.0, 100.0))
    tox.on_mid(int(0.5 * S), 100.0)
    assert not tox.adjust(ctx(int(0.5 * S))).pull_bid
    tox.on_mid(1 * S, 99.99)  # score 1 > 0.8: bid paused from 1 s to 31 s
    assert tox.changes[0].ts_ns == 1 * S and "bid paused 30 s: toxicity 1.000 > 0.8" in tox.changes[0].text
    a = tox.adjust(ctx(31 * S - 1))
    assert a.pull_bid and not a.pull_ask
    a = tox.adjust(ctx(31 * S))
    assert not a.pull_bid and a.bid_spread_mult == 1.5  # back, still in the top band
    assert [c.ts_ns for c in tox.changes] == [1 * S, 31 * S] and "bid toxicity pause ended" in tox.changes[1].text
    assert tox.state()["bid"]["pauses"] == 1 and not tox.state()["bid"]["paused"]


def test_score_decays_toward_the_initial_score_without_new_markouts():
    tox = Toxicity(ToxicityParams(horizons_s=(1.0,), ema_alpha=1.0, decay_half_life_s=60.0, initial_score=0.3,
                                  min_sigma_bps_per_sqrt_s=1.0))
    tox.on_fill(buy(0.0, 100.0))
    tox.on_mid(1 * S, 99.991)  # score 0.9
    assert tox.score("bid", 61 * S) == pytest.approx(0.3 + 0.6 * 0.5)  # one half-life: 0.6
    assert tox.score("bid", 121 * S) == pytest.approx(0.3 + 0.6 * 0.25)


def _replay(mids_after: list[tuple[float, float]]) -> list:
    """Fills and mids identical up to 20 s, then ``mids_after``; the adjustments at each decision."""
    tox = Toxicity(ToxicityParams(horizons_s=(1.0, 5.0, 30.0), ema_alpha=0.6, min_markouts=1, pause_s=10.0))
    events = [(0.0, "mid", 100.0), (1.0, "fill", buy(1.0, 100.0)), (1.5, "mid", 100.01), (2.0, "fill", sell(2.0, 100.01)),
              (3.0, "mid", 99.99), (7.0, "mid", 99.97), (12.0, "fill", buy(12.0, 99.97)), (14.0, "mid", 99.96)]
    events += [(t, "mid", m) for t, m in mids_after]
    out = []
    decision = 0.0
    for t, kind, x in events:
        while decision < t:  # a decision every 0.5 s, made before the events stamped after it
            out.append((decision, tox.adjust(ctx(int(decision * S)))))
            decision += 0.5
        if kind == "mid":
            tox.on_mid(int(t * S), x)
        else:
            tox.on_fill(x)
    return out


def test_future_mids_do_not_change_past_adjustments():
    calm = _replay([(25.0, 99.97), (50.0, 99.97)])
    crash = _replay([(20.5, 99.0), (25.0, 98.0), (50.0, 97.0)])  # very adverse for the buy at 12 s, from 20.5 s
    upto = [a for t, a in calm if t <= 20.0]
    assert upto == [a for t, a in crash if t <= 20.0] and len(upto) == 41
    first_diff = next(t for (t, a), (_, b) in zip(calm, crash) if a != b)
    assert first_diff == 20.5  # the crash acts at the first decision after its first mid, not before
    assert [t for t, a in crash if a.pull_bid and t > 20.0][0] == 20.5


def test_pending_fills_are_bounded():
    tox = Toxicity(ToxicityParams(max_pending=3))
    tox.on_mid(0, 100.0)
    for i in range(5):
        tox.on_fill(buy(i + 0.1, 100.0))
    assert tox.state()["pending"] == 3 and tox.state()["dropped"] == 2
    tox.on_mid(100 * S, 100.0)  # every remaining horizon matured: the pending queue empties
    assert tox.state()["pending"] == 0 and tox.state()["bid"]["markouts"] == 3


def test_params_check_bands():
    with pytest.raises(ValueError, match="mid_score"):
        ToxicityParams(low_score=0.5, mid_score=0.4)
    with pytest.raises(ValueError, match="horizons_s"):
        ToxicityParams(horizons_s=())
    with pytest.raises(ValueError, match="horizons_s"):
        ToxicityParams(horizons_s=(0.0,))


def test_parts_of_one_fill_at_the_same_timestamp_count_once():
    tox = Toxicity(ToxicityParams(horizons_s=(1.0,), ema_alpha=0.5, decay_half_life_s=0, min_sigma_bps_per_sqrt_s=1.0))
    for _ in range(8):  # one trade filling our bid in 8 OrderFilled events
        tox.on_fill(buy(0.0, 100.0))
    tox.on_fill(sell(0.0, 100.0))  # the other side at the same time is its own fill
    tox.on_mid(1 * S, 99.995)  # bid: one observation of 0.5 -> 0.3 + 0.5·0.2 = 0.4; ask: score 0 -> 0.15
    assert tox.state()["bid"]["markouts"] == 1 and tox.score("bid", S) == pytest.approx(0.4)
    assert tox.state()["ask"]["markouts"] == 1 and tox.score("ask", S) == pytest.approx(0.15)
