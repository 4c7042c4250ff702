"""Fixtures of the live adapter tests: the real BTC recording of 2025-09-04 (../shared/data) as a
catalog, and a twin replaying it at 4x speed with the test key's account funded."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account
from support.live_node import WALLET

from botmm_nautilus.twin import TwinServer


@pytest.fixture(scope="session")  # imported once for every live test module (about 8 s)
def btc_catalog(shared_data, tmp_path_factory) -> Path:
    from botmm_nautilus.data.hl_ws import import_hyperliquid_ws

    cat = tmp_path_factory.mktemp("live_catalog")
    import_hyperliquid_ws(shared_data / "hyperliquid" / "ws_2025-09-04", cat, coins=["BTC"], replace=True, progress=False)
    return cat


@pytest.fixture
def twin(btc_catalog):
    server = TwinServer(catalog=btc_catalog, coins=["BTC"], speed=4.0)
    server.start()
    server.create_account(WALLET.address, 100_000)
    yield server
    server.close()


@pytest.fixture
def wallet(twin):
    """A fresh key with 100,000 paper USDC on the module's ``twin``."""
    w = Account.create()
    twin.create_account(w.address, 100_000)
    return w
