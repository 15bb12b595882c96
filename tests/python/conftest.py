"""Shared pytest setup for the package's suite (settings and the `slow` marker: pyproject.toml).

Two suites: `make test` runs the fast one (every test not marked slow), `make test-slow` the
slow one (engines, long incremental sequences, large data, the browser, the benchmark's peers).
CI runs both.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The suite's helpers (dbt_project_runner, reference, mart_comparison), the scripts the tests
# exercise (generators) and the benchmark's peers (benchmarks/) import by module name.
TESTS_DIR = Path(__file__).resolve().parent
ROOT = TESTS_DIR.parents[1]
for path in (TESTS_DIR, ROOT / "scripts", ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


# What each test file covers, for the count printed at the end of a run; every other file tests
# the package (most build it with dbt). The oracle's self-checks and the generators' tests keep
# the references honest, but a fault in a model cannot make them fail.
SUBJECT_OF_FILE = {
    "test_reference_selfcheck.py": "the oracle (reference self-checks)",
    "test_demo_data.py": "the generators (demo data)",
    "test_peers.py": "the benchmark's peers",
}
PACKAGE = "the package"


def pytest_terminal_summary(terminalreporter):
    """How many of the tests that ran cover the package, the oracle and the generators."""
    ran = {report.nodeid for outcome in ("passed", "failed", "error", "skipped", "xfailed", "xpassed")
           for report in terminalreporter.stats.get(outcome, []) if getattr(report, "nodeid", "")}
    if not ran:
        return
    counts = {PACKAGE: 0}
    for nodeid in ran:
        subject = SUBJECT_OF_FILE.get(Path(nodeid.split("::")[0]).name, PACKAGE)
        counts[subject] = counts.get(subject, 0) + 1
    terminalreporter.write_line("tests by what they cover: " + ", ".join(
        f"{subject} {count}" for subject, count in counts.items() if count))


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory):
    """The demo with the semantic layer on, built once per session (demo_build.py)."""
    from demo_build import build_demo

    return build_demo(tmp_path_factory.mktemp("demo"))
