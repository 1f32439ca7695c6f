// Package multinodetest runs two `tellyou serve` processes as an operator
// would scale out: one fresh PostgreSQL database shared by both, the
// machine's NATS server (127.0.0.1:4222, JetStream) as the bus between them
// under a stream prefix of the test's own. Users connected to different
// nodes chat; one node is killed; its projections and its clients move to
// the other; nothing acked is lost.
//
// The tests build the binary (with the race detector when they run with
// -race). They are skipped only when no NATS server answers.
package multinodetest
