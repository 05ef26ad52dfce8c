package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// account is a registered, logged-in user: its access token, the refresh
// token that renews it, and when the access token was asked for.
type account struct {
	ID      int64     `json:"id"`
	Email   string    `json:"email"`
	Token   string    `json:"token"`
	Refresh string    `json:"refresh"`
	At      time.Time `json:"at"`
}

// setupAttempts bounds retries of one setup call (429, 503, network errors).
const setupAttempts = 6

// nickname is a user's nickname: within the protocol's 20 characters.
func (e *environment) nickname(i int) string { return "b" + e.runID + "-" + strconv.Itoa(i) }

// email is a user's email, unique per run.
func (e *environment) email(i int) string {
	return "bench-" + e.runID + "-" + strconv.Itoa(i) + "@example.com"
}

// password is strong enough for the server's checks (long, not numeric,
// not a common password).
func (e *environment) password() string { return "Bench-" + e.runID + "-pw!" }

// setupUsers registers and logs in n users, cfg.Concurrency at a time.
func (e *environment) setupUsers(ctx context.Context, n int) ([]account, error) {
	accts := make([]account, n)
	var mu sync.Mutex
	var errs []error
	forEach(ctx, n, e.cfg.Concurrency, func(ctx context.Context, i int) {
		a, err := e.setupUser(ctx, i)
		if err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
			return
		}
		accts[i] = a
	})
	if len(errs) > 0 {
		return nil, fmt.Errorf("bench: set up %d of %d users failed, first: %w", len(errs), n, errs[0])
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bench: set up users: %w", err)
	}
	return accts, nil
}

// setupUser registers user i (an existing account is fine) and logs in.
func (e *environment) setupUser(ctx context.Context, i int) (account, error) {
	email, pw := e.email(i), e.password()
	reg := map[string]string{"email": email, "password1": pw, "password2": pw, "nickname": e.nickname(i)}
	rest := e.node(i).rest // user i registers and logs in on node i
	err := retry(ctx, func() (int, error) {
		return rest.call(ctx, http.MethodPost, "/user/v1/register/", "", reg, nil)
	})
	if err != nil && !isStatus(err, http.StatusBadRequest) {
		return account{}, fmt.Errorf("register %s: %w", email, err)
	}
	var out struct {
		Access  string `json:"access"`
		Refresh string `json:"refresh"`
		User    struct {
			ID int64 `json:"id"`
		} `json:"user"`
	}
	login := map[string]string{"email": email, "password": pw}
	var at time.Time
	err = retry(ctx, func() (int, error) {
		at = time.Now()
		return rest.call(ctx, http.MethodPost, "/user/v1/login/", "", login, &out)
	})
	if err != nil {
		return account{}, fmt.Errorf("login %s: %w", email, err)
	}
	if out.Access == "" {
		return account{}, fmt.Errorf("login %s: no access token in the answer", email)
	}
	return account{ID: out.User.ID, Email: email, Token: out.Access, Refresh: out.Refresh, At: at}, nil
}

// createRooms creates n rooms, owned round-robin by users.
func (e *environment) createRooms(ctx context.Context, n int, users []account) ([]int64, error) {
	ids := make([]int64, n)
	var mu sync.Mutex
	var errs []error
	forEach(ctx, n, e.cfg.Concurrency, func(ctx context.Context, i int) {
		var out struct {
			ID int64 `json:"id"`
		}
		body := map[string]string{"name": fmt.Sprintf("bench %s room %d", e.runID, i)}
		tok, rest := users[i%len(users)].Token, e.node(i).rest
		err := retry(ctx, func() (int, error) {
			return rest.call(ctx, http.MethodPost, "/chat/v1/room/", tok, body, &out)
		})
		if err == nil && out.ID <= 0 {
			err = errors.New("no room id in the answer")
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, err)
		}
		ids[i] = out.ID
	})
	if len(errs) > 0 {
		return nil, fmt.Errorf("bench: create %d of %d rooms failed, first: %w", len(errs), n, errs[0])
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bench: create rooms: %w", err)
	}
	return ids, nil
}

// maxRetryWait caps one wait between attempts, whatever Retry-After says.
const maxRetryWait = 30 * time.Second

// retry calls fn until it succeeds, fails for good (an HTTP status other
// than 429 or 503), runs out of attempts or ctx ends; it backs off
// exponentially from 100 ms, or as long as a Retry-After header asks.
func retry(ctx context.Context, fn func() (int, error)) error {
	var err error
	for attempt := range setupAttempts {
		var status int
		status, err = fn()
		if err == nil || status != 0 && status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable {
			return err
		}
		wait := 100 * time.Millisecond << attempt
		var se *statusError
		if errors.As(err, &se) {
			wait = max(wait, se.retryAfter)
		}
		select {
		case <-time.After(min(wait, maxRetryWait)):
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		}
	}
	return err
}

// isStatus reports whether err is an errStatus for code.
func isStatus(err error, code int) bool {
	var se *statusError
	return errors.As(err, &se) && se.code == code
}
