package cluster

import (
	"fmt"

	"livechat/persistence"
	"livechat/persistence/pb"
)

// ImportStats counts what Import carried.
type ImportStats struct {
	Keys  int   // database records
	Bytes int64 // their size
	Files int   // media files (pictures)
}

// importChunk is the most bytes of records in one log entry: well under
// the log's 8 MiB entry limit, big enough that an import takes few entries.
const importChunk = 1 << 20

// Import copies the single-node database from into the cluster that to
// is a replica of: every record as it is (ids, seqs, revs, markers,
// revocations), then every media file, all through the cluster's log. The
// cluster must hold no account and no room yet (ErrClusterNotEmpty): run it
// on a new cluster before anyone uses it. The cluster keeps its own
// signing secret.
func Import(from, to *persistence.Store) (ImportStats, error) {
	var st ImportStats
	if err := to.Sync(); err != nil {
		return st, fmt.Errorf("cluster import: %w", err)
	}
	held, err := to.HoldsData()
	if err != nil {
		return st, fmt.Errorf("cluster import: %w", err)
	}
	if held {
		return st, fmt.Errorf("cluster import: %w", persistence.ErrClusterNotEmpty)
	}
	var batch []*pb.ImportedKey
	size := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := to.Import(batch); err != nil {
			return err
		}
		batch, size = nil, 0
		return nil
	}
	err = from.Export(func(k *pb.ImportedKey) error {
		batch = append(batch, k)
		n := len(k.Key) + len(k.Value)
		size += n
		st.Keys++
		st.Bytes += int64(n)
		if size >= importChunk {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return st, fmt.Errorf("cluster import: records: %w", err)
	}
	err = from.Media().Walk(func(name string, data []byte) error {
		st.Files++
		return to.Media().Put(name, data)
	})
	if err != nil {
		return st, fmt.Errorf("cluster import: media: %w", err)
	}
	return st, nil
}
