"""The project's error base and the errors every layer shares.

``BotmmError`` is the base of every error a user can cause (bad configuration, bad data, a refused
exchange request, ...). The ``botmm`` command line turns any of them into one ``error:`` line and
exit code 2; anything else is a bug and keeps its traceback. Each layer derives its own errors from
it (``HyperliquidError`` in the venue layer, ``TwinError`` in the twin, ``LiveError`` in the live
runner, ...).

``DataImportError`` is the one exception every data importer raises for bad input. A user who points an importer at a missing, truncated or malformed file gets one line that names
the file, where in it the problem is (a data row, a physical line, or the header) and what is
wrong, e.g.::

    orderbooks_BTC.csv.gz row 1234: column 'bid_price_3' is not a number ('abc')
    market_data_20240101_12_l2Book_BTC.lz4 line 301: LZ4 frame ends before its end mark ...

Row numbers count data rows from 1 (a CSV header is not a row, so row N is file line N+1);
line numbers count physical lines of line-oriented files (JSON lines, raw WebSocket captures).
"""

from __future__ import annotations

import os


class BotmmError(Exception):
    """Base of every error a user can cause; the CLI prints it as one line (exit 2)."""


class ConfigError(BotmmError, ValueError):
    """A bad setting: a configuration file field (the message names the file and the dotted field)
    or a command-line option or function argument (the message names the option)."""


class DataError(BotmmError):
    """Missing, unusable or inconsistent market data (catalog, import input)."""


class DataImportError(DataError):
    """Bad or unusable input data; nothing was written to the catalog.

    ``file``: the input file (or folder) at fault; ``row``: the data row or line number
    (optional); ``field``: the column or JSON field at fault (optional); ``row_label``: how the
    location reads (``"row"`` for tables, ``"line"`` for line-oriented files); ``location``
    replaces the ``"<row_label> <row>"`` text when a position is not a number (e.g. the header).
    """

    def __init__(
        self,
        file: str | os.PathLike | None,
        message: str,
        *,
        row: int | None = None,
        field: str | None = None,
        row_label: str = "row",
        location: str | None = None,
    ) -> None:
        self.file = None if file is None else str(file)
        self.message = message
        self.row = row
        self.field = field
        self.row_label = row_label
        self.location = location
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(os.path.basename(self.file.rstrip("/\\")) or self.file)
        if self.location is not None:
            where.append(self.location)
        elif self.row is not None:
            where.append(f"{self.row_label} {self.row}")
        prefix = " ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message

    def __reduce__(self):  # keep the keyword arguments when pickled (multiprocessing, pytest-xdist)
        return (
            _rebuild,
            (self.file, self.message, self.row, self.field, self.row_label, self.location),
        )


def _rebuild(file, message, row, field, row_label, location) -> DataImportError:
    return DataImportError(file, message, row=row, field=field, row_label=row_label, location=location)
