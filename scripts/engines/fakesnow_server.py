"""The Snowflake emulator of `make test-engines`: fakesnow's HTTP server, with three of its
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

fakesnow parses each statement with sqlglot on its server's event loop, so while it parses a
large one it answers nothing; the connector gives up waiting and sends the request again (same
requestId), and fakesnow refused the resend because the session was still busy with the first.
Snowflake answers a resent request with the first one's result; here too.

    fakesnow_server.py PORT     serves on 127.0.0.1:PORT until interrupted (SIGINT or SIGTERM)
"""

import sys

import asyncio

import fakesnow.arrow as arrow
import fakesnow.server as server
import fakesnow.transforms as transforms
import pyarrow as pa
import uvicorn
from starlette.routing import request_response

timestamp_struct_without_nulls = arrow.timestamp_to_sf_struct


def keep_argument_type(expression):
    return expression


# requestId -> the task answering it: every response is kept for the emulator's short life.
ANSWERS: dict[str, asyncio.Future] = {}
query_request_each_time = server.query_request


async def query_request_once(request):
    request_id = request.query_params.get("requestId")
    if not request_id:
        return await query_request_each_time(request)
    if request_id not in ANSWERS:
        ANSWERS[request_id] = asyncio.ensure_future(query_request_each_time(request))
    # Shielded: a client that stopped waiting does not cancel the answer its resend will get.
    return await asyncio.shield(ANSWERS[request_id])


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
    for route in server.routes:
        if route.path == "/queries/v1/query-request":
            route.endpoint, route.app = query_request_once, request_response(query_request_once)
    # What `fakesnow --server` runs, in the foreground: uvicorn stops on SIGINT and SIGTERM.
    uvicorn.run(server.app, host="127.0.0.1", port=int(sys.argv[1]), log_level="info")
