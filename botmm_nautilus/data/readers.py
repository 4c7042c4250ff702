"""Reading the one-coin table files of the candle and funding importers.

* ``read_table``: a Feather (``.feather``, ``.arrow``), Parquet or CSV (``.csv``, ``.csv.gz``, any
  other name) file, chosen by the file name, as a frame with stripped lower-case column names; the
  caller names each column it needs with the names it accepts for it (``date``, ``time``, ...).
* ``read_json``: a JSON file (the venue's ``candleSnapshot`` / ``fundingHistory`` answers).
* ``check_file_coin``: whether the file name names another coin than the one being imported (an
  ETH file stored as BTC would give BTC's backtests ETH's prices).

Every problem is a ``DataImportError`` naming the file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from botmm_nautilus.data._common import require_columns
from botmm_nautilus.errors import DataImportError
from botmm_nautilus.venue import rules as hl_rules

# freqtrade's futures pair in a file name (BTC/USDC:USDC -> BTC_USDC_USDC-5m-futures.feather) and
# this project's instrument id (BTC-USDC-PERP.HL)
_PAIR_RES = (
    re.compile(r"(?:^|[-_.\s])([A-Za-z0-9]+)_USDC_USDC(?=[-_.\s]|$)"),
    re.compile(r"(?:^|[-_.\s])([A-Za-z0-9]+)-USDC-PERP(?=[-_.\s]|$)"),
)
_TOKEN_SPLIT = re.compile(r"[-_.\s]+")


def read_json(path: Path):
    """The parsed JSON document of ``path``."""
    try:
        return json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataImportError(path, f"not valid JSON ({exc})") from exc
    except OSError as exc:
        raise DataImportError(path, f"cannot read the file ({type(exc).__name__}: {exc})") from exc


def read_table(path: Path, columns: dict[str, tuple[str, ...]]) -> tuple[pd.DataFrame, dict[str, str]]:
    """``(frame, {name: column found})`` of a Feather, Parquet or CSV file.

    ``columns`` maps each needed column to the (lower-case) names accepted for it, in order of
    preference; the first name is the one a "missing column" message shows. Column names of the
    frame are stripped and lower-cased.
    """
    name = path.name.lower()
    try:
        if name.endswith(".feather") or name.endswith(".arrow"):
            frame = pd.read_feather(path)
        elif name.endswith(".parquet"):
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad input file
        raise DataImportError(path, f"cannot read the file ({type(exc).__name__}: {exc})") from exc
    frame = frame.rename(columns={c: str(c).strip().lower() for c in frame.columns})
    found = {key: next((c for c in accepted if c in frame.columns), None) for key, accepted in columns.items()}
    require_columns(path, frame.columns, [found[key] or accepted[0] for key, accepted in columns.items()])
    return frame, found


def coins_in_file_name(path: Path) -> list[str]:
    """Coins a file name names (upper case, in order): the coin of a ``{COIN}_USDC_USDC`` pair or
    a ``{COIN}-USDC-PERP`` instrument, and every part of the name that is a coin the venue rules
    know (``hl_rules.KNOWN_SZ_DECIMALS``), e.g. ``candles_eth_5m.csv`` -> ``["ETH"]``."""
    name = Path(path).name
    coins = [m.group(1).upper() for pattern in _PAIR_RES for m in pattern.finditer(name)]
    coins += [token.upper() for token in _TOKEN_SPLIT.split(name) if token.upper() in hl_rules.KNOWN_SZ_DECIMALS]
    return list(dict.fromkeys(coins))


def check_file_coin(path: Path, coin: str, force: bool) -> str | None:
    """Refuse a file whose name names coins but not ``coin`` (a ``DataImportError``), unless
    ``force``; then return a note for the import summary. ``None`` when the name agrees."""
    named = coins_in_file_name(path)
    if not named or coin.upper() in named:
        return None
    if force:
        return f"{path.name}: imported as {coin.upper()} although the file name names {', '.join(named)} (force)"
    raise DataImportError(
        path,
        f"the file name names {', '.join(named)} but the coin to import is {coin.upper()} (--coin); "
        f"nothing was written (check --coin, or pass --force to import it as {coin.upper()} anyway)",
    )
