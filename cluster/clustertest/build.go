package clustertest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var build struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// Binary builds the livechat command once per test process, without the
// race detector whatever the tests run with, and returns its path.
func Binary(tb testing.TB) string {
	tb.Helper()
	build.once.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			build.err = fmt.Errorf("clustertest: the go command is needed to build livechat: %w", err)
			return
		}
		if build.dir, err = os.MkdirTemp("", "livechat-clustertest-"); err != nil {
			build.err = err
			return
		}
		build.path = filepath.Join(build.dir, "livechat")
		cmd := exec.Command(goTool, "build", "-o", build.path, "livechat/cmd/livechat")
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("clustertest: go build livechat: %w\n%s", err, out)
		}
	})
	if build.err != nil {
		tb.Fatal(build.err)
	}
	return build.path
}

// RemoveBinary deletes what Binary built; a TestMain calls it after the
// tests ran.
func RemoveBinary() {
	if build.dir != "" {
		_ = os.RemoveAll(build.dir)
	}
}
