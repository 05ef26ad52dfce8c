package persistence

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"livechat/persistence/pb"
)

// Moving a single node's database into a cluster (livechat cluster
// import). The database's records are written as they are, through the
// cluster's log, into a cluster that holds no account and no room yet, so
// every id, seq, rev, marker and revocation is kept. The cluster keeps its
// own signing secret, schema mark and log position.

// ErrClusterNotEmpty means an import found accounts or rooms in the
// cluster: it would mix two databases' ids.
var ErrClusterNotEmpty = errors.New("persistence: the cluster already holds accounts or rooms")

// exported reports a key that an import carries.
func exported(k []byte) bool {
	return !bytes.Equal(k, keySecret) && !bytes.Equal(k, keyApplied) && !bytes.Equal(k, keySchema)
}

// Export calls fn with every record of s an import carries, in key order,
// as of one moment.
func (s *Store) Export(fn func(*pb.ImportedKey) error) error {
	return s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			if !exported(item.Key()) || item.IsDeletedOrExpired() {
				continue
			}
			v, err := item.ValueCopy(nil)
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			if err := fn(&pb.ImportedKey{Key: item.KeyCopy(nil), Value: v, ExpiresAt: item.ExpiresAt()}); err != nil {
				return err
			}
		}
		return nil
	})
}

// HoldsData reports whether s has any account or room.
func (s *Store) HoldsData() (bool, error) {
	found := false
	err := s.view(func(txn *badger.Txn) error {
		for _, p := range [][]byte{prefixUser, prefixRoom} {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: p})
			it.Rewind()
			found = found || it.Valid()
			it.Close()
		}
		return nil
	})
	return found, err
}

// Import writes keys, read from another database by Export, through the
// cluster's log. Only a replica imports, and only into a cluster that
// holds no account and no room (ErrClusterNotEmpty).
func (s *Store) Import(keys []*pb.ImportedKey) error {
	if s.repl == nil {
		return errors.New("persistence: import: not a cluster replica")
	}
	if err := s.space.admit(importSize(keys), true); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	_, err := s.propose("import", &pb.Command{Op: &pb.Command_Import{Import: &pb.Import{Keys: keys}}})
	return err
}

func importSize(keys []*pb.ImportedKey) int64 {
	n := int64(0)
	for _, k := range keys {
		n += int64(len(k.Key) + len(k.Value))
	}
	return n
}

// importLocal applies an Import command.
func (s *Store) importLocal(keys []*pb.ImportedKey) error {
	var hidden []int64
	err := s.update(func(txn *badger.Txn) error {
		hidden = hidden[:0]
		for _, k := range keys {
			if !exported(k.Key) {
				continue // never the cluster's own
			}
			e := badger.NewEntry(k.Key, k.Value)
			e.ExpiresAt = k.ExpiresAt
			if err := txn.SetEntry(e); err != nil {
				return fmt.Errorf("import: %w", err)
			}
			if bytes.HasPrefix(k.Key, prefixHideEmail) && len(k.Key) == len(prefixHideEmail)+8 {
				hidden = append(hidden, lastUint64(k.Key))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.view(func(txn *badger.Txn) error { return s.readMeta(txn, false) }); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if o := s.observer.get(); o != nil {
		for _, id := range hidden {
			o.UserChanged(&pb.User{Id: id, HideEmail: true})
		}
	}
	return nil
}
