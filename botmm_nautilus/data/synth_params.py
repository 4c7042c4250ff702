"""Per-coin parameters of the synthetic market (``synth.py``), measured on real Hyperliquid data.

Re-measure (prints the ``SYNTH_PARAMS`` block below, ready to paste, and a cross-check of the
XRP/HYPE derivation on BTC and ETH)::

    python -m botmm_nautilus.data.synth_params --measure ../shared/data

Sources (folders of ../shared/data, see its MANIFEST.md):

* Book and trade parameters of BTC, ETH, SOL: ``hyperliquid/ws_2025-09-04`` (35 minutes of
  20-level l2Book snapshots and trades, 2025-09-04 19:46-20:21 UTC), measured by
  ``market_stats.stats_from_hl_ws_recording`` plus the size tables of ``_size_tables``. Times are
  exchange times; the recent-trades snapshot sent on subscribe is dropped.
* XRP and HYPE are not in the recording. Their book and trade parameters are SOL's, rescaled:
  spread, level spacing and update probabilities in ticks are SOL's as they are (all three books
  sit at one tick spread with a nearly contiguous ladder); USD depth per level scales with the
  ratio V of the coins' mean 5-minute USD volumes (candles, same window) times the ratio of their
  ticks in bps (USD depth per bps of book tracks volume: BTC/SOL 4.2x vs V = 4.9x); the
  taker-order rate scales with sqrt(V) (V itself overstates BTC's rate 4x, its prints are small);
  trade sizes keep SOL's USD distribution; the 1 s vol is SOL's times the ratio of 5-minute vols
  (candles). ``--measure`` applies the same derivation to BTC and ETH and prints the error, the
  only check available.
* Bars: ``hyperliquid/candles/{COIN}_USDC_USDC-5m-futures.feather`` (2025-03-14..2025-07-26):
  5-minute close-to-close vol, day-to-day vol clustering (std and lag-1 autocorrelation of the
  log of daily realised vol), log-volume mean and std.
* Funding: ``{COIN}_USDC_USDC-1h-funding_rate.feather`` (rate in ``open``), the last 365 days of
  each file (HYPE: its whole history from 2024-12): mean, std, lag-1 autocorrelation.
* Start price: the recording's mean mid (BTC, ETH, SOL), the last 5-minute close (XRP, HYPE).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from dataclasses import fields
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from botmm_nautilus.data import market_stats
from botmm_nautilus.errors import ConfigError
from botmm_nautilus.venue import rules as hl_rules

# Probabilities at which size distributions are tabulated (inverse CDF, linear in log size).
SIZE_QUANTILE_PROBS: tuple[float, ...] = (0.0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 1.0)
NEAR_LEVELS = range(1, 5)  # level indices sharing the "near" size shape; 5..19 share the "deep" one

RECORDED_COINS = ("BTC", "ETH", "SOL")
DERIVED_FROM = "SOL"
COINS = ("BTC", "ETH", "SOL", "XRP", "HYPE")


@dataclass(frozen=True)
class CoinSynthParams:
    """Everything ``synth.py`` needs for one coin. Units are in the names; sizes in base units."""

    coin: str
    sz_decimals: int
    price_usd: float  # start price
    # book messages
    book_interval_s: float  # mean time between l2Book messages
    book_interval_cv: float  # their coefficient of variation
    spread_ticks_probs: tuple[float, ...]  # P(touch spread = 1..9 ticks, 10 = ten or more)
    level_size_mean_base: tuple[float, ...]  # mean size of level 0..19 (pooled sides)
    touch_size_log_q: tuple[float, ...]  # log(size / level mean) quantiles, level 0
    near_size_log_q: tuple[float, ...]  # same, levels 1..4
    deep_size_log_q: tuple[float, ...]  # same, levels 5..19
    level_gap_ticks: tuple[float, ...]  # mean distance in ticks from level i to level i+1 (19)
    level_update_prob: tuple[float, ...]  # P(level i changes size between two messages)
    mid_move_share: float  # share of messages in which the mid moves
    vol_1s_bps: float  # std of 1 s mid log returns
    # trades
    taker_orders_per_s: float  # prints sharing one exchange time = one taker order
    prints_single_share: float  # share of taker orders with a single print
    prints_per_order_mean: float
    trade_size_log_q: tuple[float, ...]  # log(print size, base units) quantiles
    # bars
    vol_5m_bps: float
    vol_daily_log_std: float  # std of log daily realised vol (vol clustering)
    vol_daily_log_ac1: float  # its day-to-day autocorrelation
    volume_5m_log_mean: float  # mean and std of log 5-minute volume (base units)
    volume_5m_log_std: float
    # funding (hourly rate, positive = longs pay shorts)
    funding_mean: float
    funding_std: float
    funding_phi: float  # AR(1) coefficient hour to hour

    @property
    def trade_rate_per_s(self) -> float:
        """Prints per second."""
        return self.taker_orders_per_s * self.prints_per_order_mean

    @property
    def tick(self) -> float:
        """Hyperliquid tick at the start price."""
        return hl_rules.tick_size(self.price_usd, self.sz_decimals)


# ------------------------------------------------------------------------------------------
# Measured constants: generated by `python -m botmm_nautilus.data.synth_params --measure
# ../shared/data` (see the module docstring for the sources and the XRP/HYPE derivation;
# tests/integration/data/test_synth_stats.py checks that re-measuring reproduces them). The derivation used for
# XRP and HYPE, applied to BTC and ETH (derived from SOL vs measured):
#   BTC: 20-level depth per side $5.92M vs $5.34M (1.11x); taker orders/s 1.93 vs 1.08 (1.79x);
#        1 s vol 0.542 vs 0.426 bps (1.27x); median print $997 vs $330
#   ETH: 20-level depth per side $10.2M vs $12.7M (0.80x); taker orders/s 1.43 vs 1.26 (1.14x);
#        1 s vol 0.946 vs 0.939 bps (1.01x); median print $997 vs $814
# ------------------------------------------------------------------------------------------
# BEGIN MEASURED PARAMS
SYNTH_PARAMS: dict[str, CoinSynthParams] = {
    'BTC': CoinSynthParams(
        coin='BTC',
        sz_decimals=5,
        price_usd=110020.0,
        book_interval_s=0.5519,
        book_interval_cv=0.5315,
        spread_ticks_probs=(0.9464, 0.01638, 0.006869, 0.006341, 0.003699, 0.004756, 0.003435, 0.001321, 0.001321, 0.009511),
        level_size_mean_base=(10.26, 2.738, 1.765, 1.63, 1.561, 1.574, 1.541, 1.763, 1.725, 1.829, 1.921, 1.8, 1.992, 2.017, 2.161, 2.248, 2.321, 2.444, 2.549, 2.704),
        touch_size_log_q=(-13.84, -11.44, -10.44, -5.45, -3.67, -2.287, -1.41, -0.6189, -0.1431, 0.2743, 0.6436, 1.01, 1.245, 1.57, 2.213, 2.387),
        near_size_log_q=(-11.39, -10.12, -10.12, -9.683, -9.172, -3.853, -2.757, -1.527, -0.7761, -0.2243, 0.3084, 0.8676, 1.361, 2.501, 3.382, 4.157),
        deep_size_log_q=(-10.11, -9.817, -9.568, -6.302, -3.052, -1.711, -0.9729, -0.5127, -0.1469, 0.178, 0.4721, 0.8591, 1.183, 1.782, 2.863, 4.313),
        level_gap_ticks=(1.175, 1.095, 1.063, 1.034, 1.026, 1.014, 1.009, 1.007, 1.007, 1.004, 1.005, 1.005, 1.003, 1.003, 1.002, 1.003, 1.003, 1.006, 1.004),
        level_update_prob=(0.8366, 0.5377, 0.5814, 0.5967, 0.5955, 0.588, 0.6036, 0.5947, 0.6018, 0.6127, 0.5746, 0.5815, 0.5437, 0.5265, 0.5291, 0.5364, 0.5314, 0.5123, 0.5027, 0.4589),
        mid_move_share=0.1834,
        vol_1s_bps=0.4264,
        taker_orders_per_s=1.076,
        prints_single_share=0.6658,
        prints_per_order_mean=2.957,
        trade_size_log_q=(-11.51, -9.316, -9.115, -9.115, -9.115, -9.115, -8.294, -5.809, -4.848, -3.951, -2.908, -1.612, -0.791, 0.3086, 1.253, 1.664),
        vol_5m_bps=12.41,
        vol_daily_log_std=0.3812,
        vol_daily_log_ac1=0.4774,
        volume_5m_log_mean=4.053,
        volume_5m_log_std=1.195,
        funding_mean=1.697e-05,
        funding_std=2.048e-05,
        funding_phi=0.8495,
    ),
    'ETH': CoinSynthParams(
        coin='ETH',
        sz_decimals=4,
        price_usd=4286.6,
        book_interval_s=0.5519,
        book_interval_cv=0.5315,
        spread_ticks_probs=(0.9324, 0.0251, 0.01453, 0.007926, 0.006869, 0.003699, 0.003699, 0.0007926, 0.001321, 0.003699),
        level_size_mean_base=(170.9, 68.05, 67.55, 79.79, 95.66, 105.5, 123.9, 139.7, 156.0, 171.0, 179.4, 181.2, 181.5, 172.8, 179.1, 177.4, 185.0, 171.0, 172.6, 182.0),
        touch_size_log_q=(-11.87, -10.52, -7.559, -5.888, -3.327, -2.244, -1.307, -0.71, -0.2752, 0.163, 0.5625, 0.9983, 1.308, 1.732, 2.151, 2.781),
        near_size_log_q=(-10.44, -9.595, -6.371, -4.979, -2.894, -2.014, -1.376, -0.7699, -0.2662, 0.1202, 0.4833, 0.9427, 1.277, 1.951, 2.614, 4.077),
        deep_size_log_q=(-10.89, -5.785, -2.924, -2.274, -1.337, -0.8918, -0.5096, -0.1972, 0.06115, 0.256, 0.4639, 0.7419, 0.9467, 1.332, 1.876, 3.272),
        level_gap_ticks=(1.396, 1.192, 1.115, 1.056, 1.029, 1.026, 1.016, 1.014, 1.007, 1.005, 1.004, 1.004, 1.006, 1.003, 1.002, 1.004, 1.002, 1.004, 1.003),
        level_update_prob=(0.863, 0.7477, 0.7754, 0.803, 0.8123, 0.8155, 0.79, 0.7976, 0.7518, 0.7364, 0.6955, 0.6961, 0.6291, 0.5909, 0.5472, 0.5113, 0.4767, 0.4568, 0.4417, 0.4353),
        mid_move_share=0.2614,
        vol_1s_bps=0.9385,
        taker_orders_per_s=1.257,
        prints_single_share=0.5944,
        prints_per_order_mean=2.61,
        trade_size_log_q=(-9.21, -5.952, -5.655, -5.339, -4.2, -2.917, -2.056, -1.661, -1.406, -0.2002, 0.845, 1.609, 2.303, 3.821, 5.129, 5.875),
        vol_5m_bps=21.65,
        vol_daily_log_std=0.3587,
        vol_daily_log_ac1=0.5618,
        volume_5m_log_mean=7.088,
        volume_5m_log_std=1.311,
        funding_mean=1.393e-05,
        funding_std=2.215e-05,
        funding_phi=0.8921,
    ),
    'SOL': CoinSynthParams(
        coin='SOL',
        sz_decimals=2,
        price_usd=202.63,
        book_interval_s=0.5519,
        book_interval_cv=0.5315,
        spread_ticks_probs=(0.9569, 0.01612, 0.0103, 0.006341, 0.00502, 0.001849, 0.001849, 0.001057, 0.0, 0.0005284),
        level_size_mean_base=(1425.0, 755.9, 935.6, 1190.0, 1614.0, 1809.0, 1952.0, 2043.0, 2131.0, 2164.0, 2098.0, 2057.0, 1975.0, 1961.0, 1960.0, 1856.0, 1789.0, 1699.0, 1665.0, 1631.0),
        touch_size_log_q=(-11.87, -9.67, -7.955, -6.702, -3.789, -2.143, -1.411, -0.816, -0.2778, 0.1098, 0.499, 0.9419, 1.299, 1.965, 2.569, 2.993),
        near_size_log_q=(-11.23, -7.064, -4.301, -3.455, -2.079, -1.243, -0.7955, -0.4242, -0.1421, 0.1286, 0.411, 0.8265, 1.156, 1.858, 2.467, 3.056),
        deep_size_log_q=(-9.879, -2.784, -1.753, -1.257, -0.8022, -0.5364, -0.333, -0.1468, 0.048, 0.2344, 0.4104, 0.602, 0.7583, 1.106, 1.639, 2.301),
        level_gap_ticks=(1.242, 1.062, 1.018, 1.004, 1.001, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
        level_update_prob=(0.7841, 0.7452, 0.7982, 0.8068, 0.8006, 0.7481, 0.722, 0.6883, 0.6756, 0.6609, 0.6444, 0.6158, 0.5561, 0.5177, 0.4735, 0.4226, 0.3937, 0.367, 0.3503, 0.3181),
        mid_move_share=0.2178,
        vol_1s_bps=1.039,
        taker_orders_per_s=0.872,
        prints_single_share=0.7194,
        prints_per_order_mean=2.42,
        trade_size_log_q=(-4.605, -2.996, -2.813, -2.813, -2.303, -0.9163, 0.3293, 1.593, 2.095, 2.935, 3.699, 4.595, 5.304, 6.305, 7.526, 7.836),
        vol_5m_bps=23.76,
        vol_daily_log_std=0.2964,
        vol_daily_log_ac1=0.4641,
        volume_5m_log_mean=8.912,
        volume_5m_log_std=1.271,
        funding_mean=1.374e-05,
        funding_std=2.586e-05,
        funding_phi=0.885,
    ),
    'XRP': CoinSynthParams(
        coin='XRP',
        sz_decimals=0,
        price_usd=3.1507,
        book_interval_s=0.5519,
        book_interval_cv=0.5315,
        spread_ticks_probs=(0.9569, 0.01612, 0.0103, 0.006341, 0.00502, 0.001849, 0.001849, 0.001057, 0.0, 0.0005284),
        level_size_mean_base=(18440.0, 9782.0, 12110.0, 15400.0, 20880.0, 23410.0, 25250.0, 26440.0, 27570.0, 28010.0, 27150.0, 26620.0, 25560.0, 25370.0, 25370.0, 24010.0, 23150.0, 21980.0, 21540.0, 21110.0),
        touch_size_log_q=(-11.87, -9.67, -7.955, -6.702, -3.789, -2.143, -1.411, -0.816, -0.2778, 0.1098, 0.499, 0.9419, 1.299, 1.965, 2.569, 2.993),
        near_size_log_q=(-11.23, -7.064, -4.301, -3.455, -2.079, -1.243, -0.7955, -0.4242, -0.1421, 0.1286, 0.411, 0.8265, 1.156, 1.858, 2.467, 3.056),
        deep_size_log_q=(-9.879, -2.784, -1.753, -1.257, -0.8022, -0.5364, -0.333, -0.1468, 0.048, 0.2344, 0.4104, 0.602, 0.7583, 1.106, 1.639, 2.301),
        level_gap_ticks=(1.242, 1.062, 1.018, 1.004, 1.001, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
        level_update_prob=(0.7841, 0.7452, 0.7982, 0.8068, 0.8006, 0.7481, 0.722, 0.6883, 0.6756, 0.6609, 0.6444, 0.6158, 0.5561, 0.5177, 0.4735, 0.4226, 0.3937, 0.367, 0.3503, 0.3181),
        mid_move_share=0.2178,
        vol_1s_bps=1.049,
        taker_orders_per_s=0.4877,
        prints_single_share=0.7194,
        prints_per_order_mean=2.42,
        trade_size_log_q=(-0.4414, 1.168, 1.35, 1.35, 1.861, 3.247, 4.493, 5.757, 6.259, 7.098, 7.863, 8.759, 9.468, 10.47, 11.69, 12.0),
        vol_5m_bps=24.0,
        vol_daily_log_std=0.4035,
        vol_daily_log_ac1=0.5672,
        volume_5m_log_mean=11.38,
        volume_5m_log_std=1.667,
        funding_mean=1.448e-05,
        funding_std=2.86e-05,
        funding_phi=0.8998,
    ),
    'HYPE': CoinSynthParams(
        coin='HYPE',
        sz_decimals=2,
        price_usd=44.924,
        book_interval_s=0.5519,
        book_interval_cv=0.5315,
        spread_ticks_probs=(0.9569, 0.01612, 0.0103, 0.006341, 0.00502, 0.001849, 0.001849, 0.001057, 0.0, 0.0005284),
        level_size_mean_base=(1591.0, 843.9, 1044.0, 1329.0, 1802.0, 2020.0, 2179.0, 2281.0, 2379.0, 2416.0, 2342.0, 2296.0, 2205.0, 2189.0, 2189.0, 2072.0, 1997.0, 1896.0, 1858.0, 1821.0),
        touch_size_log_q=(-11.87, -9.67, -7.955, -6.702, -3.789, -2.143, -1.411, -0.816, -0.2778, 0.1098, 0.499, 0.9419, 1.299, 1.965, 2.569, 2.993),
        near_size_log_q=(-11.23, -7.064, -4.301, -3.455, -2.079, -1.243, -0.7955, -0.4242, -0.1421, 0.1286, 0.411, 0.8265, 1.156, 1.858, 2.467, 3.056),
        deep_size_log_q=(-9.879, -2.784, -1.753, -1.257, -0.8022, -0.5364, -0.333, -0.1468, 0.048, 0.2344, 0.4104, 0.602, 0.7583, 1.106, 1.639, 2.301),
        level_gap_ticks=(1.242, 1.062, 1.018, 1.004, 1.001, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
        level_update_prob=(0.7841, 0.7452, 0.7982, 0.8068, 0.8006, 0.7481, 0.722, 0.6883, 0.6756, 0.6609, 0.6444, 0.6158, 0.5561, 0.5177, 0.4735, 0.4226, 0.3937, 0.367, 0.3503, 0.3181),
        mid_move_share=0.2178,
        vol_1s_bps=1.733,
        taker_orders_per_s=0.6459,
        prints_single_share=0.7194,
        prints_per_order_mean=2.42,
        trade_size_log_q=(-3.099, -1.489, -1.307, -1.307, -0.7962, 0.5901, 1.836, 3.1, 3.601, 4.441, 5.205, 6.102, 6.811, 7.812, 9.032, 9.343),
        vol_5m_bps=39.64,
        vol_daily_log_std=0.3096,
        vol_daily_log_ac1=0.626,
        volume_5m_log_mean=10.16,
        volume_5m_log_std=0.9899,
        funding_mean=4.431e-05,
        funding_std=7.147e-05,
        funding_phi=0.6682,
    ),
}

# derivation check (derived from SOL vs measured):
#   BTC: 20-level depth per side $5,920,409 vs $5,340,837 (1.11x); taker orders/s 1.93 vs 1.08 (1.79x); 1 s vol 0.542 vs 0.426 bps (1.27x); median print $997 vs $330
#   ETH: 20-level depth per side $10,185,944 vs $12,688,364 (0.80x); taker orders/s 1.43 vs 1.26 (1.14x); 1 s vol 0.946 vs 0.939 bps (1.01x); median print $997 vs $814
# END MEASURED PARAMS


def params_for(coin: str) -> CoinSynthParams:
    """The parameters of ``coin``; a clear error for a coin without parameters."""
    key = coin.upper()
    if key not in SYNTH_PARAMS:
        raise ConfigError(f"no synthetic-market parameters for {coin!r}; known coins: {', '.join(SYNTH_PARAMS)}")
    return SYNTH_PARAMS[key]


# ----------------------------------------------------------------------------------- measuring


def _log_quantiles(values: np.ndarray) -> tuple[float, ...]:
    values = np.asarray(values, float)
    values = values[np.isfinite(values) & (values > 0)]
    return tuple(float(x) for x in np.quantile(np.log(values), SIZE_QUANTILE_PROBS))


def _size_tables(bid_sz: np.ndarray, ask_sz: np.ndarray) -> dict:
    """Level means (pooled sides) and the normalised size shapes of the touch, near and deep levels."""
    sizes = np.concatenate([bid_sz, ask_sz], axis=0)
    means = np.nanmean(sizes, axis=0)
    normalised = sizes / means
    return {
        "level_size_mean_base": tuple(float(x) for x in means),
        "touch_size_log_q": _log_quantiles(normalised[:, 0]),
        "near_size_log_q": _log_quantiles(normalised[:, list(NEAR_LEVELS)].ravel()),
        "deep_size_log_q": _log_quantiles(normalised[:, NEAR_LEVELS.stop :].ravel()),
    }


def _candle_paths(shared_data: Path, coin: str) -> tuple[Path, Path]:
    folder = shared_data / "hyperliquid" / "candles"
    return folder / f"{coin}_USDC_USDC-5m-futures.feather", folder / f"{coin}_USDC_USDC-1h-funding_rate.feather"


def _bar_and_funding_fields(shared_data: Path, coin: str) -> dict:
    candles_path, funding_path = _candle_paths(shared_data, coin)
    bars = market_stats.stats_from_candles(candles_path)
    funding = market_stats.stats_from_funding(funding_path, last_days=365)
    return {
        "vol_5m_bps": bars["bar_vol_bps"],
        "vol_daily_log_std": bars["vol_daily_log_std"],
        "vol_daily_log_ac1": bars["vol_daily_log_ac1"],
        "volume_5m_log_mean": bars["volume_log_mean"],
        "volume_5m_log_std": bars["volume_log_std"],
        "funding_mean": funding["funding_mean"],
        "funding_std": funding["funding_std"],
        "funding_phi": funding["funding_phi"],
    }


def _mean_usd_volume_5m(shared_data: Path, coin: str) -> float:
    frame = market_stats.read_candles(_candle_paths(shared_data, coin)[0])
    return float((frame["volume"] * frame["close"]).mean())


def measure_recorded(shared_data: Path, coin: str) -> CoinSynthParams:
    """Parameters of a coin present in the WebSocket recording."""
    recording = shared_data / "hyperliquid" / "ws_2025-09-04"
    stats = market_stats.stats_from_hl_ws_recording(recording, coin)
    ts_ns, _, bid_sz, _, ask_sz = market_stats.read_ws_book(recording / f"orderbooks_{coin}.csv.gz")
    gaps_s = np.diff(ts_ns) / 1e9
    trades = pd.read_csv(recording / f"trades_{coin}.csv.gz")
    trades = trades[trades["exchange_timestamp"] * 1_000_000 >= ts_ns[0]]
    distance = np.asarray(stats["level_distance_ticks"])
    return CoinSynthParams(
        coin=coin,
        sz_decimals=stats["sz_decimals"],
        price_usd=stats["price_mean"],
        book_interval_s=float(gaps_s.mean()),
        book_interval_cv=float(gaps_s.std() / gaps_s.mean()),
        spread_ticks_probs=tuple(stats["spread_ticks_dist"]),
        level_gap_ticks=tuple(float(x) for x in np.diff(distance)),
        level_update_prob=tuple(stats["level_update_prob"]),
        mid_move_share=stats["mid_move_share"],
        vol_1s_bps=stats["vol_1s_bps"],
        taker_orders_per_s=stats["taker_orders_per_s"],
        prints_single_share=stats["prints_single_share"],
        prints_per_order_mean=stats["prints_per_order_mean"],
        trade_size_log_q=_log_quantiles(trades["size"].to_numpy(float)),
        **_size_tables(bid_sz, ask_sz),
        **_bar_and_funding_fields(shared_data, coin),
    )


def derive_from_reference(shared_data: Path, coin: str, reference: CoinSynthParams) -> CoinSynthParams:
    """Book and trade parameters of an unrecorded coin from a recorded one (see module docstring)."""
    own = _bar_and_funding_fields(shared_data, coin)
    ref_bars = _bar_and_funding_fields(shared_data, reference.coin)
    candles = market_stats.read_candles(_candle_paths(shared_data, coin)[0])
    price = float(candles["close"].iloc[-1])
    sz_decimals = hl_rules.sz_decimals_for(coin)
    volume_ratio = _mean_usd_volume_5m(shared_data, coin) / _mean_usd_volume_5m(shared_data, reference.coin)
    tick_ratio = market_stats.tick_bps(hl_rules.tick_size(price, sz_decimals), price) / market_stats.tick_bps(
        reference.tick, reference.price_usd,
    )
    # USD depth per bps of book scales with USD volume; a level is one tick wide
    depth_scale = volume_ratio * tick_ratio * reference.price_usd / price  # reference base units -> this coin's
    return replace(
        reference,
        coin=coin,
        sz_decimals=sz_decimals,
        price_usd=price,
        level_size_mean_base=tuple(x * depth_scale for x in reference.level_size_mean_base),
        vol_1s_bps=reference.vol_1s_bps * own["vol_5m_bps"] / ref_bars["vol_5m_bps"],
        taker_orders_per_s=reference.taker_orders_per_s * float(np.sqrt(volume_ratio)),
        trade_size_log_q=tuple(q + float(np.log(reference.price_usd / price)) for q in reference.trade_size_log_q),
        **own,
    )


def measure_params(shared_data: str | Path) -> dict[str, CoinSynthParams]:
    """Measure every coin's parameters from ``shared_data`` (the ../shared/data folder)."""
    shared_data = Path(shared_data)
    out = {coin: measure_recorded(shared_data, coin) for coin in RECORDED_COINS}
    for coin in COINS:
        if coin not in out:
            out[coin] = derive_from_reference(shared_data, coin, out[DERIVED_FROM])
    return {coin: out[coin] for coin in COINS}


def derivation_check(shared_data: str | Path, params: dict[str, CoinSynthParams]) -> str:
    """The XRP/HYPE derivation applied to BTC and ETH, against their measured values."""
    shared_data = Path(shared_data)
    lines = ["derivation check (derived from SOL vs measured):"]
    for coin in ("BTC", "ETH"):
        measured = params[coin]
        derived = derive_from_reference(shared_data, coin, params[DERIVED_FROM])
        depth_m = sum(measured.level_size_mean_base) * measured.price_usd
        depth_d = sum(derived.level_size_mean_base) * derived.price_usd
        size_m = np.exp(measured.trade_size_log_q[SIZE_QUANTILE_PROBS.index(0.5)]) * measured.price_usd
        size_d = np.exp(derived.trade_size_log_q[SIZE_QUANTILE_PROBS.index(0.5)]) * derived.price_usd
        lines.append(
            f"  {coin}: 20-level depth per side ${depth_d:,.0f} vs ${depth_m:,.0f} ({depth_d / depth_m:.2f}x); "
            f"taker orders/s {derived.taker_orders_per_s:.2f} vs {measured.taker_orders_per_s:.2f} "
            f"({derived.taker_orders_per_s / measured.taker_orders_per_s:.2f}x); "
            f"1 s vol {derived.vol_1s_bps:.3f} vs {measured.vol_1s_bps:.3f} bps ({derived.vol_1s_bps / measured.vol_1s_bps:.2f}x); "
            f"median print ${size_d:,.0f} vs ${size_m:,.0f}",
        )
    return "\n".join(lines)


def _round(x: float, digits: int = 4) -> float:
    if x == 0 or not np.isfinite(x):
        return float(x)
    return float(f"{x:.{digits}g}")


def format_params_source(params: dict[str, CoinSynthParams]) -> str:
    """``SYNTH_PARAMS`` as Python source (4 significant digits)."""
    lines = ["SYNTH_PARAMS: dict[str, CoinSynthParams] = {"]
    for coin, p in params.items():
        lines.append(f"    {coin!r}: CoinSynthParams(")
        for f in fields(p):
            value = getattr(p, f.name)
            if isinstance(value, tuple):
                text = "(" + ", ".join(repr(_round(v)) for v in value) + ("," if len(value) == 1 else "") + ")"
            elif isinstance(value, float):
                text = repr(_round(value, 5 if f.name == "price_usd" else 4))
            else:
                text = repr(value)
            lines.append(f"        {f.name}={text},")
        lines.append("    ),")
    lines.append("}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--measure", metavar="SHARED_DATA", required=True, help="the ../shared/data folder")
    args = parser.parse_args(argv)
    params = measure_params(args.measure)
    print(format_params_source(params))
    print()
    print("\n".join("# " + line for line in derivation_check(args.measure, params).splitlines()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
