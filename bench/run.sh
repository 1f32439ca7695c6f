#!/usr/bin/env bash
# The reference run of BENCHMARKS.md. It measures PostgreSQL's durable
# single-insert rate with pgbench (one 200-byte INSERT per transaction, 8
# clients, 20 s) on a scratch database, then drives a TellYou server with
# `tellyou bench`: the scenarios, each with its delivered messages/s as a
# ratio of that rate; a sweep of offered load; a fan-out run over group sizes;
# idle connections; and plots the sweep and the fan-out run.
#
# It uses the server at TELLYOU_ADDR when one answers there (then
# TELLYOU_JWT_SECRET or TELLYOU_DATABASE_URL must match it, and groups beyond
# 1,000 members need it to run with TELLYOU_MAX_GROUP_MEMBERS; BENCH_SERVER_PID
# and BENCH_DEBUG_ADDR, when set, are passed as --server-pid and
# --debug-addr). Otherwise it builds the binary, starts `tellyou serve` on a
# scratch database with room for the largest group and pprof on a loopback
# port, and stops it at the end. Every step waits for an idle server first.
# Everything is bounded; the scratch databases are dropped on exit.
#
#   bench/run.sh
#   BENCH_SECONDS=60 BENCH_IDLE=18000 bench/run.sh
#   BENCH_PARTS="sweep fanout plot" bench/run.sh      # the figures only
#
# The sweep and fan-out reports (one JSON object per step) and the figures
# go to BENCH_DATA (default docs/): bench-sweep.jsonl, bench-fanout.jsonl,
# bench-latency-throughput.png, bench-fanout.png.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
BENCH_PARTS=${BENCH_PARTS:-pgbench scenarios sweep fanout idle plot}
BENCH_SECONDS=${BENCH_SECONDS:-60}   # the as-fast-as-possible direct run
STEADY_SECONDS=${STEADY_SECONDS:-20} # the fixed-rate runs
STEP_SECONDS=${STEP_SECONDS:-20}     # each step of the sweep and the fan-out run
BENCH_USERS=${BENCH_USERS:-1000}
BENCH_SWEEP=${BENCH_SWEEP:-500,1000,2000,4000,8000,max}
BENCH_GROUP_SIZES=${BENCH_GROUP_SIZES:-10,100,500,2000,10000}
BENCH_GROUP_RATE=${BENCH_GROUP_RATE:-40}
BENCH_IDLE=${BENCH_IDLE:-18000} # past 15,000 the connections are spread over worker processes
BENCH_DATA=${BENCH_DATA:-docs}
export TELLYOU_ADDR=${TELLYOU_ADDR:-127.0.0.1:8080}

scratch=tellyou_bench_$$
db_url() { echo "${PG_ADMIN_URL%/*}/$1?sslmode=disable"; }
wants() { [[ " $BENCH_PARTS " == *" $1 "* ]]; }
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
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

tps=""
if wants pgbench; then
	echo "== pgbench: one 200-byte INSERT per transaction, -c 8 -j 2 -T 20"
	psql -q "$PG_ADMIN_URL" -c "CREATE DATABASE ${scratch}_pgbench"
	psql -q "$(db_url "${scratch}_pgbench")" -c "CREATE TABLE bench_insert (id bigserial PRIMARY KEY, payload text NOT NULL)"
	echo "INSERT INTO bench_insert (payload) VALUES (repeat('x', 200));" >"$work/insert.sql"
	pgbench -n -f "$work/insert.sql" -c 8 -j 2 -T 20 "$(db_url "${scratch}_pgbench")" | tee "$work/pgbench.out"
	tps=$(awk '/^tps = / { printf "%.0f", $3; exit }' "$work/pgbench.out")
	echo "pgbench durable single inserts: $tps tps"
fi

go build -o "$work/tellyou" ./cmd/tellyou
server_flags=()
if curl -sf "http://$TELLYOU_ADDR/readyz" >/dev/null; then
	echo "== using the server at $TELLYOU_ADDR"
	[[ -n ${BENCH_SERVER_PID:-} ]] && server_flags+=(--server-pid "$BENCH_SERVER_PID")
	[[ -n ${BENCH_DEBUG_ADDR:-} ]] && server_flags+=(--debug-addr "$BENCH_DEBUG_ADDR")
else
	echo "== starting tellyou serve at $TELLYOU_ADDR on a scratch database"
	export TELLYOU_DATABASE_URL TELLYOU_JWT_SECRET TELLYOU_MAX_GROUP_MEMBERS TELLYOU_DEBUG_ADDR
	TELLYOU_DATABASE_URL=$(db_url "${scratch}_server")
	TELLYOU_JWT_SECRET=${TELLYOU_JWT_SECRET:-bench-secret-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')}
	# Room for the largest group of the fan-out run, and at least the default.
	TELLYOU_MAX_GROUP_MEMBERS=${TELLYOU_MAX_GROUP_MEMBERS:-$(tr , '\n' <<<"1000,$BENCH_GROUP_SIZES" | sort -n | tail -1)}
	TELLYOU_DEBUG_ADDR=${TELLYOU_DEBUG_ADDR:-127.0.0.1:$((${TELLYOU_ADDR##*:} + 1000))}
	setsid "$work/tellyou" serve >"$work/serve.log" 2>&1 &
	server_pgid=$!
	for _ in $(seq 600); do
		curl -sf "http://$TELLYOU_ADDR/readyz" >/dev/null && break
		kill -0 "$server_pgid" 2>/dev/null || { cat "$work/serve.log"; exit 1; }
		sleep 0.2
	done
	curl -sf "http://$TELLYOU_ADDR/readyz" >/dev/null || { echo "server not ready"; cat "$work/serve.log"; exit 1; }
	server_flags+=(--server-pid "$server_pgid" --debug-addr "$TELLYOU_DEBUG_ADDR")
fi

# bench NAME ARGS...: runs `tellyou bench` (which waits for an idle server
# before each step), prints its tables, keeps its step reports in
# $work/NAME.jsonl and prints a single step's delivered messages/s as a ratio
# of pgbench's rate.
bench() {
	local name=$1
	shift
	echo "== $name: tellyou bench $*"
	timeout 30m "$work/tellyou" bench --addr "$TELLYOU_ADDR" "${server_flags[@]}" --json "$work/$name.jsonl" "$@" 2>"$work/$name.err" ||
		{ cat "$work/$name.err"; return 1; }
	local delivered
	delivered=$(grep -o '"deliveredPerSec":[0-9.e+]*' "$work/$name.jsonl" | awk -F: 'END { if (NR == 1) printf "%.0f", $2 }')
	if [[ -n $tps && $tps != 0 && -n $delivered ]]; then
		awk -v d="$delivered" -v t="$tps" -v n="$name" 'BEGIN { printf "%s: %s delivered/s = %.2f x pgbench single-insert tps (%s)\n", n, d, d / t, t }'
	fi
}

if wants scenarios; then
	bench direct-max --scenario direct --users "$BENCH_USERS" --rate 0 --duration "${BENCH_SECONDS}s"
	bench direct-2000 --scenario direct --users "$BENCH_USERS" --rate 2000 --duration "${STEADY_SECONDS}s"
	bench group-500 --scenario group --group-size 500 --rate 40 --duration "${STEADY_SECONDS}s"
	bench mixed --scenario mixed --users 200 --rate 1000 --duration "${STEADY_SECONDS}s"
	bench reconnect --scenario reconnect --users 200 --rate 500 --duration "${STEADY_SECONDS}s"
fi
if wants sweep; then
	bench sweep --scenario direct --users "$BENCH_USERS" --sweep "$BENCH_SWEEP" --step-duration "${STEP_SECONDS}s"
	mkdir -p "$BENCH_DATA" && cp "$work/sweep.jsonl" "$BENCH_DATA/bench-sweep.jsonl"
fi
if wants fanout; then
	bench fanout --scenario group --group-sizes "$BENCH_GROUP_SIZES" --rate "$BENCH_GROUP_RATE" --step-duration "${STEP_SECONDS}s" --sources 4
	mkdir -p "$BENCH_DATA" && cp "$work/fanout.jsonl" "$BENCH_DATA/bench-fanout.jsonl"
fi
if wants idle; then
	bench idle --scenario idle --users "$BENCH_IDLE" --sources 4 --duration 10s
fi
if wants plot; then
	note="$(nproc) cores, $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $(date -u +%F)"
	plot_args=()
	[[ -f $BENCH_DATA/bench-sweep.jsonl ]] && plot_args+=(-sweep "$BENCH_DATA/bench-sweep.jsonl" -latency-png "$BENCH_DATA/bench-latency-throughput.png")
	[[ -f $BENCH_DATA/bench-fanout.jsonl ]] && plot_args+=(-fanout "$BENCH_DATA/bench-fanout.jsonl" -fanout-png "$BENCH_DATA/bench-fanout.png")
	if ((${#plot_args[@]} > 0)); then
		go run ./bench/plot "${plot_args[@]}" -note "$note"
		echo "== figures in $BENCH_DATA: bench-latency-throughput.png, bench-fanout.png"
	fi
fi
