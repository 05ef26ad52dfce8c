// Package persistence owns LiveChat's embedded Badger database: the key
// layout, the record encoding (protobuf, see pb/), the batched writer that
// makes chat messages durable, and the read queries the API serves from.
//
// Concurrency: a Store is safe for concurrent use. Chat messages are written
// only through a Writer, which group-commits appends from every room in one
// goroutine and confirms each append, in order, after its batch is durable.
// Accounts and rooms are written in Badger transactions whose conflict
// detection keeps emails and posts unique under concurrent writers.
//
// Memory: Config.MemoryBudget sizes everything the store keeps in memory
// (Badger's memtables, block and index caches, the decoded users and rooms;
// budget.go divides it), and Store.CacheStats reports each against its
// bound.
//
// Every write is first admitted against a free-space reserve on the data
// volume (space.go): Badger faults, rather than fails, on a full disk, so
// the store refuses writes with ErrStorageFull before it gets there, and
// opens read-only a volume already too full. Admission is a few atomic
// operations; a goroutine measures the volume every second.
//
// The package knows nothing of actors or HTTP.
package persistence
