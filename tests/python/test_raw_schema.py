"""The shared raw schema (scripts/raw_schema.py) agrees with the contract the package documents.

The Python side (test harness, reference, peers, generators) reads the raw column lists and the
default statuses from one module; dbt reads its status defaults from dbt_project.yml and users
read the column lists in docs/definitions.md. A change to one of them must be made to all.
"""

from __future__ import annotations

import re

import pytest
import yaml

from dbt_project_runner import ROOT
from raw_schema import COUNTED_STATUSES, IGNORED_STATUSES, RAW_COLUMNS, REJECTION_REASONS, TOMBSTONE_REASON


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
    # Every source of the shared module is documented with the same columns in the same order;
    # the documentation may list more (the optional exchange rates).
    assert {name: documented.get(name) for name in RAW_COLUMNS} == RAW_COLUMNS


# ---------- raw columns: the column specs (macros/source_columns.sql) ----------

def _column_specs() -> dict[str, list[tuple[str, bool]]]:
    """Each source's (column, required) pairs from its get_<source>_columns macro, in order, the
    line-grain line_id included."""
    text = (ROOT / "macros" / "source_columns.sql").read_text()
    specs = {}
    for source in RAW_COLUMNS:
        body = re.search(r"\{%\s*macro get_" + source + r"_columns\(\)\s*%\}(.*?)\{%\s*endmacro\s*%\}", text, re.S)
        assert body, f"macros/source_columns.sql has no get_{source}_columns macro"
        specs[source] = [(name, required == "true") for name, required in
                         re.findall(r"\{'name': '(\w+)', 'required': (true|false)", body.group(1))]
    return specs


# Read at crm_orders_grain: line only, so not one of the columns every orders table is read with.
LINE_GRAIN_COLUMN = "line_id"
# The optional line columns read at line grain only (first-product cohorts).
LINE_GRAIN_COLUMNS = {"line_id", "product_id", "product_category"}


def test_raw_columns_are_the_column_specs():
    specs = _column_specs()
    assert {source: [name for name, _ in spec if name not in LINE_GRAIN_COLUMNS] for source, spec in specs.items()} \
        == RAW_COLUMNS
    assert LINE_GRAIN_COLUMN in dict(specs["orders"])


def test_source_columns_are_the_column_specs():
    """models/staging/crm/_crm__sources.yml documents each source's columns, those of the specs."""
    sources = yaml.safe_load((ROOT / "models" / "staging" / "crm" / "_crm__sources.yml").read_text())["sources"]
    documented = {table["name"]: [column["name"] for column in table.get("columns", [])]
                  for source in sources for table in source["tables"]}
    assert {name: documented.get(name) for name in RAW_COLUMNS} == \
        {source: [name for name, _ in spec] for source, spec in _column_specs().items()}


def test_required_columns_are_the_documented_ones():
    """docs/definitions.md section 1 splits each table's columns into required and optional ones."""
    text = (ROOT / "docs" / "definitions.md").read_text()
    header = "| table | required columns | optional columns |"
    assert header in text, "docs/definitions.md no longer has the table of required and optional columns"
    table = text.split(header, 1)[1].split("\n\n", 1)[0]

    def names(cell: str) -> set[str]:
        return {re.sub(r"\(.*?\)", "", part).strip() for part in cell.split(",") if part.strip()}

    documented = {}
    for line in table.strip().splitlines()[1:]:  # past the |---| row
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        documented[cells[0].split()[0]] = (names(cells[1]), names(cells[2]))
    specs = {source: ({name for name, required in spec if required}, {name for name, required in spec if not required})
             for source, spec in _column_specs().items()}
    assert documented == specs


# ---------- rejection reasons: raw_schema.REJECTION_REASONS ----------

# How a reason is spelled, for picking reasons out of prose and code: a word of the vocabulary
# of checks, an underscore and what was checked; or one of the two reasons named after what
# disagrees or lies out of range.
REASON_WORD = re.compile(r"\b((?:missing|superseded|duplicate|conflicting|invalid|too_early|future|unknown|negative"
                         r"|deleted)_[a-z_]+|currency_mismatch|rate_out_of_range)\b")
ALL_REASONS = {reason for reasons in REJECTION_REASONS.values() for reason in reasons}


def _first_appearances(words: list[str]) -> list[str]:
    return list(dict.fromkeys(words))


def _macro_literals() -> dict[str, str]:
    """Macros that return one text literal (`future_reason` -> 'future_timestamp'), by name."""
    literals = {}
    for path in (ROOT / "macros").rglob("*.sql"):
        for name, value in re.findall(r"\{%\s*macro (\w+)\(\)\s*%\}\s*\{\{\s*return\('(\w+)'\)\s*\}\}\s*\{%\s*endmacro",
                                      path.read_text()):
            literals[name] = value
    return literals


def _reasons_in_model(source: str) -> list[str]:
    """The reasons of the `case ... end as rejection_reason` of base_crm__<source>, in order."""
    text = (ROOT / "models" / "staging" / "crm" / "base" / f"base_crm__{source}.sql").read_text()
    assert "end as rejection_reason" in text, f"base_crm__{source} has no `case ... end as rejection_reason`"
    before = text.split("end as rejection_reason", 1)[0]
    case = re.split(r"^\s*case\s*$", before, flags=re.M)[-1]
    literals = _macro_literals()
    reasons = []
    for literal in re.findall(r"then\s+'([^']+)'", case):
        macro = re.fullmatch(r"\{\{\s*crm_retention\.(\w+)\(\)\s*\}\}", literal)
        reasons.append(literals[macro.group(1)] if macro else literal)
    return _first_appearances(reasons)


@pytest.mark.parametrize("source", list(REJECTION_REASONS))
def test_rejection_reasons_are_the_base_models(source):
    assert _reasons_in_model(source) == REJECTION_REASONS[source]


@pytest.mark.parametrize("source", list(REJECTION_REASONS))
def test_base_models_accept_their_rejection_reasons(source):
    """Each base model's accepted_values test lists its reasons in order (the tombstone's too where
    the base table is incremental)."""
    models = yaml.safe_load((ROOT / "models" / "staging" / "crm" / "base" / "_base_crm__models.yml").read_text())
    model = next(m for m in models["models"] if m["name"] == f"base_crm__{source}")
    column = next(c for c in model["columns"] if c["name"] == "rejection_reason")
    accepted = next(test["accepted_values"]["arguments"]["values"] for test in column["data_tests"]
                    if "accepted_values" in test)
    assert [reason for reason in accepted if reason != TOMBSTONE_REASON] == REJECTION_REASONS[source]


def test_rejected_rows_mart_accepts_every_reason():
    """crm__rejected_rows holds the rejections of every source and never a tombstone."""
    marts = yaml.safe_load((ROOT / "models" / "marts" / "_crm__models.yml").read_text())
    model = next(m for m in marts["models"] if m["name"] == "crm__rejected_rows")
    column = next(c for c in model["columns"] if c["name"] == "rejection_reason")
    accepted = next(test["accepted_values"]["arguments"]["values"] for test in column["data_tests"]
                    if "accepted_values" in test)
    assert sorted(accepted) == sorted(ALL_REASONS)


def test_rejection_reasons_are_documented_per_source():
    """The column doc (models/docs.md, crm_rejection_reason) and docs/definitions.md list each
    source's reasons in the order they are checked."""
    block = (ROOT / "models" / "docs.md").read_text().split("{% docs crm_rejection_reason %}", 1)[1]
    block = block.split("{% enddocs %}", 1)[0]
    labels = {"orders": "Orders:", "customers": "Customers:", "nps_responses": "NPS responses:",
              "marketing_spend": "Marketing spend:", "exchange_rates": "Exchange rates:"}
    column_doc = {}
    for source, label in labels.items():
        text = block.split(label, 1)[1]
        for other in labels.values():
            text = text.split(other, 1)[0]
        column_doc[source] = _first_appearances(REASON_WORD.findall(text))
    assert column_doc == REJECTION_REASONS

    definitions = (ROOT / "docs" / "definitions.md").read_text()
    sections = {"orders": "#### Orders", "customers": "#### Customers", "nps_responses": "#### NPS responses",
                "marketing_spend": "#### Marketing spend"}
    documented = {source: _first_appearances(REASON_WORD.findall(definitions.split(heading, 1)[1].split("\n####")[0]))
                  for source, heading in sections.items()}
    # Exchange rates are described with the currencies: "from the staged exchange rates (rejected: ...)".
    rates = definitions.split("staged exchange rates (rejected:", 1)[1].split(")", 1)[0]
    documented["exchange_rates"] = _first_appearances(REASON_WORD.findall(rates))
    assert documented == REJECTION_REASONS


# The reference reads orders at order grain only (its docstring: line grain is not modelled
# there); test_order_lines.py gives each raw line its expected outcome instead.
LINE_GRAIN_REASONS = {"conflicting_order_lines"}


def test_reference_gives_exactly_the_rejection_reasons():
    """The reference (tests/python/reference.py) names every reason of order-grain data and no other."""
    used = set(REASON_WORD.findall((ROOT / "tests" / "python" / "reference.py").read_text()))
    assert used == ALL_REASONS - LINE_GRAIN_REASONS


def test_demo_seeds_load_every_column_as_text():
    """dbt_project.yml types each demo seed's columns as text (as a CSV export leaves them, so
    staging parses the dirt): every column of each seed file's header, and no other."""
    seeds = yaml.safe_load((ROOT / "dbt_project.yml").read_text())["seeds"]["crm_retention"]["demo"]
    typed = {name: list(config["+column_types"]) for name, config in seeds.items() if name.startswith("raw_")}
    headers = {path.stem: path.read_text().splitlines()[0].split(",")
               for path in sorted((ROOT / "seeds" / "demo").glob("raw_*.csv"))}
    assert typed == headers
