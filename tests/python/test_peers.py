"""The benchmark's pandas peer computes the same tables as the package.

`make bench` reports the package's speed against scripts/pandas_peer.py; that comparison means
something only if both give the same answer. This builds the package on a small generated
dataset (the benchmark's own generator, typed columns, duplicates, ignored and oddly-cased
statuses, refunds, guest checkouts, marketing spend) and checks each peer table equals its mart.
"""

from __future__ import annotations

import json
import sys

import duckdb
import numpy as np
import pandas as pd
import pytest

from dbt_project_runner import ROOT, run_dbt

sys.path.insert(0, str(ROOT / "scripts"))
import bench_data  # noqa: E402
import pandas_peer  # noqa: E402

N_ORDERS = 20_000
# Each mart with the columns that order its rows.
MARTS = {
    "crm__retention": ["period_start"],
    "crm__cohort_retention": ["cohort_period", "periods_since_acquisition"],
    "crm__repeat_rate": ["period_start"],
    "crm__aov": ["period_start"],
    "crm__clv": ["customer_id"],
}


def _mart_exists(name: str) -> bool:
    return (ROOT / "models" / "marts" / f"{name}.sql").exists()


@pytest.fixture(scope="module")
def tables(tmp_path_factory) -> dict:
    existing = [name for name in MARTS if _mart_exists(name)]
    if not existing:
        pytest.skip(f"none of the marts exists yet: {', '.join(MARTS)}")
    work = tmp_path_factory.mktemp("pandas_peer")
    db_path = work / "crm.duckdb"
    with duckdb.connect(str(db_path)) as con:
        bench_data.generate(con, N_ORDERS)
    run_dbt(["run", "--vars", json.dumps(bench_data.source_vars()), "--select", *[f"+{name}" for name in existing]],
            db_path=db_path, target_path=work / "target")
    with duckdb.connect(str(db_path), read_only=True) as con:
        frames = pandas_peer.load(con, bench_data.RAW_SCHEMA, bench_data.TABLES["orders"],
                                  bench_data.TABLES["customers"], bench_data.TABLES["marketing_spend"])
        marts = {name: con.execute(f"select * from main.{name}").df() for name in existing}
    return {"peer": pandas_peer.compute(frames), "marts": marts}


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
def test_peer_table_equals_mart(tables, mart):
    if mart not in tables["marts"]:
        pytest.skip(f"{mart} does not exist yet")
    peer = tables["peer"][mart]
    ours = tables["marts"][mart]
    missing = [c for c in peer.columns if c not in ours.columns]
    assert not missing, f"{mart} lacks columns the peer computes: {missing}"
    assert len(peer) == len(ours), f"{mart}: peer has {len(peer)} rows, mart {len(ours)}"
    columns = list(peer.columns)
    expected = _normalised(ours, columns, MARTS[mart])
    actual = _normalised(peer, columns, MARTS[mart])
    # Money is exact decimal in the mart and float64 in the peer: equal to well under a cent.
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False, rtol=1e-9, atol=1e-6)


def test_generated_data_exercises_the_model(tables):
    """The comparison is only as strong as the data: it must hold churn and reactivation."""
    if "crm__retention" not in tables["marts"]:
        pytest.skip("crm__retention does not exist yet")
    retention = tables["peer"]["crm__retention"]
    assert retention["reactivated_customers"].sum() > 0
    assert retention["churned_customers"].sum() > 0
    assert (retention["retained_customers"] < retention["customers_at_start"]).any()
    assert np.isfinite(retention["retention_rate"].dropna()).all()
