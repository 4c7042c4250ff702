"""Nautilus helpers that know no venue: book snapshots to incremental deltas, the portfolio fix."""
