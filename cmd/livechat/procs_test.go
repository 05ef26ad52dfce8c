package main

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// The governor goes to one processor once the last procsDownSamples
// samples on all of them average under procsDown (a busy sample among
// quiet ones only delays it), back to all of them on the first sample over
// procsUp, and a load between the marks moves it neither way.
func TestProcGovernorMarks(t *testing.T) {
	g := &procGovernor{max: 4, cur: 4}
	quiet, between, busy := procsDown/2, (procsDown+procsUp)/2, procsUp*1.1
	type step struct {
		cores float64
		want  int
	}
	var steps []step
	for range procsDownSamples { // between the marks on all: stays
		steps = append(steps, step{between, 4})
	}
	// A spike holds the window's mean over procsDown while it is in it.
	steps = append(steps, step{procsDown * procsDownSamples, 4})
	for range procsDownSamples - 1 {
		steps = append(steps, step{quiet, 4})
	}
	steps = append(steps,
		step{quiet, 1},                                     // the busy sample left the window: the mean is quiet
		step{between, 1}, step{quiet, 1}, step{procsUp, 1}, // up to the mark on one: stays
		step{busy, 4}, // busy: every processor at once
	)
	for range procsDownSamples - 1 { // a new window starts at the change
		steps = append(steps, step{quiet, 4})
	}
	steps = append(steps, step{quiet, 1})
	for i, s := range steps {
		if got := g.next(s.cores); got != s.want {
			t.Fatalf("sample %d (%.2f cores): %d processors, want %d", i, s.cores, got, s.want)
		}
	}
}

// The built server with the default --procs goes to one processor when
// idle, back to two once requests keep it busy, and to one again after.
func TestServerAdaptsProcessorsToLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the livechat binary")
	}
	t.Setenv("GOMAXPROCS", "2") // the child's ceiling, whatever this machine has
	bin := buildLivechat(t, t.TempDir())
	srv := startLivechat(t, bin, t.TempDir(), "--log-level", "debug", "--bcrypt-cost", "12", "--durability", "os")
	switches := func() string {
		var seen []string
		for line := range strings.Lines(srv.stderr.String()) {
			if strings.Contains(line, "msg=processors") {
				_, procs, _ := strings.Cut(line, "procs=")
				seen = append(seen, strings.Fields(procs)[0])
			}
		}
		return strings.Join(seen, ",")
	}
	waitFor := func(want string, within time.Duration) {
		t.Helper()
		eventually(t, within, func() error {
			if got := switches(); got != want {
				return fmt.Errorf("processor switches %q, want %q", got, want)
			}
			return nil
		})
	}
	waitFor("1", 15*time.Second)

	// Registrations hash passwords at cost 12 (a few hundred ms of CPU
	// each): four at a time keep the one processor busy.
	c := newCrashClient(srv.url)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failed error
	var mu sync.Mutex
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				status, body, err := c.do("POST", "/user/v1/register/", "", map[string]string{
					"email": fmt.Sprintf("load-%d-%d@example.com", w, i), "password1": crashPassword, "password2": crashPassword, "nickname": fmt.Sprintf("load%d_%d", w, i)})
				if err == nil && status != http.StatusCreated {
					err = fmt.Errorf("register: %d %s", status, body)
				}
				if err != nil {
					mu.Lock()
					failed = errors.Join(failed, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	eventually(t, 20*time.Second, func() error {
		if got := switches(); got != "1,2" {
			return fmt.Errorf("processor switches %q under load, want \"1,2\"", got)
		}
		return nil
	})
	close(stop)
	wg.Wait()
	if failed != nil {
		t.Fatal(failed)
	}
	waitFor("1,2,1", 15*time.Second)
}
