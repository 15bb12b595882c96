"""The README and docs are true in a fresh clone: every relative link points at a file inside the
repository, every `#anchor` at a heading of its file, and nothing points outside it (the metric
contract lives in docs/definitions.md)."""

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


def heading_anchors(path: Path) -> set[str]:
    """The anchors GitHub gives a file's headings: lower-cased, punctuation dropped, spaces to
    hyphens, a repeated heading numbered. Lines inside code fences are not headings."""
    anchors, fence = set(), ""
    for line in path.read_text(encoding="utf-8").splitlines():
        marker = re.match(r"\s*(`{3,}|~{3,})", line)
        if marker and (not fence or marker.group(1).startswith(fence)):
            fence = "" if fence else marker.group(1)
            continue
        heading = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading and not fence:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).lower()).replace(" ", "-")
            anchor, n = slug, 0
            while anchor in anchors:
                n += 1
                anchor = f"{slug}-{n}"
            anchors.add(anchor)
    return anchors


def test_anchors_point_at_headings():
    problems = []
    for path in markdown_files():
        for target in LINK.findall(path.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+://|mailto:", target) or "#" not in target:
                continue
            name, anchor = target.split("#", 1)
            linked = (path.parent / name).resolve() if name else path
            if linked.suffix == ".md" and linked.exists() and anchor not in heading_anchors(linked):
                problems.append(f"{path.relative_to(ROOT)} -> {target}: no such heading")
    assert not problems, "\n".join(problems)


def test_no_file_points_at_the_shared_folder():
    # The contract's first home was ../shared/SPEC.md, which a clone does not have.
    offenders = []
    for path in [*markdown_files(), ROOT / "dbt_project.yml", *sorted((ROOT / "models").rglob("*.md"))]:
        if "../shared" in path.read_text(encoding="utf-8"):
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, offenders
