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

// commonPasswords is a list of the most used passwords of eight
// characters or more (shorter ones fail the length check anyway): what
// guessing tries first. Django's own list is longer (20,000); this one
// holds the few hundred that lead every published list.
var commonPasswords = func() map[string]bool {
	m := map[string]bool{}
	for _, p := range strings.Fields(`password password1 password12 password123 passw0rd 12345678
		123456789 1234567890 qwerty123 qwertyuiop 11111111 00000000 iloveyou abc12345
		abcd1234 1q2w3e4r 1qaz2wsx letmein1 welcome1 welcome123 admin123 administrator
		sunshine princess football baseball dragon123 monkey123 trustno1 superman batman123
		starwars whatever master123 computer internet michael1 jennifer shadow12 qazwsxedc
		zaq12wsx asdfghjkl asdfasdf zxcvbnm1 zxcvbnm123 987654321 87654321 12341234 123123123
		11223344 changeme testtest test1234 password! p@ssw0rd secret123 freedom1 charlie1
		liverpool chelsea1 arsenal1 mustang1 access14 letmein123 loveyou1 lovely123 hello123
		hellohello google123 samsung1 iloveyou1 qwer1234 asdf1234 1234qwer 123qweasd q1w2e3r4
		q1w2e3r4t5 aaaaaaaa 88888888 66666666 12121212 a1b2c3d4 pokemon1 naruto123 whatever1
		abcdefgh qwertyui asdfghjk zxcvbnm12 football1 superman1 1q2w3e4r5t jordan23 abc123456
		iloveyou2 letmein! baseball1 basketball sunshine1 princess1 password2 password7 password01
		123456789a a123456789 1234567a qwerty12 qwerty1234 qwerty12345 asdfgh123 michelle jessica1
		babygirl1 butterfly chocolate computer1 corvette cowboys1 dolphins elephant 12qwaszx
		1qazxsw2 zaq1zaq1 !qaz2wsx qazwsx123 1qaz2wsx3edc 123qweasdzxc q1w2e3r4t5y6 147258369
		741852963 789456123 1234567891 0987654321 123456123 12344321 11112222 13131313 99999999
		77777777 55555555 44444444 33333333 22222222 10203040 1111111111 0000000000 passpass
		pass1234 password1! welcome! welcome2 letmein12 trustno1! starwars1 pokemon123 minecraft
		minecraft1 nintendo pikachu1 spiderman superman12 blink182 metallica slipknot liverpool1
		arsenal123 chelsea123 manchester barcelona juventus ronaldo7 mercedes ferrari1 porsche1
		yankees1 steelers jennifer1 michael12 jordan123 jasmine1 charlotte samantha victoria
		elizabeth alexander christopher nicholas jonathan benjamin iloveyou! iloveyou123 loveyou2
		lovelove sweetheart angel123 babygirl princesa monkey12 dragon12 shadow123 master12
		sunshine12 freedom12 whatever! qwertyu1 asdfasdf1 zxczxczx qweqweqwe asdasdasd
		facebook facebook1 linkedin twitter1 youtube1 instagram hello1234 helloworld welcome1!
		changeme1 default1 passw0rd! p@ssword p@ssw0rd1 pa$$w0rd admin1234 administrator1 root1234
		toor1234 guest123 user1234 test12345 testing123 demo1234 qwerty!@# 1q2w3e4r! 12345678a
		1234567890a aa123456 aaa12345 abcd12345 abcdef12 123abc123 abc123abc qwerty123456
		1q2w3e4r5t6y 123qwe123 qwe123qwe zaq12wsx3edc azertyuiop azerty123 qwertz123 passwort
		motdepasse contraseña 1234abcd abcdefg1 987654321a iloveu123 mustang123 summer2024
		winter2024 spring2024 autumn2024 summer123 winter123 letmeinnow secret12 secret1234`) {
		m[p] = true
	}
	return m
}()
