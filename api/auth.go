package api

import (
	"errors"
	"time"

	"github.com/valyala/fasthttp"

	"livechat/actors/pb"
	"livechat/persistence"
	pspb "livechat/persistence/pb"
)

// authUser is the user a request is authenticated as.
type authUser struct {
	*pspb.User
	// expires is when the access token it was authenticated with expires:
	// a socket's authority ends then (socketauth.go).
	expires time.Time
}

// sender is the user as the actors see a message's author.
func (u *authUser) sender() *pb.Sender {
	return &pb.Sender{UserId: u.Id, Email: u.Email, Nickname: u.Nickname, ProfilePicture: u.ProfilePicture}
}

// authenticate checks the Bearer access token and loads its user, noted
// for the request's access line.
func (s *Server) authenticate(ctx *fasthttp.RequestCtx) (*authUser, error) {
	token, present, err := bearer(ctx)
	if err != nil {
		return nil, err
	}
	if !present {
		return nil, errNoCredentials
	}
	u, err := s.userForToken(token)
	if err == nil {
		noteUser(ctx, u)
	}
	return u, err
}

// userForToken verifies an access token and loads its user.
func (s *Server) userForToken(token string) (*authUser, error) {
	if token == "" {
		return nil, errInvalidToken
	}
	id, expires, ok := s.tokenCache.get(token, time.Now())
	if !ok {
		c, err := s.tokens.verify(token, accessToken)
		if err != nil {
			return nil, errInvalidToken
		}
		id, expires = int64(c.UserID), c.ExpiresAt.Time
		s.tokenCache.put(token, id, expires)
	}
	u, err := s.store.UserByID(id)
	if errors.Is(err, persistence.ErrNotFound) {
		return nil, errUserNotFound
	}
	if err != nil {
		return nil, err
	}
	return &authUser{User: u, expires: expires}, nil
}
