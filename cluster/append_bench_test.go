package cluster

import (
	"sync"
	"testing"

	"livechat/persistence"
	"livechat/persistence/pb"
)

// BenchmarkReplicatedAppend posts messages through the log of a
// three-node in-process cluster, from every node at once, 64 in flight per
// node, into 16 rooms, and reports messages appended and applied per
// second: the cluster's message throughput with every node on this
// machine's two cores.
func BenchmarkReplicatedAppend(b *testing.B) {
	nodes := startAll(b, testCluster(b, 3))
	stores := replicas(b, nodes)
	const rooms = 16
	for r := range rooms {
		if err := stores[0].CreateRoom(&pb.Room{Name: "bench", Owner: 1, Id: int64(r + 1)}); err != nil {
			b.Fatal(err)
		}
	}
	for _, st := range stores {
		if err := st.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	routed := routeMsgs(b, nodes)
	b.ResetTimer()
	var wg sync.WaitGroup
	work := make(chan int, 1024)
	var failed sync.Once
	for i, st := range stores {
		for range 64 {
			wg.Go(func() {
				for k := range work {
					done := make(chan error, 1)
					m := &pb.Message{Room: int64(k%rooms + 1), SenderId: int64(i + 1), Text: "hello from the benchmark"}
					st.ProposeRecord(persistence.Record{Message: m}, func(_ persistence.AppliedRecord, err error) { done <- err })
					if err := <-done; err != nil {
						failed.Do(func() { b.Error(err) })
					}
				}
			})
		}
	}
	for k := range b.N {
		work <- k
	}
	close(work)
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(routeMsgs(b, nodes)-routed)/float64(b.N), "route-msgs/msg")
}

// routeMsgs is how many messages the nodes' NATS servers sent each other
// so far: everything that crossed between nodes (log replication and
// acknowledgements, consumer deliveries, events).
func routeMsgs(b *testing.B, nodes []*Node) int64 {
	var n int64
	for _, node := range nodes {
		t, ok := node.RouteTraffic()
		if !ok {
			b.Fatal("no route counters: the node runs no embedded NATS")
		}
		n += t.MsgsOut
	}
	return n
}
