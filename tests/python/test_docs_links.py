"""The README and docs are true in a fresh clone: every relative link points at a file inside the
repository, and nothing points outside it (the metric contract lives in docs/definitions.md)."""

from __future__ import annotations

import re
from pathlib import Path

from dbt_project_runner import ROOT

LINK = re.compile(r"\]\(([^)\s]+)\)")


def markdown_files() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "CHANGELOG.md", ROOT / "DECISIONLOG.md", *sorted((ROOT / "docs").glob("*.md"))]
    return [path for path in files if path.exists()]


def test_relative_links_stay_inside_the_repository():
    problems = []
    for path in markdown_files():
        for target in LINK.findall(path.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+://|mailto:|#", target):
                continue
            resolved = (path.parent / target.split("#")[0]).resolve()
            where = f"{path.relative_to(ROOT)} -> {target}"
            if ROOT.resolve() not in resolved.parents and resolved != ROOT.resolve():
                problems.append(f"{where}: outside the repository")
            elif not resolved.exists():
                problems.append(f"{where}: no such file")
    assert markdown_files() and not problems, "\n".join(problems)


def test_no_file_points_at_the_shared_folder():
    # The contract's first home was ../shared/SPEC.md, which a clone does not have.
    offenders = []
    for path in [*markdown_files(), ROOT / "dbt_project.yml", *sorted((ROOT / "models").rglob("*.md"))]:
        if "../shared" in path.read_text(encoding="utf-8"):
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, offenders
