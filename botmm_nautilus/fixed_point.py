"""Nautilus fixed-point Price/Quantity columns of a ``ParquetDataCatalog`` file, decoded as numpy integers.

One decoder for every layer that reads catalog Parquet files as columns (the twin's replay, the
fill-model dataset builder): no Nautilus object per row.
"""

from __future__ import annotations

import numpy as np

from botmm_nautilus.errors import DataError

# the float path of 16-byte values is exact below this (4 roundings of 2**-53 each stay under 0.5 of the
# last kept digit); larger values are divided as Python integers
_FLOAT_EXACT = 2**50


def decode_fixed_point(column, precision: int, file: str, error: type[Exception] = DataError) -> np.ndarray:
    """A Nautilus fixed-point Price/Quantity column as integers with ``precision`` decimals.

    16-byte values are int128 with 16 decimals, 8-byte values int64 with 9 decimals (little-endian).
    A column that cannot be decoded raises ``error`` naming ``file``.
    """
    import pyarrow as pa

    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    width = arr.type.byte_width
    buf = np.frombuffer(arr.buffers()[1], dtype=np.uint8)
    raw = buf[arr.offset * width:(arr.offset + n) * width].reshape(n, width)
    if width == 8:
        value = raw.copy().view("<i8").ravel()
        scale = 10 ** (9 - precision)
        if scale < 1:
            raise error(f"catalog file {file}: precision {precision} above the catalog's 9 decimals")
        return value // scale
    if width != 16 or not 0 <= precision <= 16:
        raise error(f"catalog file {file}: fixed-point values of {width} bytes with {precision} decimals "
                    "are not supported")
    lo = raw[:, :8].copy().view("<u8").ravel()
    hi = raw[:, 8:].copy().view("<i8").ravel()
    if not hi.any():  # fits in 64 bits: exact integer arithmetic
        return (lo // np.uint64(10 ** (16 - precision))).astype(np.int64)
    value = hi.astype(np.float64) * 2.0**64 + lo.astype(np.float64)
    scaled = np.rint(value / 10.0 ** (16 - precision))
    big = np.flatnonzero(np.abs(scaled) >= _FLOAT_EXACT)
    out = np.where(np.abs(scaled) < _FLOAT_EXACT, scaled, 0).astype(np.int64)
    divisor = 10 ** (16 - precision)
    for i in big:  # rare: exact integer arithmetic row by row
        exact = int.from_bytes(raw[i].tobytes(), "little", signed=True) // divisor
        if not -(2**63) <= exact < 2**63:
            raise error(f"catalog file {file}: value {exact}e-{precision} out of range")
        out[i] = exact
    return out


__all__ = ["decode_fixed_point"]
