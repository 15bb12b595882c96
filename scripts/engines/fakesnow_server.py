"""The Snowflake emulator of `make test-engines`: fakesnow's HTTP server, with two of its
emulation differences undone (docs/engines.md, "Snowflake through fakesnow"). Both run in the
emulator's process only: the package's SQL is what real Snowflake runs.

fakesnow runs Snowflake SQL on DuckDB. To emulate Snowflake's implicit cast of text in numeric
aggregates, it wraps the argument of every SUM, AVG, MEDIAN, STDDEV and VARIANCE in
TRY_CAST(... AS DOUBLE), so that a sum of NUMBER(38, 6) money comes back as a float
(3944.4599999999996 where Snowflake returns 3944.46). The package never aggregates text, so here
the aggregates keep their argument's type, as on Snowflake.

fakesnow sends a timestamp to the client as a struct of epoch and fraction without marking the
null ones, so a null timestamp reads as 1970-01-01 00:00:00 (the table holds null: `is null` is
true). Here the struct carries the column's nulls.

    fakesnow_server.py PORT     serves on 127.0.0.1:PORT until interrupted (SIGINT)
"""

import sys

import fakesnow.arrow as arrow
import fakesnow.transforms as transforms
import pyarrow as pa
from fakesnow import cli

timestamp_struct_without_nulls = arrow.timestamp_to_sf_struct


def keep_argument_type(expression):
    return expression


def timestamp_struct(timestamps):
    if isinstance(timestamps, pa.ChunkedArray):
        timestamps = timestamps.combine_chunks()
    struct = timestamp_struct_without_nulls(timestamps)
    fields = list(struct.type)
    return pa.StructArray.from_arrays([struct.field(field.name) for field in fields], fields=fields,
                                      mask=timestamps.is_null())


if __name__ == "__main__":
    transforms.numeric_agg_implicit_cast = keep_argument_type
    arrow.timestamp_to_sf_struct = timestamp_struct
    sys.exit(cli.main(["--server", "--port", sys.argv[1]]))
