"""What a Parquet catalog holds, read from file names and Parquet footers only.

``catalog_info`` never decodes data rows: row counts come from each file's Parquet metadata
(``pyarrow.parquet.ParquetFile(path).metadata.num_rows``) and time ranges from the catalog's
``<first ts_init>_<last ts_init>.parquet`` file names, so it is instant even for large catalogs.
Instrument definitions (a few hundred bytes each) are decoded for their precision and fees.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow.parquet as pq

from botmm_nautilus.data.catalog_io import INSTRUMENT_DIRS
from botmm_nautilus.data.catalog_io import file_interval
from botmm_nautilus.data.catalog_io import stale_staging
from botmm_nautilus.data.gaps import gaps_path
from botmm_nautilus.data.gaps import read_gaps
from botmm_nautilus.data.summary import format_ns


def catalog_info(catalog_path: str | os.PathLike) -> dict:
    """Describe a catalog.

    Returns ``{"catalog": path, "instruments": [{"instrument_id", "type", "price_precision",
    "size_precision", "maker_fee", "taker_fee"}], "data_types": [type dir names], "series":
    [{"data_type", "identifier", "files", "rows", "bytes", "start_ns", "end_ns"}]}``; series are
    sorted by data type then identifier. ``"stale_staging"``: staging folders of killed imports
    (removed by the next import into the catalog). ``"gaps"``: the recorder's gap log (``botmm record``,
    see ``data.gaps``), ``"gaps_unreadable"``: its lines that could not be read. A missing catalog
    gives empty lists.
    """
    root = Path(catalog_path)
    data_root = root / "data"
    gaps, unreadable = read_gaps(root)
    info: dict = {"catalog": str(root), "instruments": [], "data_types": [], "series": [], "gaps": gaps,
                  "gaps_unreadable": unreadable, "stale_staging": [str(p) for p in stale_staging(root)]}
    if not data_root.is_dir():
        return info
    for type_dir in sorted(p for p in data_root.iterdir() if p.is_dir()):
        info["data_types"].append(type_dir.name)
        for ident_dir in sorted(p for p in type_dir.iterdir() if p.is_dir()):
            files = sorted(ident_dir.glob("*.parquet"))
            if not files:
                continue
            if type_dir.name in INSTRUMENT_DIRS:
                info["instruments"].append(_instrument_info(type_dir.name, ident_dir.name, files[-1]))
                continue
            rows = 0
            size_bytes = 0
            start_ns = end_ns = None
            for f in files:
                rows += pq.ParquetFile(f).metadata.num_rows
                size_bytes += f.stat().st_size
                interval = file_interval(f)
                if interval is not None:
                    start_ns = interval[0] if start_ns is None else min(start_ns, interval[0])
                    end_ns = interval[1] if end_ns is None else max(end_ns, interval[1])
            info["series"].append(
                {
                    "data_type": type_dir.name,
                    "identifier": ident_dir.name,
                    "files": len(files),
                    "rows": rows,
                    "bytes": size_bytes,
                    "start_ns": start_ns,
                    "end_ns": end_ns,
                },
            )
    return info


def _instrument_info(type_name: str, instrument_id: str, path: Path) -> dict:
    """Precision and fees of one stored instrument definition (None when it cannot be decoded)."""
    out = {
        "instrument_id": instrument_id,
        "type": type_name,
        "price_precision": None,
        "size_precision": None,
        "maker_fee": None,
        "taker_fee": None,
    }
    try:
        table = pq.read_table(path, columns=["price_precision", "size_precision", "maker_fee", "taker_fee"])
    except Exception:  # noqa: BLE001 - an unreadable or differently shaped definition: ids are still listed
        return out
    if table.num_rows:
        row = table.slice(table.num_rows - 1).to_pylist()[0]
        out.update({k: row.get(k) for k in ("price_precision", "size_precision", "maker_fee", "taker_fee")})
    return out


def format_catalog_info(info: dict) -> str:
    """``catalog_info`` as a readable text table."""
    lines = [f"catalog {info['catalog']}"]
    if not info["instruments"] and not info["series"]:
        lines.append("  (empty: no data/ folder or no Parquet files)")
        lines.extend(format_gaps(info))
        lines.extend(format_stale_staging(info))
        return "\n".join(lines)
    lines.append("instruments:")
    for inst in info["instruments"] or []:
        details = []
        if inst.get("price_precision") is not None:
            details.append(f"price precision {inst['price_precision']}, size precision {inst['size_precision']}")
        if inst.get("maker_fee") is not None:
            details.append(f"maker fee {inst['maker_fee']}, taker fee {inst['taker_fee']}")
        lines.append(f"  {inst['instrument_id']:<40} {inst['type']:<18} {'; '.join(details)}")
    if not info["instruments"]:
        lines.append("  (none)")
    lines.append("data:")
    header = f"  {'type':<22} {'identifier':<48} {'rows':>11} {'files':>5} {'MB':>8}  first .. last ts_init (UTC)"
    lines.append(header)
    for s in info["series"]:
        lines.append(
            f"  {s['data_type']:<22} {s['identifier']:<48} {s['rows']:>11,} {s['files']:>5} {s['bytes'] / 1e6:>8.2f}  "
            f"{format_ns(s['start_ns'])} .. {format_ns(s['end_ns'])}",
        )
    lines.extend(format_gaps(info))
    lines.extend(format_stale_staging(info))
    return "\n".join(lines)


def format_stale_staging(info: dict) -> list[str]:
    """A line for staging folders left by killed imports (nothing when there are none)."""
    stale = info.get("stale_staging") or []
    if not stale:
        return []
    return [f"{len(stale)} staging folder(s) of killed imports (not data; the next import into this catalog removes them): "
            + ", ".join(Path(p).name for p in stale)]


def format_gaps(info: dict, most: int = 30) -> list[str]:
    """Lines for the recorder's gap log (nothing when the catalog has none)."""
    gaps = info.get("gaps") or []
    unreadable = info.get("gaps_unreadable", 0)
    if not gaps and not unreadable:
        return []
    total_s = sum(float(g.get("duration_s") or 0.0) for g in gaps)
    lines = [f"recorded gaps ({gaps_path(info['catalog'])}): {len(gaps)}, {total_s:.3f} s in total"
             " (no data for the coin in these spans; the book restarts with CLEAR after each)"]
    if len(gaps) > most:
        lines.append(f"  ... {len(gaps) - most} earlier gaps not shown")
    for g in gaps[-most:]:
        tail = "" if g.get("resolved", True) else "  (unresolved: recorder stopped inside it)"
        lines.append(
            f"  {str(g.get('coin')):<8} {format_ns(g.get('start_ns'))} .. {format_ns(g.get('end_ns'))} "
            f"{float(g.get('duration_s') or 0.0):>10.3f} s  {g.get('reason')}{tail}",
        )
    if unreadable:
        lines.append(f"  {unreadable} unreadable line(s) in the gap log skipped")
    return lines
