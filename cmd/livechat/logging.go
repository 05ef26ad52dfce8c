package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// newLogger builds the server's logger: format text or json, level debug,
// info, warn or error (debug when --debug is set).
func newLogger(w io.Writer, format, level string, debug bool) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level (LIVECHAT_LOG_LEVEL): %q is not debug, info, warn or error", level)
	}
	if debug {
		l = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: l}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format (LIVECHAT_LOG_FORMAT): %q is not text or json", format)
}
