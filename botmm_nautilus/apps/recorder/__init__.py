"""``botmm record``: record Hyperliquid ``l2Book`` and ``trades`` into the Parquet catalog.

    botmm record --coins BTC ETH --catalog CAT [--url URL] [--venue testnet|mainnet] [--run-seconds N]
                 [--flush-seconds 60] [--part-seconds 3600]

What is written, per coin (instrument ``{COIN}-USDC-PERP.HL``, built from the venue's ``meta``
szDecimals and written once per run):

* the book as incremental ``OrderBookDelta`` rows (``SnapshotDiffer``): the first snapshot, and the
  first one after a gap, is CLEAR + full book; every later snapshot only what changed, ``F_LAST``
  on the last delta of each message;
* ``TradeTick`` rows: aggressor from the venue's ``side`` (``B`` = buyer lifted the ask -> BUYER,
  ``A`` = seller hit the bid -> SELLER) and the venue trade id ``tid``.

Timestamps: ``ts_event`` = the message's exchange ``time``; ``ts_init`` = local receive time
(when the frame is handed to the recorder), made strictly increasing over the whole run (a clock
that steps back, or two frames stamped in the same nanosecond, are bumped by 1 ns and counted).
Strictly increasing ``ts_init`` keeps the catalog's per-file ``[first, last ts_init]`` intervals
disjoint across flushes.

Parts: each coin's data is cut into parts of ``part_seconds`` (default one UTC hour) of exchange
time. A part ends at the first message of the coin whose ``ts_event`` falls in a later part; so
every message goes to exactly one part (one at exactly the boundary opens the new part), parts
are contiguous in receive order and the book carries over (no CLEAR at a part boundary). Buffers
are flushed to the catalog at each rotation, every ``flush_seconds`` (a crash loses at most that
much) and on stop. A flush is one ``StagedCatalogWriter`` commit (all-or-nothing; a conflict with
existing files raises and writes nothing). A failed flush keeps its data in memory and is retried
at the next flush; if it still fails at stop, the data goes to a separate rescue catalog
``CAT/.recorder-rescue-*`` (named in the summary). When a part is complete its flush files are
merged into one Parquet file per data type (written as ``*.parquet.tmp`` then renamed; the pieces
are removed after; a crash in between leaves pieces contained in the merged file's interval, which
the next recorder start removes).

Overlaps: before recording, the catalog's existing delta/trade files of the recorded coins are
checked: data stamped after the current time is refused (the new files would overlap); otherwise
new stamps start after the newest existing file. A lock file per coin
(``CAT/.recorder-locks/COIN.lock``) keeps two recorders from writing the same coin into one catalog.

Gaps (``botmm_nautilus.data.gaps``; ``botmm data info`` lists them): a WebSocket reconnect
(``disconnect``), no book message for ``stale_seconds`` (``stale``: the coin is resubscribed, or
the connection rebuilt when every coin is stale) or an exchange-time jump of more than
``exchange_gap_seconds`` between two book messages (``exchange_time_jump``). During a gap nothing
is written for the coin; it ends at the next book message, stored as CLEAR + full snapshot.
Trades received while the book is unknown, or stamped before the first book message after the
start or a gap (the venue may re-send recent trades on subscribe), are dropped and counted, never
invented; re-sent trades are dropped by ``tid`` (remembered for ``dedupe_horizon_seconds``).

Bad input: messages are decoded by ``botmm_nautilus.venue.messages`` (the decoder the live adapter
and the importers use). A message that cannot be decoded or validated (missing or wrong-typed
fields, numbers off the instrument's tick/lot grid, an unknown trade side, a crossed or unsorted
book) is logged with its channel, the field at fault and a snippet, counted, and not written; the
recorder keeps running.

The package, by responsibility: ``session`` (settings, URLs, instruments, the WebSocket run loop,
:class:`Recorder`: message handling, gaps and stale feeds), ``parts`` (one coin's state, parts
and rotation), ``flush`` (lock files, the check against stored data, the writer thread with its
atomic commits, Parquet merges and rescue catalog), ``summary`` (status line and summary).
"""

from .errors import RecorderError
from .flush import merge_part_files
from .session import Recorder
from .session import RecordSettings
from .session import record
from .session import record_blocking
from .session import resolve_urls
from .summary import format_summary

__all__ = [
    "RecordSettings",
    "Recorder",
    "RecorderError",
    "format_summary",
    "merge_part_files",
    "record",
    "record_blocking",
    "resolve_urls",
]
