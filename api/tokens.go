package api

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MinSecretBytes is the shortest signing key accepted: RFC 7518 3.2 asks
// for an HS256 key at least as long as the hash output (256 bits).
const MinSecretBytes = 32

// Token types, as SimpleJWT names them.
const (
	accessToken  = "access"
	refreshToken = "refresh"
)

// claims are Django REST framework SimpleJWT's: token_type, exp, iat, jti,
// user_id. A deployment sharing SECRET_KEY with a SimpleJWT service accepts
// that service's access tokens.
type claims struct {
	TokenType string `json:"token_type"`
	UserID    userID `json:"user_id"`
	jwt.RegisteredClaims
}

// userID accepts the user id as a JSON number or, as newer SimpleJWT
// versions write it, a string of digits.
type userID int64

func (u *userID) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		n = json.Number(s)
	}
	v, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil || v <= 0 {
		return errors.New("user_id is not a positive integer")
	}
	*u = userID(v)
	return nil
}

// tokens issues and verifies HS256 tokens.
type tokens struct {
	secret     []byte
	accessTTL  time.Duration
	refreshTTL time.Duration
	parser     *jwt.Parser
}

func newTokens(secret []byte, accessTTL, refreshTTL time.Duration) *tokens {
	return &tokens{
		secret: secret, accessTTL: accessTTL, refreshTTL: refreshTTL,
		// Only HS256: alg none and every other algorithm are refused.
		parser: jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithExpirationRequired()),
	}
}

func (t *tokens) issue(kind string, user int64, now time.Time) (string, *claims, error) {
	ttl := t.accessTTL
	if kind == refreshToken {
		ttl = t.refreshTTL
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", nil, err
	}
	c := &claims{TokenType: kind, UserID: userID(user), RegisteredClaims: jwt.RegisteredClaims{
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		IssuedAt:  jwt.NewNumericDate(now),
		ID:        hex.EncodeToString(jti[:]),
	}}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.secret)
	return s, c, err
}

// verify checks signature, algorithm, expiry and token type.
func (t *tokens) verify(token, kind string) (*claims, error) {
	c := &claims{}
	_, err := t.parser.ParseWithClaims(token, c, func(*jwt.Token) (any, error) { return t.secret, nil })
	if err != nil {
		return nil, err
	}
	if c.TokenType != kind || c.UserID <= 0 {
		return nil, errors.New("wrong token type")
	}
	if c.ID == "" {
		return nil, errors.New("token has no id") // SimpleJWT refuses these too
	}
	if !numericExp(token) {
		return nil, errors.New("exp is not a number")
	}
	return c, nil
}

// numericExp reports whether a verified token's exp claim is a JSON
// number, as PyJWT (and so SimpleJWT) requires: the JWT library also
// takes a string of digits.
func numericExp(token string) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return false
	}
	var raw struct {
		Exp json.RawMessage `json:"exp"`
	}
	if json.Unmarshal(payload, &raw) != nil || len(raw.Exp) == 0 {
		return false
	}
	c := raw.Exp[0]
	return c == '-' || (c >= '0' && c <= '9')
}
