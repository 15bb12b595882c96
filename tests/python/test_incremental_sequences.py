"""Incremental mode cannot drift: after every step of a seeded random sequence of appends, late
rows, in-place updates, moved orders, cancellations, deletes, interrupted runs and changed
settings, every mart equals the reference computed from the raw rows as they are, or the run
stopped with its documented message (tests/python/incremental_sequences.py).

Two sequences of three steps run in the fast suite and CRM_SEQUENCES (default 50) in the slow
one, on DuckDB; `make test-engines` runs five on PostgreSQL (CRM_TARGET=postgres).
"""

from __future__ import annotations

import os

import pytest

from incremental_sequences import run_sequence

SLOW_SEQUENCES = int(os.environ.get("CRM_SEQUENCES", "50"))


@pytest.mark.parametrize("seed", [1, 2])
def test_incremental_sequence(tmp_path, seed):
    run_sequence(tmp_path, seed, steps=3)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 100 + SLOW_SEQUENCES))
def test_incremental_sequences(tmp_path, seed):
    run_sequence(tmp_path, seed, steps=3)
