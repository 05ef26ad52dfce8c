package api

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"time"
	"unicode"

	"github.com/valyala/fasthttp"

	"livechat/actors"
	"livechat/persistence"
	pspb "livechat/persistence/pb"
)

// userJSON is the user object of PROTOCOL.md, as its owner sees it:
// with the email and the email switch.
type userJSON struct {
	ID                int64   `json:"id"`
	Email             string  `json:"email"`
	Nickname          string  `json:"nickname"`
	ProfilePictureURL *string `json:"profile_picture_url"`
	DateJoined        string  `json:"date_joined"`
	HideEmail         bool    `json:"hide_email"`
}

func toUserJSON(u *pspb.User) userJSON {
	return userJSON{ID: u.Id, Email: u.Email, Nickname: u.Nickname, ProfilePictureURL: pictureURL(u),
		DateJoined: actors.FormatTime(u.DateJoinedUs), HideEmail: u.HideEmail}
}

// publicUserJSON is what any signed-in user may see of another: never
// the email, whatever the user's email switch says.
type publicUserJSON struct {
	ID                int64   `json:"id"`
	Nickname          string  `json:"nickname"`
	ProfilePictureURL *string `json:"profile_picture_url"`
	DateJoined        string  `json:"date_joined"`
}

func toPublicUserJSON(u *pspb.User) publicUserJSON {
	return publicUserJSON{ID: u.Id, Nickname: u.Nickname, ProfilePictureURL: pictureURL(u), DateJoined: actors.FormatTime(u.DateJoinedUs)}
}

// pictureURL is a user's picture URL, nil when none.
func pictureURL(u *pspb.User) *string {
	if u.ProfilePicture == "" {
		return nil
	}
	p := "/media/" + u.ProfilePicture
	return &p
}

const maxNicknameChars = 20

// register creates an account. Every request counts against the client
// address's registration rate, valid or not, as a DRF throttle counts
// requests: probing which emails are taken costs the same.
func (s *Server) register(ctx *fasthttp.RequestCtx, _ *request) error {
	if err := s.limitRegister(ctx); err != nil {
		return err
	}
	f, err := readForm(ctx)
	if err != nil {
		return err
	}
	email := f.str("email", strRule{required: true, trim: true, maxChars: 254})
	pw1 := f.str("password1", strRule{required: true})
	pw2 := f.str("password2", strRule{required: true})
	nick := f.str("nickname", strRule{required: true, trim: true, maxChars: maxNicknameChars})
	// Field checks first, all reported together; the two passwords are
	// compared only when every field is valid, as DRF runs an object's
	// validate() only after its fields pass.
	switch {
	case email == "":
	case !validEmail(email):
		f.add("email", "Enter a valid email address.")
	default:
		if _, err := s.store.UserByEmail(email); err == nil {
			f.add("email", "A user is already registered with this e-mail address.")
		}
	}
	if pw1 != "" {
		for _, p := range passwordProblems(pw1) {
			f.add("password1", p)
		}
	}
	if f.err() == nil && pw1 != pw2 {
		f.add("non_field_errors", "The two password fields didn't match.")
	}
	if err := f.err(); err != nil {
		return err
	}
	hctx, cancel := s.requestContext()
	defer cancel()
	hash, err := s.hasher.hash(hctx, pw1)
	if err != nil {
		return err
	}
	u, err := s.engine.Register(&pspb.User{Email: email, Nickname: nick, PasswordHash: hash, DateJoinedUs: time.Now().UnixMicro()})
	if errors.Is(err, actors.ErrEmailTaken) {
		return fieldError("email", "A user is already registered with this e-mail address.")
	}
	if err != nil {
		return unavailable(err)
	}
	writeJSON(ctx, fasthttp.StatusCreated, toUserJSON(u))
	return nil
}

// validEmail accepts what Django's EmailValidator does, roughly: one @, a
// non-empty local part and a dotted domain, no spaces or display names.
func validEmail(e string) bool {
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" {
		return false
	}
	i := strings.LastIndexByte(e, '@')
	local, domain := e[:i], e[i+1:]
	if local == "" || local[0] != '"' && !dotAtom(local) {
		return false
	}
	return validDomain(domain)
}

// dotAtom reports an unquoted local part as Django's EmailValidator
// takes it: ASCII atoms joined by single dots.
func dotAtom(s string) bool {
	for _, atom := range strings.Split(s, ".") {
		if atom == "" {
			return false
		}
		for i := 0; i < len(atom); i++ {
			c := atom[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+/=?^_`{|}~-", c) >= 0) {
				return false
			}
		}
	}
	return true
}

// validDomain takes a domain of at least two labels, as Django's
// EmailValidator does: labels of letters, digits and inner hyphens, at
// most 63 characters, the last one at least two. Internationalised labels
// are taken as they are (Django checks their punycode form).
func validDomain(d string) bool {
	labels := strings.Split(strings.ToLower(d), ".")
	if len(labels) < 2 || len(labels[len(labels)-1]) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r > 0x7f && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
				return false
			}
		}
	}
	return true
}

func (s *Server) login(ctx *fasthttp.RequestCtx, _ *request) error {
	if err := s.checkLoginOrigin(ctx); err != nil {
		return err // login CSRF: see csrf.go
	}
	f, err := readForm(ctx)
	if err != nil {
		return err
	}
	email := f.str("email", strRule{required: true, trim: true})
	pw := f.str("password", strRule{required: true})
	if err := f.err(); err != nil {
		return err
	}
	giveBack, err := s.limitLogin(ctx, email)
	if err != nil {
		return err
	}
	u, err := s.store.UserByEmail(email)
	if err != nil && !errors.Is(err, persistence.ErrNotFound) {
		giveBack()
		return err
	}
	var hash []byte
	if u != nil {
		hash = u.PasswordHash
	}
	hctx, cancel := s.requestContext()
	defer cancel()
	ok, err := s.hasher.check(hctx, hash, pw)
	if err != nil {
		giveBack()
		return err
	}
	if !ok {
		return errBadCredentials // a failed guess keeps its place in the limits
	}
	giveBack()
	return s.issueLogin(ctx, u)
}

func (s *Server) issueLogin(ctx *fasthttp.RequestCtx, u *pspb.User) error {
	now := time.Now()
	access, ac, err := s.tokens.issue(accessToken, u.Id, now)
	if err != nil {
		return err
	}
	refresh, _, err := s.tokens.issue(refreshToken, u.Id, now)
	if err != nil {
		return err
	}
	s.setAccessCookie(ctx, access, ac.ExpiresAt.Time)
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"access": access, "refresh": refresh, "user": toUserJSON(u)})
	return nil
}

func (s *Server) refresh(ctx *fasthttp.RequestCtx, _ *request) error {
	c, err := s.refreshClaims(ctx)
	if err != nil {
		return err
	}
	// A deleted account's refresh token gets no new access token (which
	// every request would then refuse).
	if _, err := s.store.UserByID(int64(c.UserID)); errors.Is(err, persistence.ErrNotFound) {
		return errNoActiveAccount
	} else if err != nil {
		return err
	}
	access, _, err := s.tokens.issue(accessToken, int64(c.UserID), time.Now())
	if err != nil {
		return err
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]string{"access": access})
	return nil
}

// setAccessCookie sets the access_token cookie that pages of LiveChat's
// open sockets with; an empty value and a past expiry delete it.
func (s *Server) setAccessCookie(ctx *fasthttp.RequestCtx, value string, expire time.Time) {
	c := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(c)
	c.SetKey("access_token")
	c.SetValue(value)
	c.SetPath("/")
	c.SetHTTPOnly(true)
	c.SetSameSite(fasthttp.CookieSameSiteLaxMode)
	c.SetSecure(s.cfg.SecureCookie)
	c.SetExpire(expire)
	ctx.Response.Header.SetCookie(c)
}

// logout revokes a refresh token until it would have expired.
func (s *Server) logout(ctx *fasthttp.RequestCtx, _ *request) error {
	c, err := s.refreshClaims(ctx)
	if err != nil {
		return err
	}
	if err := s.store.RevokeToken(c.ID, c.ExpiresAt.Time); err != nil {
		return err
	}
	s.setAccessCookie(ctx, "", fasthttp.CookieExpireDelete) // same path, so the browser drops the login's cookie
	writeJSON(ctx, fasthttp.StatusOK, errorBody{Detail: "Successfully logged out."})
	return nil
}

// refreshClaims reads and verifies the body's refresh token.
func (s *Server) refreshClaims(ctx *fasthttp.RequestCtx) (*claims, error) {
	f, err := readForm(ctx)
	if err != nil {
		return nil, err
	}
	token := f.str("refresh", strRule{required: true})
	if err := f.err(); err != nil {
		return nil, err
	}
	c, err := s.tokens.verify(token, refreshToken)
	if err != nil {
		return nil, errRefreshInvalid
	}
	// In a cluster, a logout answered by another node must hold here
	// too: read the revocations once this replica has applied every
	// write answered before (a single node returns at once; a refresh is
	// rare enough to pay the round trip).
	if err := s.store.Sync(); err != nil {
		return nil, err
	}
	revoked, err := s.store.IsRevoked(c.ID)
	if err != nil {
		return nil, err
	}
	if revoked {
		return nil, errRefreshRevoked
	}
	return c, nil
}

// unavailable turns an engine error into the client's answer.
func unavailable(err error) error {
	switch {
	case errors.Is(err, actors.ErrRoomNotFound), errors.Is(err, actors.ErrUserNotFound):
		return errNotFound
	case errors.Is(err, actors.ErrUnavailable):
		return errUnavailable
	}
	return err
}

// hashWait bounds how long a request waits for a password-hashing slot
// before it is answered 503: under a login storm, failing fast beats
// piling up requests.
const hashWait = 10 * time.Second

// requestContext bounds waits inside a handler (for a hash slot); it ends
// early when the server shuts down. It derives from the server's life, not
// from the fasthttp request: a context on a RequestCtx keeps a goroutine
// that may read the request after fasthttp has reused it.
func (s *Server) requestContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.life, hashWait)
}
