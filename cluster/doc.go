// Package cluster runs LiveChat across several processes: each node embeds
// a NATS server with JetStream, the nodes' servers form one NATS cluster,
// and one replicated JetStream stream is the log every write of the
// store goes through. Every node applies the whole log, in order, to its
// own Badger store, which is then a rebuildable replica: reads are local,
// and a write is answered once the log's quorum holds it and this node has
// applied it. Ids, room seq and rev, email uniqueness and client_id
// idempotency are decided when a command is applied, the same way on
// every node, so two nodes serving one room never diverge and need no
// placement to stay correct.
//
// The api, actors and persistence packages know nothing of NATS: the
// store takes a persistence.Replicator, which this package implements.
package cluster
