package main

import (
	"runtime/debug"
	"testing"
)

func TestBuildVersion(t *testing.T) {
	info := func(main string, settings ...string) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			bi := &debug.BuildInfo{Main: debug.Module{Version: main}}
			for i := 0; i+1 < len(settings); i += 2 {
				bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
			}
			return bi, true
		}
	}
	const rev = "7963b90aa7e1c2d3e4f5a6b7c8d9e0f1a2b3c4d5"
	for _, tc := range []struct {
		name, set string
		read      func() (*debug.BuildInfo, bool)
		want      string
	}{
		{"set by the Makefile", "v1.4.0-3-g7963b90-dirty", info("(devel)", "vcs.revision", rev), "v1.4.0-3-g7963b90-dirty"},
		{"vcs revision", "", info("(devel)", "vcs.revision", rev, "vcs.modified", "false"), "7963b90aa7e1"},
		{"vcs revision, modified", "", info("(devel)", "vcs.revision", rev, "vcs.modified", "true"), "7963b90aa7e1-dirty"},
		{"module version", "", info("v1.2.3"), "v1.2.3"},
		{"nothing known", "", info("(devel)"), "devel"},
		{"no build info", "", func() (*debug.BuildInfo, bool) { return nil, false }, "devel"},
	} {
		if got := buildVersion(tc.set, tc.read); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
