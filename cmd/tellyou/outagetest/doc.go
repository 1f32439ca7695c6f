// Package outagetest holds tests that run the tellyou binary as a child
// process, as an operator would, against databases the tests can break: a
// PostgreSQL server of their own that they crash and start again, and rows of
// the event log they corrupt and repair with SQL.
//
// The tests build the binary (with the race detector when they run with
// -race). The crash tests need PostgreSQL's server binaries (initdb, pg_ctl,
// under /usr/lib/postgresql/<version>/bin) and, run as root, the postgres OS
// user to run them as; they are skipped when the binaries are missing. The
// others use the machine's PostgreSQL server, as every other test does.
package outagetest
