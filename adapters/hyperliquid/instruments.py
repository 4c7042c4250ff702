"""Nautilus instrument definitions for Hyperliquid perpetuals.

Every perp is a linear ``CryptoPerpetual`` quoted and settled in USDC (an instrument quoted in USD
on a USDC account silently books no PnL in a Nautilus 1.231 backtest). Price
precision is Hyperliquid's decimal cap ``6 - szDecimals`` and the size lot is ``10**-szDecimals``;
the 5-significant-figure rule is price dependent and is enforced by ``HyperliquidGrid.round_price`` when
quotes are built.

The venue is ``HL`` (not ``HYPERLIQUID``) so that instruments, clients and accounts of this
package never collide with Nautilus's built-in Hyperliquid adapter.
"""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.model.currencies import USDC
from nautilus_trader.model.enums import CurrencyType
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import Symbol
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.instruments import CryptoPerpetual
from nautilus_trader.model.objects import Currency
from nautilus_trader.model.objects import Money
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity

from botmm_nautilus.venue import rules as hl_rules

VENUE_NAME = "HL"
VENUE = Venue(VENUE_NAME)


def instrument_id_for(coin: str, venue: str = VENUE_NAME) -> InstrumentId:
    return InstrumentId(Symbol(f"{coin.upper()}-USDC-PERP"), Venue(venue))


def coin_of(instrument_id: InstrumentId | str) -> str:
    """``BTC-USDC-PERP.HL`` -> ``BTC``."""
    text = str(instrument_id)
    return text.split("-", 1)[0].upper()


def base_currency(coin: str, precision: int = 8) -> Currency:
    code = coin.upper()
    try:
        cur = Currency.from_str(code)
        if cur is not None:
            return cur
    except Exception:  # noqa: BLE001 - unknown codes raise in some builds
        pass
    cur = Currency(code, precision, 0, code, CurrencyType.CRYPTO)
    Currency.register(cur, overwrite=False)
    return cur


def make_perpetual(
    coin: str,
    sz_decimals: int | None = None,
    maker_fee: float = hl_rules.BASE_MAKER_FEE,
    taker_fee: float = hl_rules.BASE_TAKER_FEE,
    max_leverage: int | None = None,
    venue: str = VENUE_NAME,
    ts_init: int = 0,
) -> CryptoPerpetual:
    """A Hyperliquid perp as a Nautilus ``CryptoPerpetual`` (quote and settlement USDC).

    ``maker_fee`` is positive for a cost (Hyperliquid base tier +0.00015) and negative for a rebate.
    """
    coin = coin.upper()
    if sz_decimals is None:
        sz_decimals = hl_rules.sz_decimals_for(coin)
    price_prec = hl_rules.price_decimals(sz_decimals)
    if max_leverage is None:
        max_leverage = hl_rules.KNOWN_MAX_LEVERAGE.get(coin, 10)
    margin_init = Decimal(1) / Decimal(max_leverage)
    price_inc = Price(10.0**-price_prec, price_prec) if price_prec > 0 else Price(1, 0)
    size_inc = Quantity(10.0**-sz_decimals, sz_decimals) if sz_decimals > 0 else Quantity(1, 0)
    return CryptoPerpetual(
        instrument_id=instrument_id_for(coin, venue),
        raw_symbol=Symbol(coin),
        base_currency=base_currency(coin),
        quote_currency=USDC,
        settlement_currency=USDC,
        is_inverse=False,
        price_precision=price_prec,
        size_precision=sz_decimals,
        price_increment=price_inc,
        size_increment=size_inc,
        max_quantity=None,
        min_quantity=size_inc,
        max_notional=None,
        min_notional=Money(hl_rules.MIN_ORDER_VALUE_USD, USDC),
        max_price=None,
        min_price=price_inc,
        margin_init=margin_init,
        margin_maint=margin_init / 2,
        maker_fee=Decimal(str(maker_fee)),
        taker_fee=Decimal(str(taker_fee)),
        ts_event=ts_init,
        ts_init=ts_init,
    )
