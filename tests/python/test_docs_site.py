"""`make docs`: the dbt docs site as one static page, with the semantic layer and the exposure."""

from __future__ import annotations

import json

import pytest

from dbt_project_runner import run_dbt
from demo_build import DEMO_VARS

pytestmark = pytest.mark.slow


def test_static_docs_site_builds(demo_build, tmp_path):
    run_dbt(["docs", "generate", "--static", "--vars", json.dumps(DEMO_VARS)],
            db_path=demo_build.db_path, target_path=tmp_path / "target")
    page = (tmp_path / "target" / "static_index.html").read_text(encoding="utf-8")
    for name in ["crm_retention_dashboard", "crm__rfm_segments", "semantic_model.crm_retention.crm_retention",
                 "metric.crm_retention.net_revenue_retention", "saved_query.crm_retention.crm_cohort_heatmap"]:
        assert name in page, name
    # The package's own overview page, not dbt's default text.
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    assert "Customer-retention numbers" in manifest["docs"]["doc.crm_retention.__overview__"]["block_contents"]
    # The catalog comes from the built warehouse: the marts' column types are in it.
    catalog = json.loads((tmp_path / "target" / "catalog.json").read_text())
    assert catalog["nodes"]["model.crm_retention.crm__kpis"]["columns"]["retention_rate"]["type"] == "DOUBLE"
