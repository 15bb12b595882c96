"""A BigQuery emulator for trying the package on BigQuery by hand (docs/engines.md, "BigQuery"):
bqemulator's server, with two of its faults worked around in its own process only.

- At start bqemulator installs DuckDB's spatial extension (for GEOGRAPHY), which needs the
  network; the package uses no GEOGRAPHY, so here the extension is not loaded.
- Before translating, bqemulator rewrites each decimal literal such as 3.25 to 3.25e0, skipping
  quoted strings, but it takes an apostrophe in a comment for the start of a string: after the
  comment `-- ... the raw row's values`, the time in `cast('2026-12-06 10:47:07.024935' as
  timestamp)` became `...07.024935e0'`, which DuckDB rejects. Here comments are skipped too.

    bqemulator_server.py REST_PORT GRPC_PORT    serves project crm-test, in memory
"""

import re
import sys

import bqemulator.sql.translator as translator
from bqemulator.cli import main
from bqemulator.sql.rewriter import decimal_literals
from bqemulator.storage import engine

# Strings, comments, and the SQL between them.
SEGMENTS = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|--[^\n]*|/\*.*?\*/|[^'"/-]+|.""", re.DOTALL)


def rewrite_outside_strings_and_comments(sql: str) -> str:
    return "".join(
        segment if segment[0] in "'\"" or segment.startswith(("--", "/*"))
        else decimal_literals._DECIMAL_RE.sub(r"\1.\2e0", segment)
        for segment in (match.group(0) for match in SEGMENTS.finditer(sql))
    )


if __name__ == "__main__":
    engine.DuckDBEngine._load_spatial = lambda self: None
    translator.rewrite_decimal_literals = rewrite_outside_strings_and_comments
    sys.argv = [sys.argv[0], "start", "--rest-port", sys.argv[1], "--grpc-port", sys.argv[2],
                "--project", "crm-test", "--log-level", "warning"]
    sys.exit(main())
