"""The docs agree with the project: the vars they document are the vars of dbt_project.yml, with
the same defaults, and every Markdown code fence renders as one.

The README's "Vars" table is the one list of every var (docs/configuration.md and
docs/incremental.md repeat a few in tables of their own, checked the same way). No dbt run.
"""

from __future__ import annotations

import re
import sys

import pytest
import yaml

from dbt_project_runner import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
from check_markdown import fence_problems  # noqa: E402

VAR_TABLE_HEADERS = ("| var | default |", "| switch | default |")
VAR_NAME = re.compile(r"`(crm_\w+)`")


def project_vars() -> dict:
    return yaml.safe_load((ROOT / "dbt_project.yml").read_text(encoding="utf-8"))["vars"]


def var_tables(path) -> list[list[tuple[list[str], str, int]]]:
    """Each var table of a Markdown file: per row, the var names of its first cell, its default
    cell and its line number."""
    tables, rows = [], None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith(VAR_TABLE_HEADERS):
            rows = []
            tables.append(rows)
        elif rows is not None and line.startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not set(cells[0]) <= set("-: "):
                rows.append((VAR_NAME.findall(cells[0]), cells[1], number))
        else:
            rows = None
    return tables


def as_text(value):
    """A var's value as the README writes it (YAML's own spelling of true, false and numbers)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return [as_text(item) for item in value]
    return str(value)


def test_readme_var_table_is_every_var_of_dbt_project():
    tables = var_tables(ROOT / "README.md")
    assert len(tables) == 1, "README.md should have one table headed `| var | default |`"
    documented = [name for names, _, _ in tables[0] for name in names]
    project = set(project_vars())
    repeated = sorted({name for name in documented if documented.count(name) > 1})
    assert not repeated, f"listed twice in the README's var table: {repeated}"
    assert not set(documented) - project, (
        f"in the README's var table but not under vars: in dbt_project.yml: {sorted(set(documented) - project)}")
    assert not project - set(documented), (
        f"under vars: in dbt_project.yml but not in the README's var table: {sorted(project - set(documented))}")


@pytest.mark.parametrize("name", ["README.md", "docs/configuration.md", "docs/incremental.md"])
def test_documented_defaults_are_the_dbt_project_defaults(name):
    """A default written as code (`90`, `[]`, `false`) is the value in dbt_project.yml; a default
    written in words ("target schema", "none") stands for null there."""
    project = project_vars()
    path = ROOT / name
    tables = var_tables(path)
    assert tables, f"{name} has no table headed {' or '.join(VAR_TABLE_HEADERS)}"
    problems = []
    for table in tables:
        for names, default, number in table:
            where = f"{name}:{number}"
            if not names:
                problems.append(f"{where}: a row without a var name")
            for var in names:
                if var not in project:
                    problems.append(f"{where}: {var} is not under vars: in dbt_project.yml")
                elif re.fullmatch(r"`[^`]*`", default):
                    written = yaml.load(default.strip("`"), Loader=yaml.BaseLoader)
                    if written != as_text(project[var]):
                        problems.append(f"{where}: {var} documented as {default}, dbt_project.yml has {project[var]!r}")
                elif project[var] is not None:
                    problems.append(f"{where}: {var} documented as {default!r}, dbt_project.yml has {project[var]!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("```sh\nmake demo\n```\n", [], id="closed"),
    pytest.param("1. step\n\n   ```sql\n   select 1\n   ```\n", [], id="indented in a list"),
    pytest.param("````md\n```sql\nselect 1\n```\n````\n", [], id="four backticks around three"),
    pytest.param("inline ```code``` is no fence\n", [], id="inline backticks"),
    pytest.param("```yaml\na: 1\n``` The demo seeds never load\n\ntext\n```\n",
                 [(3, "text after a closing fence")], id="text after the closing fence"),
    pytest.param("```sh\nmake demo\n", [(1, "never closed")], id="never closed"),
    pytest.param("~~~\n```\n~~~\n```\n", [(4, "never closed")], id="backticks inside tildes, then unclosed"),
])
def test_markdown_check_finds_broken_fences(text, expected):
    found = fence_problems(text)
    assert [number for number, _ in found] == [number for number, _ in expected]
    for (_, problem), (_, words) in zip(found, expected):
        assert words in problem


def test_every_tracked_markdown_file_has_sound_fences():
    from check_markdown import tracked_markdown
    problems = [f"{path.relative_to(ROOT)}:{number}: {problem}"
                for path in tracked_markdown() for number, problem in fence_problems(path.read_text(encoding="utf-8"))]
    assert not problems, "\n".join(problems)


def test_readme_is_short_and_holds_no_timing():
    # The README is for users: at most 15 KB; measured timings live in docs/benchmark.md.
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) <= 15_000, f"README.md is {len(text.encode('utf-8'))} bytes; move details to docs/"
    timings = re.findall(r"\b\d+(?:\.\d+)? ?(?:ms|s|sec|seconds|min|minutes)\b", text)
    assert not timings, f"timings belong in docs/benchmark.md: {timings}"
