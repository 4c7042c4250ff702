"""Fixtures shared by the integration tests: the real Hyperliquid BTC recording of 2025-09-04
(../shared/data) imported once per test session (per xdist worker) as a catalog. Tests only read it."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")  # imported once for every module that reads it (about 8 s)
def btc_catalog(shared_data, tmp_path_factory) -> Path:
    from botmm_nautilus.data.hl_ws import import_hyperliquid_ws

    cat = tmp_path_factory.mktemp("live_catalog")
    import_hyperliquid_ws(shared_data / "hyperliquid" / "ws_2025-09-04", cat, coins=["BTC"], replace=True, progress=False)
    return cat
