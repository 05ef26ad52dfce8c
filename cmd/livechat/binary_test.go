package main

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLivechatBinary runs the built command as an operator would: the
// version the build stamped, and starts that stop at once, with exit code 2
// and a message naming the setting, instead of serving with a default.
func TestLivechatBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the livechat binary")
	}
	const stamped = "v0.0.0-test+stamped"
	bin := filepath.Join(t.TempDir(), "livechat")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-ldflags", "-X main.version="+stamped, "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// Each start below must end by itself; one that serves is killed here
	// and fails its check.
	run := func(t *testing.T, env []string, name string, args ...string) (code int, stdout, stderr string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir = t.TempDir() // no stray .env, and ./data lands here
		cmd.Env = append(cleanEnv(), env...)
		var out, errw bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errw
		err := cmd.Run()
		var exit *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &exit) && ctx.Err() == nil:
			code = exit.ExitCode()
		default:
			t.Fatalf("%s %v: %v (still serving after 10 s?)\n%s", name, args, err, errw.String())
		}
		return code, out.String(), errw.String()
	}
	serve := []string{"serve", "--addr", "127.0.0.1:0", "--in-memory"}

	t.Run("version", func(t *testing.T) {
		code, out, _ := run(t, nil, bin, "version")
		if code != 0 || out != "livechat "+stamped+"\n" {
			t.Errorf("livechat version: exit %d, %q; want livechat %s", code, out, stamped)
		}
	})
	t.Run("help", func(t *testing.T) {
		code, out, _ := run(t, nil, bin, "serve", "-h")
		if code != 0 || !strings.Contains(out, "--max-body int") || !strings.Contains(out, "[LIVECHAT_MAX_BODY, default 65536]") {
			t.Errorf("serve -h: exit %d\n%s", code, out)
		}
	})
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"size not a number", []string{"LIVECHAT_MAX_BODY=abc"}, nil, `LIVECHAT_MAX_BODY="abc": want a whole number`},
		{"negative size", []string{"LIVECHAT_MAX_BODY=-1"}, nil, "LIVECHAT_MAX_BODY=-1: must be at least 1"},
		{"unknown durability", []string{"LIVECHAT_DURABILITY=never"}, nil, "LIVECHAT_DURABILITY=never: must be fsync or os"},
		{"short secret", []string{"SECRET_KEY=too-short"}, nil, "SECRET_KEY (9 bytes): a signing key needs at least 32 bytes"},
		{"bcrypt cost", nil, []string{"--bcrypt-cost", "2"}, "--bcrypt-cost 2: must be between 4 and 31"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := run(t, tc.env, bin, append(serve, tc.args...)...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and %q", code, stderr, tc.want)
			}
		})
	}
	t.Run("open-file limit", func(t *testing.T) {
		// ulimit -n lowers the soft and the hard limit, so the server
		// cannot raise it back.
		code, _, stderr := run(t, nil, "bash", append([]string{"-c", `ulimit -n 200 && exec "$0" "$@"`, bin}, serve...)...)
		if code == 0 || !strings.Contains(stderr, "the open-file limit is 200") || !strings.Contains(stderr, "LimitNOFILE") {
			t.Errorf("exit %d, stderr:\n%s\nwant a start error naming the open-file limit", code, stderr)
		}
	})
}
