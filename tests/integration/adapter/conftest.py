"""Fixtures of the live adapter tests: a twin replaying the real BTC recording of 2025-09-04
(``btc_catalog``, tests/integration/conftest.py) at 4x speed with the test key's account funded."""

from __future__ import annotations

import pytest
from eth_account import Account
from support.live_node import WALLET

from botmm_nautilus.twin import TwinServer


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
