"""Data import into a Nautilus ``ParquetDataCatalog`` and catalog inspection.

Importers (each all-or-nothing through ``catalog_io.StagedCatalogWriter``):

* ``hl_ws.import_hyperliquid_ws``: Hyperliquid WebSocket recordings (book snapshots + trades).
* ``hl_s3.import_hyperliquid_s3``: Hyperliquid's S3 archive ``l2Book`` hour files (LZ4 JSON lines).
* ``candles.import_candles``: OHLCV candles (Feather, CSV, ``candleSnapshot`` JSON) as bars.
* ``funding.import_funding``: hourly funding history as ``FundingRateUpdate``.
* ``binance.import_binance_raw``: Binance USD-M raw WebSocket captures (incremental depth).
* ``snapshots.import_l2_snapshots``: a folder of L2 snapshot files of any venue (Parquet/CSV, list
  or wide level columns) and its trades, the aggressor inferred when the recorded side is unusable.

Replay order (``ts_init``) of recordings with exchange times: ``replay_order``.

``info.catalog_info`` / ``format_catalog_info`` describe a catalog from file metadata only.
Bad input raises ``botmm_nautilus.errors.DataImportError`` naming the file and row.
"""

from botmm_nautilus.data.summary import ImportSummary
from botmm_nautilus.data.summary import InstrumentImportCounts
from botmm_nautilus.errors import DataImportError

__all__ = ["DataImportError", "ImportSummary", "InstrumentImportCounts"]
