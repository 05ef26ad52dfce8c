package api

import (
	"errors"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"livechat/actors"
	"livechat/actors/pb"
	"livechat/persistence"
)

func (s *Server) profile(ctx *fasthttp.RequestCtx, req *request) error {
	writeJSON(ctx, fasthttp.StatusOK, toUserJSON(req.user.User))
	return nil
}

// updateProfile changes any of nickname, hide_email and profile_picture,
// all or nothing: every field is checked (the picture decoded and
// re-encoded) before anything changes, and a new picture is durable before
// the user record names it. A request carrying a picture counts against
// the user's upload rate, valid or not, as a DRF throttle counts requests.
func (s *Server) updateProfile(ctx *fasthttp.RequestCtx, req *request) error {
	p, err := s.readProfilePatch(ctx)
	if err != nil {
		return err
	}
	if p.hasPicture {
		if err := s.limitAvatar(req.user.Id); err != nil {
			return err
		}
	}
	f := p.form
	up := &pb.UpdateProfile{UserId: req.user.Id}
	if _, ok := f.raw["nickname"]; ok {
		before := len(f.errs)
		nick := f.str("nickname", strRule{required: true, trim: true, maxChars: maxNicknameChars})
		if len(f.errs) == before {
			up.Nickname = &nick
		}
	}
	if _, ok := f.raw["hide_email"]; ok {
		if v, ok := f.boolean("hide_email"); ok {
			up.HideEmail = &v
		}
	}
	var pic *storedPicture
	if p.hasPicture {
		hctx, cancel := s.requestContext()
		pic, err = s.processPicture(hctx, p.picture)
		cancel()
		if msg, ok := isPictureError(err); ok {
			f.add("profile_picture", msg)
		} else if err != nil {
			return err
		}
	} else if raw, ok := f.raw["profile_picture"]; ok {
		if v := string(raw); v == "null" || p.html && (v == `""` || v == `"null"`) {
			none := ""
			up.ProfilePicture = &none
		} else {
			f.add("profile_picture", msgNotAFile)
		}
	}
	if err := f.err(); err != nil {
		return err
	}
	var name string
	if pic != nil {
		if name, err = newPictureName(req.user.Id, pic.ext); err != nil {
			return err
		}
		if err := s.store.Media().Put(name, pic.data); err != nil {
			return err
		}
		up.ProfilePicture = &name
	}
	u, err := s.engine.UpdateProfile(up)
	if err != nil {
		// A timeout may still be stored: keep the file it would name.
		if name != "" && !errors.Is(err, actors.ErrUnavailable) {
			_ = s.store.Media().Remove(name)
		}
		return unavailable(err)
	}
	writeJSON(ctx, fasthttp.StatusOK, toUserJSON(u))
	return nil
}

// publicUser answers another user's public object: never an email.
func (s *Server) publicUser(ctx *fasthttp.RequestCtx, req *request) error {
	u, err := s.store.UserByID(req.id)
	if errors.Is(err, persistence.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	writeJSON(ctx, fasthttp.StatusOK, toPublicUserJSON(u))
	return nil
}

// matchUser finds the route of /user/v1/users/{id}/; ok is false for
// other paths.
func (s *Server) matchUser(path string) (*route, int64, bool) {
	rest, ok := strings.CutPrefix(path, "/user/v1/users/")
	if !ok {
		return nil, 0, false
	}
	idText, tail, slashed := strings.Cut(rest, "/")
	if !slashed || tail != "" {
		return nil, 0, false
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 || idText[0] == '+' {
		return s.routes.unknownRoom, 0, true // 404 whatever the method, as for rooms
	}
	return s.routes.user, id, true
}
