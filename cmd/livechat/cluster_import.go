package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"livechat/cluster"
	"livechat/persistence"
)

const clusterImportUsage = `usage: livechat cluster import --from DIR --nats-url URL

Moves a single-node LiveChat's data directory DIR (its server stopped) into
a new cluster, through the cluster's log: every account, room, member,
message (with its id, seq and edits), read marker, revocation and picture,
as they are. URL is any running node's NATS client address (its
--cluster-listen, e.g. nats://127.0.0.1:4222). The cluster must hold no
account and no room yet: import right after the nodes first start, before
clients use it. The cluster keeps its own token signing secret: users log in
again, unless every node was started with the old node's --secret.
`

// runClusterImport is `livechat cluster import`.
func runClusterImport(args []string) int {
	fs := flag.NewFlagSet("cluster import", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	from := fs.String("from", "", "the single node's data directory")
	url := fs.String("nats-url", "", "a cluster node's NATS client address")
	wait := fs.Duration("timeout", time.Minute, "how long to wait for the cluster's log")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Print(clusterImportUsage)
			return 0
		}
		fmt.Fprintln(os.Stderr, "livechat cluster import:", err)
		return 2
	}
	if *from == "" || *url == "" {
		fmt.Fprint(os.Stderr, clusterImportUsage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	st, err := clusterImport(ctx, *from, *url, *wait)
	if err != nil {
		fmt.Fprintln(os.Stderr, "livechat cluster import:", err)
		return 1
	}
	fmt.Printf("imported %d records (%d bytes) and %d media files from %s\n", st.Keys, st.Bytes, st.Files, *from)
	return 0
}

// clusterImport joins the cluster at url as a short-lived member with an
// in-memory replica, and imports dir through it.
func clusterImport(ctx context.Context, dir, url string, wait time.Duration) (cluster.ImportStats, error) {
	quiet := slog.New(slog.DiscardHandler)
	old, err := persistence.Open(persistence.Config{Dir: dir, ReadOnly: true, Logger: quiet})
	if err != nil {
		return cluster.ImportStats{}, err
	}
	defer old.Close()
	mem, err := persistence.Open(persistence.Config{InMemory: true, Logger: quiet})
	if err != nil {
		return cluster.ImportStats{}, err
	}
	defer mem.Close()
	tag := make([]byte, 4)
	_, _ = rand.Read(tag)
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	node, err := cluster.Start(ctx, cluster.Config{Node: "import-" + hex.EncodeToString(tag), NATSURL: url, Logger: quiet})
	if err != nil {
		return cluster.ImportStats{}, err
	}
	defer node.Close()
	replica, err := node.Replicate(ctx, mem)
	if err != nil {
		return cluster.ImportStats{}, err
	}
	defer replica.Close()
	return cluster.Import(old, mem)
}
