"""The benchmark's peers compute the same tables as the package (slow suite).

`make bench` reports the package's speed against three programs, benchmark artefacts in
benchmarks/: the pandas peer (pandas_peer.py), the polars peer (polars_peer.py) and the
hand-written DuckDB SQL program (duckdb_program.py). That comparison means something only if all
of them give the same answer. This builds the package once on a small generated dataset (the
benchmark's own generator: typed columns, duplicates, ignored and oddly-cased statuses, refunds,
guest checkouts, marketing spend) and checks each program's table equals its mart.

The peers are yardsticks, not second implementations: the marts are tested against
tests/python/reference.py in the fast suite, and these tests run in the slow one only. A mart the
peers compute that is renamed or removed fails here (it never skips), so the benchmark cannot
quietly compare the package against tables it no longer has.
"""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pytest

import bench_data
import duckdb_program
import pandas_peer
import polars_peer
from dbt_project_runner import ROOT, run_dbt

pytestmark = pytest.mark.slow

N_ORDERS = 20_000
# Each mart with the columns that order its rows.
MARTS = {
    "crm__retention": ["period_start"],
    "crm__cohort_retention": ["cohort_period", "periods_since_acquisition"],
    "crm__repeat_rate": ["period_start"],
    "crm__aov": ["period_start"],
    "crm__clv": ["customer_id"],
}
PEERS = ["pandas", "polars", "duckdb_program"]


def _missing_marts() -> list[str]:
    """The marts the peers compute that the package does not have (renamed or removed)."""
    return [name for name in MARTS if not (ROOT / "models" / "marts" / f"{name}.sql").exists()]


def test_every_peer_table_is_a_mart():
    assert set(duckdb_program.TABLES) == set(MARTS), "the DuckDB program computes other tables than the peers"
    missing = _missing_marts()
    assert not missing, (f"the benchmark's peers compute {missing}, which the package no longer has: rename the "
                         "tables in benchmarks/ (pandas_peer.py, polars_peer.py, duckdb_program.py) and MARTS here")


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> dict:
    """One dbt build of the marts on generated data, shared by every peer's comparison."""
    missing = _missing_marts()
    if missing:
        pytest.fail(f"the marts the peers compute do not exist: {missing}")
    work = tmp_path_factory.mktemp("peers")
    db_path = work / "crm.duckdb"
    with duckdb.connect(str(db_path)) as con:
        bench_data.generate(con, N_ORDERS)
    run_dbt(["run", "--vars", json.dumps(bench_data.source_vars()), "--select", *[f"+{name}" for name in MARTS]],
            db_path=db_path, target_path=work / "target")
    with duckdb.connect(str(db_path), read_only=True) as con:
        marts = {name: con.execute(f"select * from main.{name}").df() for name in MARTS}
    return {"db_path": db_path, "marts": marts}


def _raw_tables(con: duckdb.DuckDBPyConnection, module) -> dict:
    return module.load(con, bench_data.RAW_SCHEMA, bench_data.TABLES["orders"], bench_data.TABLES["customers"],
                       bench_data.TABLES["marketing_spend"])


def _pandas_tables(db_path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        frames = _raw_tables(con, pandas_peer)
    return pandas_peer.compute(frames)


def _polars_tables(db_path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        frames = _raw_tables(con, polars_peer)
    # Through Python lists: polars' own to_pandas needs pyarrow, which nothing else here does.
    return {name: pd.DataFrame(table.to_dict(as_series=False)) for name, table in polars_peer.compute(frames).items()}


def _duckdb_program_tables(db_path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(db_path)) as con:
        duckdb_program.run(con, schema=bench_data.RAW_SCHEMA, orders_table=bench_data.TABLES["orders"],
                           customers_table=bench_data.TABLES["customers"],
                           spend_table=bench_data.TABLES["marketing_spend"])
        return {mart: con.execute(f"select * from {duckdb_program.OUTPUT_SCHEMA}.{table}").df()
                for mart, table in duckdb_program.TABLES.items()}


COMPUTE = {"pandas": _pandas_tables, "polars": _polars_tables, "duckdb_program": _duckdb_program_tables}


@pytest.fixture(scope="module")
def peer_tables(build) -> dict:
    """Each peer's tables, computed once per peer."""
    return {peer: COMPUTE[peer](build["db_path"]) for peer in PEERS}


def _normalised(frame: pd.DataFrame, columns: list[str], order_by: list[str]) -> pd.DataFrame:
    """Comparable values: dates to the second, numbers as floats, text as text, nulls as NaN."""
    out = pd.DataFrame(index=frame.index)
    for column in columns:
        values = frame[column]
        if pd.api.types.is_datetime64_any_dtype(values) or values.map(lambda v: hasattr(v, "isoformat")).any():
            out[column] = pd.to_datetime(values).astype("datetime64[s]")
        elif pd.api.types.is_bool_dtype(values):
            out[column] = values.astype(bool)
        elif pd.api.types.is_numeric_dtype(values):
            out[column] = values.astype("float64")
        else:
            out[column] = values.astype(object).where(values.notna(), None)
    return out.sort_values(order_by).reset_index(drop=True)


@pytest.mark.parametrize("mart", list(MARTS))
@pytest.mark.parametrize("peer", PEERS)
def test_peer_table_equals_mart(build, peer_tables, peer, mart):
    theirs = peer_tables[peer][mart]
    ours = build["marts"][mart]
    missing = [c for c in theirs.columns if c not in ours.columns]
    assert not missing, f"{mart} lacks columns the {peer} peer computes: {missing}"
    assert sorted(theirs.columns) == sorted(peer_tables["pandas"][mart].columns), \
        f"the {peer} peer's {mart} has other columns than the pandas peer's"
    assert len(theirs) == len(ours), f"{mart}: the {peer} peer has {len(theirs)} rows, the mart {len(ours)}"
    columns = list(theirs.columns)
    expected = _normalised(ours, columns, MARTS[mart])
    actual = _normalised(theirs, columns, MARTS[mart])
    # Money is exact decimal in the mart and may be float64 in a peer: equal to well under a cent.
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False, rtol=1e-9, atol=1e-6)


def test_generated_data_exercises_the_model(build, peer_tables):
    """The comparison is only as strong as the data: it must hold churn and reactivation."""
    retention = peer_tables["pandas"]["crm__retention"]
    assert retention["reactivated_customers"].sum() > 0
    assert retention["churned_customers"].sum() > 0
    assert (retention["retained_customers"] < retention["customers_at_start"]).any()
    assert np.isfinite(retention["retention_rate"].dropna()).all()
    clv = peer_tables["pandas"]["crm__clv"]
    assert clv["acquisition_channel"].isna().any(), "no guest checkout among the customers"
    assert clv["acquisition_cost"].notna().any(), "no acquisition cost: the marketing spend was not used"


@pytest.mark.parametrize("period, window_days, as_of", [
    ("week", 30, None), ("day", 7, "2024-06-15"), ("quarter", 20, None), ("year", 90, "2025-03-01"),
])
def test_peers_agree_on_other_grains(build, period, window_days, as_of):
    """The other grains and windows, where spells can start and end inside one period, against the
    pandas peer, whose retention counts customers per period directly (no dbt build needed)."""
    options = {"period": period, "window_days": window_days, "as_of": as_of}
    with duckdb.connect(str(build["db_path"]), read_only=True) as con:
        expected = pandas_peer.compute(_raw_tables(con, pandas_peer), **options)
        polars_tables = polars_peer.compute(_raw_tables(con, polars_peer), **options)
    with duckdb.connect(str(build["db_path"])) as con:
        duckdb_program.run(con, output_schema="duckdb_program_grains", **options)
        program_tables = {mart: con.execute(f"select * from duckdb_program_grains.{table}").df()
                          for mart, table in duckdb_program.TABLES.items()}
    for name, tables in {"polars": {k: pd.DataFrame(v.to_dict(as_series=False)) for k, v in polars_tables.items()},
                         "duckdb_program": program_tables}.items():
        for mart, order_by in MARTS.items():
            columns = list(expected[mart].columns)
            assert sorted(tables[mart].columns) == sorted(columns), (name, mart)
            pd.testing.assert_frame_equal(_normalised(tables[mart], columns, order_by),
                                          _normalised(expected[mart], columns, order_by),
                                          check_dtype=False, rtol=1e-9, atol=1e-6, obj=f"{name} {mart}")


def test_peers_read_integer_ids(tmp_path):
    """With bigint ids (benchmark.py --integer-ids) the polars peer gives the pandas peer's numbers."""
    db_path = tmp_path / "integer_ids.duckdb"
    with duckdb.connect(str(db_path)) as con:
        bench_data.generate(con, 2_000, integer_ids=True)
        polars_tables = polars_peer.compute(_raw_tables(con, polars_peer))
        pandas_tables = pandas_peer.compute(_raw_tables(con, pandas_peer))
    assert polars_tables["crm__clv"].schema["customer_id"] == pl.Int64
    for mart, order_by in MARTS.items():
        columns = list(pandas_tables[mart].columns)
        pd.testing.assert_frame_equal(
            _normalised(pd.DataFrame(polars_tables[mart].to_dict(as_series=False)), columns, order_by),
            _normalised(pandas_tables[mart], columns, order_by), check_dtype=False, rtol=1e-9, atol=1e-6)
