# Sourced by benchmark scripts: starts a throwaway PostgreSQL cluster (Debian's postgresql package, installed by
# scripts/install-system-deps) with the server's default durability (fsync and synchronous_commit on) on a free
# loopback port, in $PG_HOME (default benchmarks/store/.pg), creates database `bench`, exports PG_URL, and stops it
# and removes it when the calling script exits (chaining an existing EXIT trap, if any).
PG_HOME=${PG_HOME:-"$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/.pg"}
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
rm -rf "$PG_HOME" && mkdir -p "$PG_HOME"
PG_AS=()
if [ "$(id -u)" = 0 ]; then chown postgres "$PG_HOME"; PG_AS=(runuser -u postgres --); fi
PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_HOME/data" -A trust -U postgres -E UTF8 >/dev/null
"${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_HOME/data" -o "-p $PG_PORT -k $PG_HOME -c listen_addresses=127.0.0.1 -c max_connections=100" \
    -l "$PG_HOME/log" -w start >/dev/null
pg_stop() { "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_HOME/data" -m fast stop >/dev/null 2>&1 || true; rm -rf "$PG_HOME"; }
trap pg_stop EXIT
"$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres bench
export PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/bench?sslmode=disable"
