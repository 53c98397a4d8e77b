#!/usr/bin/env bash
# Run a command beside throw-away services on 127.0.0.1, each on a free port and stopped by its PID:
#   a PostgreSQL cluster (initdb in a temporary folder; Debian's postgresql installed if missing)
#   a Dask scheduler and two Dask workers (`distributed` from the project's virtualenv)
# The command sees SANITATION_TEST_POSTGRES_URL and SANITATION_TEST_DASK_SCHEDULER.
#   usage: bash .ci/with_services.sh .venv/bin/python -m pytest -q [ARGS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${SANITATION_VENV_BIN:-$root/.venv/bin}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sanitation-services.XXXXXX")
chmod 711 "$tmp"  # PostgreSQL (run as postgres when we are root) must reach its folder inside
pids=()

stop_services() {  # the last started first: the workers, then the scheduler, then PostgreSQL
  local pid i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[$i]}
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap stop_services EXIT

free_port() {
  "$bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for() {  # wait_for SECONDS WHAT COMMAND...: poll until COMMAND succeeds
  local seconds=$1 what=$2; shift 2
  for _ in $(seq $((seconds * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "with_services: $what did not start within ${seconds} s (logs in $tmp)" >&2
  cat "$tmp"/*.log >&2 || true
  return 1
}

# --- PostgreSQL ---------------------------------------------------------------------------------
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$pg_bin" ]; then
  (apt-get update && apt-get install -y postgresql) >"$tmp/apt.log" 2>&1 \
    || { echo "with_services: could not install postgresql (not root?)" >&2; cat "$tmp/apt.log" >&2; exit 1; }
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
as_pg=()
if [ "$(id -u)" = 0 ]; then  # PostgreSQL refuses to run as root: run it as Debian's postgres user
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  as_pg=(runuser -u postgres --)
fi
mkdir -p "$tmp/pg"
[ ${#as_pg[@]} -eq 0 ] || chown postgres "$tmp/pg"
chmod 700 "$tmp/pg"
"${as_pg[@]}" "$pg_bin/initdb" -D "$tmp/pg/data" -U postgres --auth=trust --encoding=UTF8 \
  >"$tmp/initdb.log" 2>&1 || { cat "$tmp/initdb.log" >&2; exit 1; }
pg_port=$(free_port)
"${as_pg[@]}" "$pg_bin/postgres" -D "$tmp/pg/data" -h 127.0.0.1 -p "$pg_port" -k "$tmp/pg" \
  -c fsync=off -c max_connections=200 >"$tmp/postgres.log" 2>&1 &
pids+=($!)
wait_for 30 "PostgreSQL" "$pg_bin/pg_isready" -h 127.0.0.1 -p "$pg_port" -U postgres
export SANITATION_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$pg_port/postgres"

# --- Dask ---------------------------------------------------------------------------------------
dask_port=$(free_port)
"$bin/dask" scheduler --host 127.0.0.1 --port "$dask_port" --no-dashboard \
  >"$tmp/dask-scheduler.log" 2>&1 &
pids+=($!)
export SANITATION_TEST_DASK_SCHEDULER="tcp://127.0.0.1:$dask_port"
wait_for 30 "the Dask scheduler" "$bin/python" -c \
  "import socket; socket.create_connection(('127.0.0.1', $dask_port), 1)"
for n in 1 2; do
  # not daemonic, so that a task may start its own process pool; no statistical profiler
  # (docs/scaling.md: it takes CPU from the solves)
  DASK_DISTRIBUTED__WORKER__DAEMON=False DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False \
    "$bin/dask" worker "$SANITATION_TEST_DASK_SCHEDULER" \
    --host 127.0.0.1 --nworkers 1 --nthreads 1 --no-dashboard --name "ci-worker-$n" \
    >"$tmp/dask-worker-$n.log" 2>&1 &
  pids+=($!)
done
wait_for 60 "two Dask workers" "$bin/python" -c "
from distributed import Client
with Client('$SANITATION_TEST_DASK_SCHEDULER', timeout=5) as c:
    c.wait_for_workers(2, timeout=5)
"

status=0
"$@" || status=$?
exit "$status"
