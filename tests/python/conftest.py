"""Shared pytest setup for the package's suite.

Two suites: `make test` runs the fast one (every test not marked slow), `make test-slow` the
slow one (engines, long incremental sequences, large data, the browser). CI runs both.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The suite's helpers (dbt_project_runner, reference, mart_comparison) and the scripts the
# tests exercise (generators, peers) import by module name.
TESTS_DIR = Path(__file__).resolve().parent
ROOT = TESTS_DIR.parents[1]
for path in (TESTS_DIR, ROOT / "scripts"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: part of the slow suite (make test-slow), not of the fast one (make test)",
    )


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory):
    """The demo with the semantic layer on, built once per session (demo_build.py)."""
    from demo_build import build_demo

    return build_demo(tmp_path_factory.mktemp("demo"))
