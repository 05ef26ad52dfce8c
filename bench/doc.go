// Package bench is LiveChat's load generator: it drives a server over real
// sockets, speaking only the public wire protocol (PROTOCOL.md), and reports
// what a client sees — connections, deliveries, loss, duplicates, order and
// end-to-end latency — together with the server's CPU and memory when given
// its process id.
//
// The package imports nothing of the server, so it can measure any server
// that speaks the protocol.
//
// A run drives one server or several nodes of a cluster (Config.Targets,
// ReadNodes): work item i (socket, user, room, REST worker) goes to node
// i mod N, delivery accounting spans the nodes, and the report adds a
// section per node (nodes.go, report_nodes.go).
//
// Scenarios:
//   - fanout: few senders, big rooms, a fixed or rising send rate;
//   - many-rooms: many small rooms, one sender per room at a fixed rate;
//   - small-rooms: many-rooms with the defaults of a quiet small room
//     (5 rooms of 20, 10 msgs/s per room): the latency floor;
//   - capacity: open N idle authenticated sockets and hold them, spreading
//     them over worker processes when one process may not open that many;
//   - rest: keep-alive REST posting and reading at a bounded concurrency;
//   - churn: connect and disconnect at a rate.
//
// Concurrency contract: Run owns every goroutine it starts and returns only
// after all of them have stopped; every loop is bounded by the run's
// duration and every network call has a deadline, so a run always stops by
// itself. Receivers keep their accounting in per-connection state touched by
// one goroutine only; shared progress counters are atomics; latencies go to
// a sharded, mutex-guarded recorder.
package bench
