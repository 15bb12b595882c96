"""Check the code fences of every tracked Markdown file (run by `make lint`).

A renderer that meets text after a closing fence (```` ``` The demo ... ````) does not close the
block there: everything up to the next fence renders as code. So each fence must be closed, and a
line inside a fence that starts with the fence's own marker must be nothing but that marker.

Usage: check_markdown.py [FILE ...]; without files, every *.md file `git ls-files` lists.
Prints `file:line: problem` for each fault and exits 1 if there is any.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# A fence: three or more backticks or tildes, after any indentation (fences inside list items
# are indented), then the rest of the line (the info string when it opens a block).
FENCE = re.compile(r"^\s*(`{3,}|~{3,})(.*)$")


def tracked_markdown() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / name for name in listed.stdout.splitlines() if (ROOT / name).is_file()]


def fence_problems(text: str) -> list[tuple[int, str]]:
    """(line number, problem) for each fence fault in one Markdown text."""
    problems = []
    opened_at, marker = None, ""
    for number, line in enumerate(text.splitlines(), start=1):
        match = FENCE.match(line)
        if not match:
            continue
        run, rest = match.groups()
        if marker == "":
            if run[0] == "`" and "`" in rest:
                continue  # inline code such as ```x```, not a fence (CommonMark)
            opened_at, marker = number, run
        elif run[0] == marker[0] and len(run) >= len(marker):
            if rest.strip():
                problems.append((number, f"text after a closing fence: {rest.strip()[:40]!r} "
                                         f"(the block opened on line {opened_at} stays open)"))
            else:
                opened_at, marker = None, ""
    if marker:
        problems.append((opened_at, f"code fence {marker!r} opened here is never closed"))
    return problems


def main(argv: list[str]) -> int:
    paths = [Path(arg).resolve() for arg in argv] or tracked_markdown()
    faults = 0
    for path in paths:
        name = path.relative_to(ROOT) if ROOT in path.parents else path
        for number, problem in fence_problems(path.read_text(encoding="utf-8")):
            print(f"{name}:{number}: {problem}")
            faults += 1
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
