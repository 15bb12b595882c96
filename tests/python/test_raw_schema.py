"""The shared raw schema (scripts/raw_schema.py) agrees with the contract the package documents.

The Python side (test harness, reference, peers, generators) reads the raw column lists and the
default statuses from one module; dbt reads its status defaults from dbt_project.yml and users
read the column lists in docs/definitions.md. A change to one of them must be made to all.
"""

from __future__ import annotations

import re

import yaml

from dbt_project_runner import ROOT
from raw_schema import COUNTED_STATUSES, IGNORED_STATUSES, RAW_COLUMNS


def test_default_statuses_are_the_dbt_project_vars():
    project_vars = yaml.safe_load((ROOT / "dbt_project.yml").read_text())["vars"]
    assert project_vars["crm_counted_statuses"] == COUNTED_STATUSES
    assert project_vars["crm_ignored_statuses"] == IGNORED_STATUSES
    assert not set(COUNTED_STATUSES) & set(IGNORED_STATUSES)


def test_raw_columns_are_the_documented_ones():
    """docs/definitions.md lists the columns read in a table headed `| table | columns read |`."""
    text = (ROOT / "docs" / "definitions.md").read_text()
    assert "| table | columns read |" in text, "docs/definitions.md no longer has the table of columns read"
    table = text.split("| table | columns read |", 1)[1].split("\n\n", 1)[0]
    documented = {
        match.group(1): [column.strip() for column in match.group(2).split(",")]
        for match in re.finditer(r"^\| (\w+) \| ([\w, ]+) \|$", table, flags=re.MULTILINE)
    }
    assert documented == RAW_COLUMNS
