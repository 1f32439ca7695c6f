#!/usr/bin/env bash
# A/B run of BENCHMARKS.md: the same load commands against two server binaries
# in one sitting, each scenario on a fresh server and a fresh scratch database,
# with pgbench's durable single-insert rate measured before and after.
#
#   bench/ab.sh OLD_BINARY NEW_BINARY [LOAD_TOOL]
#
# LOAD_TOOL (default NEW_BINARY) runs `tellyou bench` for both, so both are
# driven by the same commands. Reports go to BENCH_DATA (default /tmp/tellyou-ab)
# as <label>-<scenario>.txt and .jsonl. Scenarios, for each binary:
#   long:     direct, 1,000 users, as fast as possible (4 in flight), 60 s;
#             then, on the same server, a group of 500 at 40 msg/s, 20 s
#   steady:   direct, 1,000 users at 2,000 msg/s, 20 s
#   group:    a group of 500 at 40 msg/s on a fresh server, 20 s
#   overload: direct, 1,000 users, as fast as possible with 32 in flight, 20 s
# AB_SCENARIOS (default "long steady group overload") picks a subset; a binary
# given as "-" is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

OLD=${1:?old binary}
NEW=${2:?new binary}
TOOL=${3:-$NEW}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
BENCH_DATA=${BENCH_DATA:-/tmp/tellyou-ab}
LONG_SECONDS=${LONG_SECONDS:-60}
ADDR=${ADDR:-127.0.0.1:18090}
SECRET=ab-bench-secret-0123456789abcdef
mkdir -p "$BENCH_DATA"
scratch=tellyou_ab_$$
db_url() { echo "${PG_ADMIN_URL%/*}/$1?sslmode=disable"; }
work=$(mktemp -d)
server_pid=""

stop_server() {
	if [[ -n $server_pid ]]; then
		kill -TERM "$server_pid" 2>/dev/null || true
		for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$server_pid" 2>/dev/null || true
		server_pid=""
	fi
	psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS ${scratch}_server WITH (FORCE)" >/dev/null 2>&1 || true
}
cleanup() {
	stop_server
	psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS ${scratch}_pgbench WITH (FORCE)" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

pgbench_tps() {
	psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS ${scratch}_pgbench" -c "CREATE DATABASE ${scratch}_pgbench" >/dev/null
	psql -q "$(db_url "${scratch}_pgbench")" -c "CREATE TABLE bench_insert (id bigserial PRIMARY KEY, payload text NOT NULL)" >/dev/null
	echo "INSERT INTO bench_insert (payload) VALUES (repeat('x', 200));" >"$work/insert.sql"
	pgbench -n -f "$work/insert.sql" -c 8 -j 2 -T 20 "$(db_url "${scratch}_pgbench")" 2>/dev/null |
		awk '/^tps = / { printf "%.0f\n", $3; exit }'
}

start_server() { # binary
	stop_server
	psql -q "$PG_ADMIN_URL" -c "CREATE DATABASE ${scratch}_server" >/dev/null
	TELLYOU_DATABASE_URL=$(db_url "${scratch}_server") TELLYOU_JWT_SECRET=$SECRET TELLYOU_ADDR=$ADDR \
		TELLYOU_SEND_RATE=100000 TELLYOU_SEND_BURST=100000 TELLYOU_FRAME_RATE=100000 TELLYOU_FRAME_BURST=100000 \
		"$1" serve >"$work/serve.log" 2>&1 &
	server_pid=$!
	for _ in $(seq 300); do
		curl -sf "http://$ADDR/readyz" >/dev/null && return
		kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.log"; exit 1; }
		sleep 0.2
	done
	echo "server not ready" >&2
	exit 1
}

bench() { # label scenario args...
	local label=$1 name=$2
	shift 2
	TELLYOU_JWT_SECRET=$SECRET "$TOOL" bench --addr "$ADDR" --server-pid "$server_pid" --settle 1m \
		--json "$BENCH_DATA/$label-$name.jsonl" "$@" >"$BENCH_DATA/$label-$name.txt" 2>&1
	grep -E 'rates|send->|overloaded|repeats|missing|server CPU' "$BENCH_DATA/$label-$name.txt" | sed "s/^/  $label $name: /"
}

echo "pgbench before: $(pgbench_tps) tps"
for pair in "old:$OLD" "new:$NEW"; do
	label=${pair%%:*}
	bin=${pair#*:}
	[[ $bin == - ]] && continue
	for scenario in ${AB_SCENARIOS:-long steady group overload}; do
		start_server "$bin"
		case $scenario in
		long)
			bench "$label" long --scenario direct --users 1000 --rate 0 --duration "${LONG_SECONDS}s"
			bench "$label" group-after-long --scenario group --group-size 500 --rate 40 --duration 20s
			;;
		steady) bench "$label" steady --scenario direct --users 1000 --rate 2000 --duration 20s ;;
		group) bench "$label" group --scenario group --group-size 500 --rate 40 --duration 20s ;;
		overload) bench "$label" overload --scenario direct --users 1000 --rate 0 --in-flight 32 --duration 20s ;;
		*) echo "unknown scenario $scenario" >&2; exit 2 ;;
		esac
	done
done
stop_server
echo "pgbench after: $(pgbench_tps) tps"
