#!/usr/bin/env bash
# Provisions what the service needs on this machine, so that `make run` and
# `make test` work on a fresh Debian machine (as root) and on a laptop alike:
#
#   scripts/services.sh deps   Python dependencies into .venv (bootstraps uv)
#   scripts/services.sh up [STATE]    PostgreSQL and Redis on loopback, unless
#                                     DATABASE_URL / REDIS_URL point elsewhere;
#                                     notes in STATE what this call started
#   scripts/services.sh down [STATE]  stops what STATE says was started (without
#                                     STATE: the servers running from .data/)
#   scripts/services.sh replica [STATE]  a hot standby of the local PostgreSQL
#                                     (pg_basebackup, streaming replication) on
#                                     LOCAL_REPLICA_PORT (default: its port + 1);
#                                     prints its URL. `up` starts it too when
#                                     LOCAL_REPLICA=1
#   scripts/services.sh replica-down  stops the standby
#   scripts/services.sh browser       Debian's chromium for the browser tests
#                                     (as root; otherwise those tests are skipped)
#   scripts/services.sh wrk           Debian's wrk, the load generator of
#                                     `make bench WORKLOAD=side-by-side` (as root)
#
# The servers keep their data under .data/ in the checkout (ignored by git)
# and listen on 127.0.0.1 only, on ports the settings' defaults point at, so
# `.venv/bin/python manage.py ...` works from the checkout with no extra
# environment. A server that already answers on its port is reused.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${LOCAL_DATA_DIR:-$ROOT/.data}"
PG_PORT="${LOCAL_PG_PORT:-55432}"
REDIS_PORT="${LOCAL_REDIS_PORT:-56379}"
REPLICA_PORT="${LOCAL_REPLICA_PORT:-$((PG_PORT + 1))}"
PG_USER=travel
PG_DB=travel

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" -eq 0 ]; }

apt_install() {
    is_root || die "$* is missing; install it (Debian: apt-get install $*) or set DATABASE_URL/REDIS_URL"
    command -v apt-get >/dev/null || die "$* is missing and this is not a Debian-like system"
    log "installing Debian packages: $*"
    # The packages' own init scripts may try to start system-wide servers;
    # policy-rc.d keeps them from doing so, ours run from .data/.
    local policy=/usr/sbin/policy-rc.d created_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
    [ "$created_policy" -eq 1 ] && rm -f "$policy"
    return 0
}

cmd_deps() {
    # uv comes from the system's Python, never from the checkout's own .venv
    # (no pip, no uv in it), even when the caller put .venv/bin first on PATH.
    PATH="$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$ROOT/.venv/bin" | paste -sd: -)"
    local uv=(uv)
    if ! command -v uv >/dev/null 2>&1; then
        uv=(python3 -m uv)
        if ! python3 -m uv --version >/dev/null 2>&1; then
            log "bootstrapping uv with pip"
            python3 -m pip install --quiet --user uv 2>/dev/null \
                || python3 -m pip install --quiet --user --break-system-packages uv 2>/dev/null \
                || python3 -m pip install --quiet uv
        fi
    fi
    log "installing Python dependencies (uv sync --frozen)"
    (cd "$ROOT" && "${uv[@]}" sync --frozen --quiet)
}

# --- PostgreSQL -------------------------------------------------------------

pg_bindir() {
    local debian
    debian="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    if [ -n "$debian" ]; then printf '%s' "$debian"; return; fi
    if command -v pg_ctl >/dev/null 2>&1; then dirname "$(readlink -f "$(command -v pg_ctl)")"; fi
}

# PostgreSQL refuses to run as root: as root, the server runs as `postgres`.
pg_as_owner() {
    if is_root; then
        id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

pg_data_dir() {
    local dir="$DATA/postgres"
    if is_root; then
        mkdir -p "$DATA"
        if ! runuser -u postgres -- test -x "$DATA" 2>/dev/null; then
            # The checkout sits where `postgres` cannot reach (e.g. under /root).
            dir="/var/tmp/travel-inventory-$(printf '%s' "$ROOT" | md5sum | cut -c1-12)/postgres"
        fi
    fi
    printf '%s' "$dir"
}

pg_up() {
    if [ -n "${DATABASE_URL:-}" ]; then log "DATABASE_URL is set: using it"; return; fi
    local bin pgdata
    bin="$(pg_bindir)"
    if [ -z "$bin" ] || [ ! -x "$bin/pg_ctl" ]; then
        apt_install postgresql postgresql-contrib
        bin="$(pg_bindir)"
    fi
    if "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
        log "PostgreSQL already answers on 127.0.0.1:$PG_PORT"
    else
        pgdata="$(pg_data_dir)"
        mkdir -p "$pgdata"
        is_root && chown -R postgres "$(dirname "$pgdata")"
        chmod 700 "$pgdata"
        if [ ! -s "$pgdata/PG_VERSION" ]; then
            log "initialising PostgreSQL in $pgdata"
            pg_as_owner "$bin/initdb" -D "$pgdata" -U "$PG_USER" --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
            cat >>"$pgdata/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$pgdata'
max_connections = 300
shared_buffers = 256MB
EOF
        fi
        log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
        # The port as asked now, whatever the data directory was first made with.
        pg_as_owner "$bin/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" -o "-p $PG_PORT" \
            -w -t 60 start >/dev/null
        printf 'postgres %s\n' "$pgdata" >>"$STATE"
    fi
    if ! "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'" | grep -q 1; then
        "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" "$PG_DB"
    fi
}

pg_down() {
    local pgdata bin
    pgdata="$(awk '$1 == "postgres" {print $2}' "$STATE" 2>/dev/null | tail -n 1)"
    [ -n "$pgdata" ] && [ -f "$pgdata/postmaster.pid" ] || return 0
    bin="$(pg_bindir)"
    log "stopping PostgreSQL"
    pg_as_owner "$bin/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null || true
}

# --- The hot standby ---------------------------------------------------------
# PostgreSQL's own streaming replication: a base backup of the local primary
# (its defaults already allow it: wal_level=replica, max_wal_senders=10 and
# initdb's `host replication` line in pg_hba.conf), started read-only on its own
# port. No replication slot, so a standby left stopped never makes the primary
# keep WAL without bound; one that fell too far behind is cloned again.

replica_data_dir() { printf '%s-replica' "$(pg_data_dir)"; }

replica_clone() {
    local bin="$1" dir="$2"
    log "cloning the primary into $dir (pg_basebackup)"
    pg_as_owner "$bin/pg_ctl" -D "$dir" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    mkdir -p "$dir"
    is_root && chown postgres "$dir"
    chmod 700 "$dir"
    pg_as_owner "$bin/pg_basebackup" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -D "$dir" \
        --write-recovery-conf --wal-method=stream --checkpoint=fast 2>&1 \
        | { grep -v "skipping special file" || true; } >&2
    cat >>"$dir/postgresql.conf" <<EOF
port = $REPLICA_PORT
unix_socket_directories = '$dir'
hot_standby = on
EOF
}

replica_streaming() {
    local bin="$1"
    for _ in $(seq 1 "$2"); do
        "$bin/psql" -h 127.0.0.1 -p "$REPLICA_PORT" -U "$PG_USER" -d postgres -tAc \
            "SELECT status FROM pg_stat_wal_receiver" 2>/dev/null | grep -q streaming && return 0
        sleep 0.2
    done
    return 1
}

replica_start() {
    local bin="$1" dir="$2"
    log "starting the PostgreSQL standby on 127.0.0.1:$REPLICA_PORT"
    pg_as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start >/dev/null
}

replica_up() {
    if [ -n "${DATABASE_URL:-}" ]; then
        die "DATABASE_URL is set: put your own replicas in DATABASE_REPLICA_URLS"
    fi
    local bin dir
    bin="$(pg_bindir)"
    dir="$(replica_data_dir)"
    if ! "$bin/pg_isready" -q -h 127.0.0.1 -p "$REPLICA_PORT"; then
        [ -e "$dir/standby.signal" ] || replica_clone "$bin" "$dir"
        replica_start "$bin" "$dir"
        printf 'replica %s\n' "$dir" >>"$STATE"
    fi
    if ! replica_streaming "$bin" 75; then
        log "the standby does not stream (see $dir/server.log): cloning it again"
        replica_clone "$bin" "$dir"
        replica_start "$bin" "$dir"
        replica_streaming "$bin" 75 || die "the standby does not stream (see $dir/server.log)"
    fi
    printf 'postgres://%s@127.0.0.1:%s/%s\n' "$PG_USER" "$REPLICA_PORT" "$PG_DB"
}

replica_down() {
    local dir
    dir="$(awk '$1 == "replica" {print $2}' "$STATE" 2>/dev/null | tail -n 1)"
    [ -n "$dir" ] && [ -f "$dir/postmaster.pid" ] || return 0
    log "stopping the PostgreSQL standby"
    pg_as_owner "$(pg_bindir)/pg_ctl" -D "$dir" -m fast -w stop >/dev/null || true
}

# --- Redis --------------------------------------------------------------------

redis_up() {
    if [ -n "${REDIS_URL:-}" ]; then log "REDIS_URL is set: using it"; return; fi
    command -v redis-server >/dev/null 2>&1 || apt_install redis-server
    if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
        log "Redis already answers on 127.0.0.1:$REDIS_PORT"
        return
    fi
    mkdir -p "$DATA/redis"
    log "starting Redis on 127.0.0.1:$REDIS_PORT"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes \
        --dir "$DATA/redis" --pidfile "$DATA/redis/redis.pid" --logfile "$DATA/redis/redis.log" \
        --save "" --appendonly no
    for _ in $(seq 1 50); do
        redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null || die "Redis did not start (see $DATA/redis/redis.log)"
    printf 'redis %s\n' "$REDIS_PORT" >>"$STATE"
}

redis_down() {
    grep -q '^redis ' "$STATE" 2>/dev/null || return 0
    log "stopping Redis"
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
}

# --- Chromium, for the browser tests (tests/admin/test_browser.py) --------------

cmd_browser() {
    if [ -x /usr/bin/chromium ]; then return; fi
    if ! is_root || ! command -v apt-get >/dev/null; then
        log "no /usr/bin/chromium and no way to install it here: the browser tests will be skipped"
        return
    fi
    # Without recommends, chromium comes without any font to draw text with.
    apt_install chromium fonts-liberation
}

all_local_servers() {
    printf 'postgres %s\nredis %s\nreplica %s\n' "$(pg_data_dir)" "$REDIS_PORT" "$(replica_data_dir)"
}

# --- wrk, for the side-by-side bench (loadtest/side_by_side.py) ---------------

cmd_wrk() {
    command -v wrk >/dev/null 2>&1 || apt_install wrk
}

case "${1:-}" in
    deps) cmd_deps ;;
    browser) cmd_browser ;;
    wrk) cmd_wrk ;;
    up)
        mkdir -p "$DATA"
        STATE="${2:-/dev/null}"
        pg_up
        redis_up
        if [ "${LOCAL_REPLICA:-0}" = 1 ]; then replica_up >/dev/null; fi
        ;;
    down)
        STATE="${2:-}"
        if [ -z "$STATE" ]; then STATE="$(mktemp)"; all_local_servers >"$STATE"; fi
        redis_down
        replica_down
        pg_down
        ;;
    replica)
        mkdir -p "$DATA"
        STATE="${2:-/dev/null}"
        pg_up
        replica_up
        ;;
    replica-down)
        STATE="$(mktemp)"
        printf 'replica %s\n' "$(replica_data_dir)" >"$STATE"
        replica_down
        rm -f "$STATE"
        ;;
    *) die "usage: $0 deps|up|down|replica|replica-down|browser|wrk" ;;
esac
