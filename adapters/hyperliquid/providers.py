"""Instrument provider: ``/info metaAndAssetCtxs`` -> ``make_perpetual(coin, szDecimals, ...)``.

The asset id of a coin is its index in ``meta.universe`` (the venue numbers perps by their position in that list), kept in ``asset_of``.
:meth:`refresh` reloads the universe and reports coins whose ``szDecimals`` changed (their
instrument is rebuilt, and the data client republishes it).
"""

from __future__ import annotations

from nautilus_trader.common.providers import InstrumentProvider
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.model.currencies import USDC
from nautilus_trader.model.identifiers import InstrumentId

from .instruments import coin_of
from .instruments import make_perpetual


class HLInstrumentProvider(InstrumentProvider):
    def __init__(self, http, config: InstrumentProviderConfig | None = None, coins: list[str] | None = None) -> None:
        super().__init__(config=config or InstrumentProviderConfig(load_all=True))
        self._http = http
        self._coins = {c.upper() for c in coins} if coins else None
        self.asset_of: dict[str, int] = {}
        self.sz_decimals: dict[str, int] = {}
        self.coin_to_id: dict[str, InstrumentId] = {}
        self.max_leverage: dict[str, int] = {}

    async def load_all_async(self, filters: dict | None = None) -> None:
        await self.refresh()

    async def load_ids_async(self, instrument_ids: list[InstrumentId], filters: dict | None = None) -> None:
        await self.refresh()

    async def load_async(self, instrument_id: InstrumentId, filters: dict | None = None) -> None:
        await self.refresh()

    async def refresh(self) -> list[str]:
        """(Re)load the universe; returns the coins whose szDecimals changed since the last load."""
        data = await self._http.meta_and_ctxs()
        meta = data[0] if isinstance(data, list) else data
        changed = []
        for index, asset in enumerate(meta.get("universe", [])):
            coin = asset["name"]
            self.asset_of[coin] = index
            if self._coins is not None and coin.upper() not in self._coins:
                continue
            if asset.get("isDelisted"):
                continue
            szd = int(asset["szDecimals"])
            if coin in self.sz_decimals and self.sz_decimals[coin] != szd:
                changed.append(coin)
            self.sz_decimals[coin] = szd
            self.max_leverage[coin] = int(asset.get("maxLeverage", 10))
            inst = make_perpetual(coin, szd, max_leverage=self.max_leverage[coin])
            self.add_currency(inst.base_currency)
            self.add(inst)
            self.coin_to_id[coin] = inst.id
        self.add_currency(USDC)
        return changed

    def coin(self, instrument_id: InstrumentId) -> str:
        return coin_of(instrument_id)

    def asset(self, instrument_id: InstrumentId) -> int:
        return self.asset_of[coin_of(instrument_id)]

    def instrument_for_coin(self, coin: str):
        iid = self.coin_to_id.get(coin)
        return self.find(iid) if iid is not None else None
