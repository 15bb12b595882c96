#!/usr/bin/env bash
# Engines for the cross-engine comparison: installs what is missing, runs a throw-away
# PostgreSQL cluster and the Snowflake emulator, and runs compare_engines.py against them.
#
#   engines.sh install              PostgreSQL (apt) and Java if missing; requirements-engines.txt
#                                   into .venv; requirements-engines-snowflake.txt into .venv-snowflake
#   engines.sh start DIR            a new cluster under DIR (empty or missing), listening on 127.0.0.1
#   engines.sh stop DIR             stops the cluster under DIR
#   engines.sh start-snowflake DIR  the Snowflake emulator (fakesnow, in memory) on 127.0.0.1, its
#                                   pid and log under DIR
#   engines.sh stop-snowflake DIR   stops it
#   engines.sh test [ARGS]          install, start a cluster and the emulator in a temp dir, compare
#                                   (Spark beside the others; ARGS: one compare_engines.py run),
#                                   run the host project's tests and the incremental sequences on
#                                   PostgreSQL, always stop both and remove the temp dir
#
# The port and database come from CRM_PG_PORT and CRM_PG_DBNAME, the emulator's port from
# CRM_SNOWFLAKE_PORT, as in profiles.yml.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PG_PORT="${CRM_PG_PORT:-55432}"
PG_DBNAME="${CRM_PG_DBNAME:-crm_retention}"
PG_USER="${CRM_PG_USER:-postgres}"
SNOWFLAKE_VENV="${CRM_SNOWFLAKE_VENV:-$ROOT/.venv-snowflake}"
SNOWFLAKE_PORT="${CRM_SNOWFLAKE_PORT:-55490}"

log() { echo "[engines] $*" >&2; }

# Debian puts the server binaries outside PATH; take the newest installed major version.
pg_bin() {
    if command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v pg_ctl)")"
        return 0
    fi
    local found
    found="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [ -n "$found" ] && [ -x "$found/pg_ctl" ]; then
        echo "$found"
    fi
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# initdb refuses to run as root, so root runs the cluster as the postgres OS user.
as_cluster_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

install() {
    local apt_packages=()
    [ -n "$(pg_bin)" ] || apt_packages+=(postgresql)
    command -v java >/dev/null 2>&1 || apt_packages+=(openjdk-17-jre-headless)
    if [ "${#apt_packages[@]}" -gt 0 ]; then
        log "installing ${apt_packages[*]} from apt"
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        python3 -m venv "$VENV"
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
        "$VENV/bin/python" -m pip install --quiet -r "$ROOT/requirements.txt"
    fi
    # A stamp newer than both requirement files means the adapters are already in place.
    local stamp="$VENV/.engines-installed"
    if [ ! -f "$stamp" ] || [ "$ROOT/requirements-engines.txt" -nt "$stamp" ] || [ "$ROOT/requirements.txt" -nt "$stamp" ]; then
        log "installing requirements-engines.txt into $VENV"
        "$VENV/bin/python" -m pip install --quiet -r "$ROOT/requirements.txt" -r "$ROOT/requirements-engines.txt"
        touch "$stamp"
    fi
    # Snowflake's adapter and emulator in a virtual environment of their own
    # (requirements-engines-snowflake.txt says why).
    stamp="$SNOWFLAKE_VENV/.installed"
    if [ ! -f "$stamp" ] || [ "$ROOT/requirements-engines-snowflake.txt" -nt "$stamp" ]; then
        log "installing requirements-engines-snowflake.txt into $SNOWFLAKE_VENV"
        python3 -m venv "$SNOWFLAKE_VENV"
        "$SNOWFLAKE_VENV/bin/python" -m pip install --quiet --upgrade pip
        "$SNOWFLAKE_VENV/bin/python" -m pip install --quiet -r "$ROOT/requirements-engines-snowflake.txt"
        touch "$stamp"
    fi
}

start() {
    local dir="$1" bin
    bin="$(pg_bin)"
    [ -n "$bin" ] || { log "pg_ctl not found: run '$0 install' first"; exit 1; }
    mkdir -p "$dir"
    [ "$(id -u)" -ne 0 ] || chown postgres: "$dir"
    # C locale: text sorts by bytes, as in DuckDB and Spark, so ordered window functions agree.
    as_cluster_owner "$bin/initdb" --pgdata="$dir/data" --username="$PG_USER" --auth=trust \
        --locale=C --encoding=UTF8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    as_cluster_owner "$bin/pg_ctl" --pgdata="$dir/data" --log="$dir/server.log" --wait --silent \
        -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$dir -c fsync=off -c timezone=UTC" \
        start || { cat "$dir/server.log" >&2; exit 1; }
    as_cluster_owner "$bin/createdb" --host=127.0.0.1 --port="$PG_PORT" --username="$PG_USER" "$PG_DBNAME"
    log "PostgreSQL $("$bin/pg_ctl" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT, database $PG_DBNAME"
}

stop() {
    local dir="$1" bin
    bin="$(pg_bin)"
    if [ -n "$bin" ] && [ -f "$dir/data/postmaster.pid" ]; then
        as_cluster_owner "$bin/pg_ctl" --pgdata="$dir/data" --mode=fast --wait --silent stop || true
    fi
}

# The emulator with the harness's two fixes (scripts/engines/fakesnow_server.py), in memory:
# everything it holds goes when it stops.
start_snowflake() {
    local dir="$1"
    mkdir -p "$dir"
    "$SNOWFLAKE_VENV/bin/python" "$ROOT/scripts/engines/fakesnow_server.py" "$SNOWFLAKE_PORT" \
        >"$dir/fakesnow.log" 2>&1 &
    echo $! >"$dir/fakesnow.pid"
    local waited=0
    until "$SNOWFLAKE_VENV/bin/python" -c "import socket; socket.create_connection(('127.0.0.1', $SNOWFLAKE_PORT), 1)" 2>/dev/null; do
        if ! kill -0 "$(cat "$dir/fakesnow.pid")" 2>/dev/null || [ "$waited" -ge 60 ]; then
            cat "$dir/fakesnow.log" >&2
            log "the Snowflake emulator did not start on 127.0.0.1:$SNOWFLAKE_PORT"
            exit 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
    log "Snowflake emulator (fakesnow) on 127.0.0.1:$SNOWFLAKE_PORT"
}

stop_snowflake() {
    local dir="$1" pid
    [ -f "$dir/fakesnow.pid" ] || return 0
    pid="$(cat "$dir/fakesnow.pid")"
    # The server stops on SIGINT (as on Ctrl-C); SIGKILL if it has not within 10 s.
    kill -INT "$pid" 2>/dev/null || return 0
    for _ in $(seq 10); do
        kill -0 "$pid" 2>/dev/null || { rm -f "$dir/fakesnow.pid"; return 0; }
        sleep 1
    done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$dir/fakesnow.pid"
}

cleanup() {
    # errexit stays off here: a failed step must not skip stopping the cluster and the emulator.
    set +e
    stop "$CLUSTER_DIR"
    stop_snowflake "$CLUSTER_DIR"
    rm -rf "$CLUSTER_DIR"
}

run_test() {
    install
    # Global, not local: the EXIT trap runs after this function has returned.
    CLUSTER_DIR="$(mktemp -d "${TMPDIR:-/tmp}/crm-engines-pg.XXXXXX")"
    # The cluster must not outlive the run, whatever way it ends.
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    start "$CLUSTER_DIR"
    start_snowflake "$CLUSTER_DIR"
    local python="$VENV/bin/python" compare="$ROOT/scripts/engines/compare_engines.py" status=0 spark_pid=""
    if [ $# -gt 0 ]; then
        # Arguments for compare_engines.py (--engines, --keep ...): one comparison with them.
        "$python" "$compare" "$@" || status=1
    else
        # Two at a time on two cores: Spark (its own DuckDB reference, then the tests that need
        # only an adapter, marked engines) beside the engines served here; Spark's output
        # follows theirs.
        ( "$python" "$compare" --engines spark && "$python" -m pytest "$ROOT/tests/python" -q -p no:cacheprovider -m engines ) \
            > "$CLUSTER_DIR/spark.log" 2>&1 &
        spark_pid=$!
        "$python" "$compare" --engines postgres,snowflake,redshift || status=1
    fi
    stop_snowflake "$CLUSTER_DIR"
    # The host project (integration_tests/) on PostgreSQL: its default build with the package's
    # unit tests, the one-table sales export against the reference, every switch, and incremental
    # mode with the package's models in schemas of the host's own.
    log "the host project on PostgreSQL"
    CRM_TARGET=postgres "$python" -m pytest "$ROOT/tests/python/test_integration_project.py" \
        "$ROOT/tests/python/test_host_switches.py" "$ROOT/tests/python/test_incremental_host.py" -q -p no:cacheprovider \
        || status=1
    # Incremental mode on PostgreSQL: the seeded random sequences of the property test
    # (CRM_PG_SEQUENCES of them, default 5; the slow suite runs 50 on DuckDB).
    log "incremental sequences on PostgreSQL"
    CRM_TARGET=postgres CRM_SEQUENCES="${CRM_PG_SEQUENCES:-5}" "$python" -m pytest \
        "$ROOT/tests/python/test_incremental_sequences.py" -q -p no:cacheprovider -m slow || status=1
    if [ -n "$spark_pid" ]; then
        log "Spark, and the tests that need the engine adapters"
        wait "$spark_pid" || status=1
        cat "$CLUSTER_DIR/spark.log"
    else
        log "tests that need the engine adapters"
        "$python" -m pytest "$ROOT/tests/python" -q -p no:cacheprovider -m engines || status=1
    fi
    return $status
}

command="${1:-}"
shift || true
case "$command" in
    install) install ;;
    start) start "${1:?usage: $0 start DIR}" ;;
    stop) stop "${1:?usage: $0 stop DIR}" ;;
    start-snowflake) start_snowflake "${1:?usage: $0 start-snowflake DIR}" ;;
    stop-snowflake) stop_snowflake "${1:?usage: $0 stop-snowflake DIR}" ;;
    test) run_test "$@" ;;
    *) echo "usage: $0 install | start DIR | stop DIR | start-snowflake DIR | stop-snowflake DIR | test [compare_engines.py args]" >&2; exit 2 ;;
esac
