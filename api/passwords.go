package api

import (
	"context"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// hasher runs bcrypt, slow on purpose, on the request's goroutine but at
// most HashConcurrency at once, so a burst of logins cannot starve the
// rest of the server of CPU.
type hasher struct {
	cost  int
	slots chan struct{}
	dummy []byte // compared against for unknown emails, so timing does not tell
}

func newHasher(cost, concurrency int) *hasher {
	h := &hasher{cost: cost, slots: make(chan struct{}, concurrency)}
	h.dummy, _ = bcrypt.GenerateFromPassword([]byte("livechat-timing-equaliser"), cost)
	return h
}

func (h *hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return errUnavailable
	}
}

func (h *hasher) hash(ctx context.Context, password string) ([]byte, error) {
	if err := h.acquire(ctx); err != nil {
		return nil, err
	}
	defer func() { <-h.slots }()
	return bcrypt.GenerateFromPassword([]byte(password), h.cost)
}

// check compares password with hash; a nil hash compares against a dummy
// so that an unknown email costs as much as a wrong password.
func (h *hasher) check(ctx context.Context, hash []byte, password string) (bool, error) {
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer func() { <-h.slots }()
	if hash == nil {
		_ = bcrypt.CompareHashAndPassword(h.dummy, []byte(password))
		return false, nil
	}
	return bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil, nil
}

// passwordProblems returns Django's validators' messages for a weak password.
func passwordProblems(pw string) []string {
	var out []string
	if len([]rune(pw)) < 8 {
		out = append(out, "This password is too short. It must contain at least 8 characters.")
	}
	if commonPasswords[strings.ToLower(pw)] {
		out = append(out, "This password is too common.")
	}
	if pw != "" && strings.Trim(pw, "0123456789") == "" {
		out = append(out, "This password is entirely numeric.")
	}
	// bcrypt refuses longer passwords rather than silently truncating them.
	if len(pw) > maxPasswordBytes {
		out = append(out, "This password is too long. It must contain at most 72 bytes (UTF-8).")
	}
	return out
}

// maxPasswordBytes is bcrypt's input limit.
const maxPasswordBytes = 72

// commonPasswords is a short list of the most used passwords (bcrypt's
// 72-byte limit aside, these are what guessing tries first).
var commonPasswords = func() map[string]bool {
	m := map[string]bool{}
	for _, p := range strings.Fields(`password password1 password12 password123 passw0rd 12345678
		123456789 1234567890 qwerty qwerty123 qwertyuiop 11111111 00000000 iloveyou abc12345
		abcd1234 1q2w3e4r 1qaz2wsx letmein1 welcome1 welcome123 admin123 administrator
		sunshine princess football baseball dragon123 monkey123 trustno1 superman batman123
		starwars whatever master123 computer internet michael1 jennifer shadow12 qazwsxedc
		zaq12wsx asdfghjkl asdfasdf zxcvbnm1 zxcvbnm123 987654321 87654321 12341234 123123123
		11223344 changeme testtest test1234 password! p@ssw0rd secret123 freedom1 charlie1
		liverpool chelsea1 arsenal1 mustang1 access14 letmein123 loveyou1 lovely123 hello123
		hellohello google123 samsung1 iloveyou1 qwer1234 asdf1234 1234qwer 123qweasd q1w2e3r4
		q1w2e3r4t5 aaaaaaaa 88888888 66666666 12121212 a1b2c3d4 pokemon1 naruto123 whatever1`) {
		m[p] = true
	}
	return m
}()
