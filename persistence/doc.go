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
// The package knows nothing of actors or HTTP.
package persistence
