package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
)

// workerEnv makes the test binary act as a capacity worker process, so
// the multi-process path is tested with the real process protocol.
const workerEnv = "LIVECHAT_BENCH_TEST_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) == "1" {
		log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		if err := RunWorker(context.Background(), os.Stdin, os.Stdout, log); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
