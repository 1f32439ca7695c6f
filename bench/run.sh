#!/usr/bin/env bash
# The reference run of BENCHMARKS.md. It measures PostgreSQL's durable
# single-insert rate with pgbench (one 200-byte INSERT per transaction, 8
# clients, 20 s) on a scratch database, then drives a TellYou server with
# `tellyou bench` and prints each scenario's delivered messages/s as a ratio of
# that rate. It uses the server at TELLYOU_ADDR when one answers there (then
# TELLYOU_JWT_SECRET or TELLYOU_DATABASE_URL must match it); otherwise it starts
# `go run ./cmd/tellyou serve` on a scratch database and stops it at the end.
# Everything is bounded; the scratch databases are dropped on exit.
#
#   bench/run.sh
#   BENCH_SECONDS=60 BENCH_IDLE=10000 bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
BENCH_SECONDS=${BENCH_SECONDS:-60}   # the as-fast-as-possible direct run
STEADY_SECONDS=${STEADY_SECONDS:-20} # the fixed-rate runs
BENCH_USERS=${BENCH_USERS:-1000}
BENCH_IDLE=${BENCH_IDLE:-10000}
export TELLYOU_ADDR=${TELLYOU_ADDR:-127.0.0.1:8080}

scratch=tellyou_bench_$$
db_url() { echo "${PG_ADMIN_URL%/*}/$1?sslmode=disable"; }
work=$(mktemp -d)
server_pgid=""
cleanup() {
	if [[ -n $server_pgid ]]; then
		kill -TERM -- "-$server_pgid" 2>/dev/null || true
		for _ in $(seq 100); do kill -0 -- "-$server_pgid" 2>/dev/null || break; sleep 0.2; done
		kill -KILL -- "-$server_pgid" 2>/dev/null || true
	fi
	psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS ${scratch}_pgbench WITH (FORCE)" >/dev/null 2>&1 || true
	psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS ${scratch}_server WITH (FORCE)" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
ulimit -n 65536 2>/dev/null || true

echo "== pgbench: one 200-byte INSERT per transaction, -c 8 -j 2 -T 20"
psql -q "$PG_ADMIN_URL" -c "CREATE DATABASE ${scratch}_pgbench"
psql -q "$(db_url "${scratch}_pgbench")" -c "CREATE TABLE bench_insert (id bigserial PRIMARY KEY, payload text NOT NULL)"
echo "INSERT INTO bench_insert (payload) VALUES (repeat('x', 200));" >"$work/insert.sql"
pgbench -n -f "$work/insert.sql" -c 8 -j 2 -T 20 "$(db_url "${scratch}_pgbench")" | tee "$work/pgbench.out"
tps=$(awk '/^tps = / { printf "%.0f", $3; exit }' "$work/pgbench.out")
echo "pgbench durable single inserts: $tps tps"

go build -o "$work/tellyou" ./cmd/tellyou
if curl -sf "http://$TELLYOU_ADDR/readyz" >/dev/null; then
	echo "== using the server at $TELLYOU_ADDR"
else
	echo "== starting go run ./cmd/tellyou serve at $TELLYOU_ADDR on a scratch database"
	export TELLYOU_DATABASE_URL
	TELLYOU_DATABASE_URL=$(db_url "${scratch}_server")
	export TELLYOU_JWT_SECRET=${TELLYOU_JWT_SECRET:-bench-secret-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')}
	setsid go run ./cmd/tellyou serve >"$work/serve.log" 2>&1 &
	server_pgid=$!
	for _ in $(seq 600); do
		curl -sf "http://$TELLYOU_ADDR/readyz" >/dev/null && break
		kill -0 "$server_pgid" 2>/dev/null || { cat "$work/serve.log"; exit 1; }
		sleep 0.2
	done
	curl -sf "http://$TELLYOU_ADDR/readyz" >/dev/null || { echo "server not ready"; cat "$work/serve.log"; exit 1; }
fi

# settle waits, at most 3 minutes, until the server uses under a tenth of a
# core for 2 s: pushes still queued from one scenario must not count against
# the next.
settle() {
	local cpu prev
	prev=$(curl -sf "http://$TELLYOU_ADDR/metrics" | awk '$1 == "process_cpu_seconds_total" { print $2 }')
	for _ in $(seq 90); do
		sleep 2
		cpu=$(curl -sf "http://$TELLYOU_ADDR/metrics" | awk '$1 == "process_cpu_seconds_total" { print $2 }')
		awk -v a="$prev" -v b="$cpu" 'BEGIN { exit !(b - a < 0.2) }' && return 0
		prev=$cpu
	done
	echo "(server still busy after 3 minutes)"
}

# bench NAME ARGS...: runs one scenario, prints its table and the ratio.
bench() {
	local name=$1
	shift
	settle
	echo "== $name: tellyou bench $*"
	timeout 15m "$work/tellyou" bench --addr "$TELLYOU_ADDR" --json "$@" 2>/dev/null >"$work/$name.out"
	sed -n '/^{/q;p' "$work/$name.out"
	local delivered
	delivered=$(grep -o '"deliveredPerSec": [0-9.e+]*' "$work/$name.out" | awk '{ printf "%.0f", $2 }')
	if [[ -n $tps && $tps != 0 && -n $delivered ]]; then
		awk -v d="$delivered" -v t="$tps" -v n="$name" 'BEGIN { printf "%s: %s delivered/s = %.2f x pgbench single-insert tps (%s)\n", n, d, d / t, t }'
	fi
}
bench direct-max --scenario direct --users "$BENCH_USERS" --rate 0 --duration "${BENCH_SECONDS}s"
bench direct-2000 --scenario direct --users "$BENCH_USERS" --rate 2000 --duration "${STEADY_SECONDS}s"
bench group-500 --scenario group --group-size 500 --rate 40 --duration "${STEADY_SECONDS}s"
bench mixed --scenario mixed --users 200 --rate 1000 --duration "${STEADY_SECONDS}s"
bench reconnect --scenario reconnect --users 200 --rate 500 --duration "${STEADY_SECONDS}s"
bench idle --scenario idle --users "$BENCH_IDLE" --sources 4 --duration 10s
