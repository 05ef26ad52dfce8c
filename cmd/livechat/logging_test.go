package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
)

// TestLogFlags checks --log-format and --log-level: both formats, every
// level, --debug winning, and unknown values refused with the flag named.
func TestLogFlags(t *testing.T) {
	var buf bytes.Buffer
	log, err := newLogger(&buf, "json", "warn", false)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown", "k", 1)
	if out := buf.String(); strings.Contains(out, "hidden") || !strings.HasPrefix(out, `{"time":`) || !strings.Contains(out, `"msg":"shown","k":1`) {
		t.Errorf("json at warn wrote %q", out)
	}
	buf.Reset()
	log, err = newLogger(&buf, "text", "error", true)
	if err != nil {
		t.Fatal(err)
	}
	if !log.Enabled(context.Background(), slog.LevelDebug) {
		t.Error("--debug did not enable debug")
	}
	log.Debug("d")
	if out := buf.String(); !strings.Contains(out, "level=DEBUG msg=d") {
		t.Errorf("text at debug wrote %q", out)
	}
	for _, bad := range [][2]string{{"xml", "info"}, {"text", "loud"}} {
		_, err := newLogger(io.Discard, bad[0], bad[1], false)
		if err == nil || !strings.Contains(err.Error(), "LIVECHAT_LOG_") {
			t.Errorf("newLogger(%q, %q): %v, want an error naming the variable", bad[0], bad[1], err)
		}
	}
	cfg, err := parseServeFlags(nil, func(name string) string {
		return map[string]string{"LIVECHAT_LOG_FORMAT": "json", "LIVECHAT_LOG_LEVEL": "debug", "LIVECHAT_METRICS_ADDR": "127.0.0.1:9999"}[name]
	})
	if err != nil || cfg.logFormat != "json" || cfg.logLevel != "debug" || cfg.metricsAddr != "127.0.0.1:9999" {
		t.Errorf("environment not read: %+v %v", cfg, err)
	}
}
