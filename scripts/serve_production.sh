#!/usr/bin/env bash
# Production start of the IOC dashboard: N Streamlit processes behind HAProxy, and the worker on PostgreSQL.
#
#   scripts/serve_production.sh
#
# What `make serve` does, without make and without installing anything: the virtual environment (.venv) and the
# database must exist. Meant as a systemd ExecStart (README, "Serving several processes", has the unit), or run by
# hand. Steps: read the environment file if there is one, run `init-db` (adds what a newer version of the code needs,
# keeps the data; safe on every start), then replace this shell by `python -m dashboard serve`, which stops every
# process it started on SIGTERM/SIGINT.
#
# Settings (environment, or the file named by IOC_ENV_FILE, default /etc/default/ioc-dashboard when it exists):
#   IOC_DATABASE_URL   the database, e.g. postgresql+psycopg://ioc:…@localhost/ioc (and every other IOC_ setting)
#   SERVE_WORKERS      app processes (default: the number of CPU cores; each holds about 300 MB once it has drawn a page)
#   SERVE_PORT         port HAProxy listens on (default 8501)
#   SERVE_HOST         address HAProxy listens on (default 0.0.0.0: all)
#   SERVE_RUN_DIR      haproxy.cfg and the processes' logs (default: systemd's $RUNTIME_DIRECTORY, else a new
#                      directory under /tmp)
#   SERVE_OPTIONS      more options for `serve`, e.g. "--no-worker --stats-port 8404"

set -euo pipefail
cd "$(dirname "$0")/.."

env_file="${IOC_ENV_FILE:-/etc/default/ioc-dashboard}"
if [ -f "$env_file" ]; then
    set -a
    # shellcheck disable=SC1090
    . "$env_file"
    set +a
fi

python=.venv/bin/python
if [ ! -x "$python" ]; then
    echo "error: $PWD/$python is missing; run \`make venv\` once (it creates .venv and installs the requirements)" >&2
    exit 2
fi

workers="${SERVE_WORKERS:-$(nproc)}"
run_dir="${SERVE_RUN_DIR:-${RUNTIME_DIRECTORY:-}}"
args=(--workers "$workers" --port "${SERVE_PORT:-8501}" --host "${SERVE_HOST:-0.0.0.0}")
if [ -n "$run_dir" ]; then
    args+=(--run-dir "$run_dir")
fi
# shellcheck disable=SC2206  # SERVE_OPTIONS is a list of words on purpose
args+=(${SERVE_OPTIONS:-})

"$python" -m dashboard init-db
exec "$python" -m dashboard serve "${args[@]}"
