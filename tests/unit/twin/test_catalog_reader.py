"""Nautilus fixed-point Parquet columns decoded to exact decimals (both storage widths, sliced arrays)."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest

from botmm_nautilus.twin.catalog_reader import fixed_point_column
from botmm_nautilus.twin.errors import CatalogDataError

VALUES = [Decimal("111234.5"), Decimal("0.00005"), Decimal("3.14159265"), Decimal("0"), Decimal("98765432.1")]


def _column(values: list[Decimal], width: int, decimals: int) -> pa.Array:
    raw = [int(v.scaleb(decimals)).to_bytes(width, "little", signed=True) for v in values]
    return pa.array(raw, type=pa.binary(width))


@pytest.mark.parametrize(("width", "fixed"), [(16, 16), (8, 9)])
def test_fixed_point_values_decode_exactly_to_the_file_precision(width, fixed):
    precision = 8
    col = _column(VALUES, width, fixed)
    got = fixed_point_column(col, precision, "f.parquet")
    assert [Decimal(int(x)).scaleb(-precision) for x in got] == VALUES
    sliced = fixed_point_column(col.slice(2, 2), precision, "f.parquet")  # an array with an offset
    assert [Decimal(int(x)).scaleb(-precision) for x in sliced] == VALUES[2:4]
    chunked = fixed_point_column(pa.chunked_array([col.slice(0, 1), col.slice(1)]), precision, "f.parquet")
    assert chunked.tolist() == got.tolist()


def test_unsupported_width_is_a_clear_error():
    with pytest.raises(CatalogDataError, match="f.parquet: fixed-point values of 4 bytes"):
        fixed_point_column(pa.array([b"\x00" * 4], type=pa.binary(4)), 2, "f.parquet")
