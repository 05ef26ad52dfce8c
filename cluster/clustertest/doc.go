// Package clustertest runs a LiveChat cluster as real processes on one
// machine, for tests: it builds the livechat binary once (without -race:
// cluster members run as subprocesses, as CLUSTER.md asks), starts N
// `livechat serve` nodes on free loopback ports, and lets a test kill
// (SIGKILL), stop (SIGTERM), pause (SIGSTOP), resume and restart them.
// With Options.Netns each node runs in a network namespace of its own,
// on an address of its own (root and iproute2 needed), so that a test
// can also cut the network between nodes (Cluster.Partition, Heal).
//
// Every wait is bounded. Every node is killed when the test ends, passed
// or failed, and a failed test gets the end of each node's log (any test
// does with LIVECHAT_CLUSTERTEST_LOGS=1).
//
// A Cluster and its Nodes are for one test goroutine; Node.URL and
// Node.Addr may be called from any goroutine.
package clustertest
