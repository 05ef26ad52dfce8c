package actors

import (
	"errors"
	"strings"

	"github.com/asynkron/protoactor-go/actor"

	"livechat/actors/pb"
	"livechat/persistence"
	pspb "livechat/persistence/pb"
)

// directory is the user directory: the one writer of accounts. A register
// for an email already being registered is refused at once, and the store's
// transaction refuses one already stored, so no two accounts share an email
// however the requests race. Writes run in goroutines (password hashing has
// already happened at the edge), so nobody waits behind the disk.
type directory struct {
	e       *Engine
	pending map[string]bool // lower(email) being registered
}

func newDirectory(e *Engine) *directory {
	return &directory{e: e, pending: make(map[string]bool)}
}

// Receive implements actor.Actor.
func (d *directory) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *pb.Register:
		d.onRegister(ctx, m)
	case *pb.UpdateProfile:
		d.onUpdate(ctx, m)
	case *userStored:
		d.onStored(ctx, m)
	}
}

func (d *directory) onRegister(ctx actor.Context, r *pb.Register) {
	email := strings.ToLower(r.User.Email)
	if d.pending[email] {
		ctx.Respond(&pb.UserResult{ErrorCode: CodeConflict, ErrorField: "email"})
		return
	}
	d.pending[email] = true
	self, replyTo, e, u := ctx.Self(), ctx.Sender(), d.e, r.User
	go func() {
		err := e.cfg.Store.CreateUser(u)
		e.root.Send(self, &userStored{email: email, user: u, err: err, replyTo: replyTo})
	}()
}

func (d *directory) onUpdate(ctx actor.Context, up *pb.UpdateProfile) {
	self, replyTo, e := ctx.Self(), ctx.Sender(), d.e
	go func() {
		u, err := e.updateUser(up)
		e.root.Send(self, &userStored{user: u, err: err, replyTo: replyTo})
	}()
}

// updateUser applies a profile change in one transaction. Before it
// returns, so before the change is answered, every message rendered from
// then on shows the user's email setting, and a replaced picture's file
// is deleted (its old URL then redirects to the new one).
func (e *Engine) updateUser(up *pb.UpdateProfile) (*pspb.User, error) {
	var oldPicture string
	u, err := e.cfg.Store.UpdateUser(up.UserId, func(u *pspb.User) error {
		oldPicture = u.ProfilePicture
		if up.Nickname != nil {
			u.Nickname = *up.Nickname
		}
		if up.ProfilePicture != nil {
			u.ProfilePicture = *up.ProfilePicture
		}
		if up.HideEmail != nil {
			u.HideEmail = *up.HideEmail
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if up.HideEmail != nil {
		// Read again under the book's lock: of two changes racing, the
		// book ends with the one stored last.
		err := e.senders.set(up.UserId, func() (bool, error) {
			cur, err := e.cfg.Store.UserByID(up.UserId)
			if err != nil {
				return false, err
			}
			return cur.HideEmail, nil
		})
		if err != nil {
			return nil, err
		}
	}
	if oldPicture != "" && oldPicture != u.ProfilePicture {
		if err := e.cfg.Store.Media().Remove(oldPicture); err != nil {
			e.log.Warn("directory: old picture not removed", "user", up.UserId, "err", err)
		}
	}
	return u, nil
}

func (d *directory) onStored(ctx actor.Context, m *userStored) {
	if m.email != "" {
		delete(d.pending, m.email)
	}
	res := &pb.UserResult{User: m.user}
	switch {
	case m.err == nil:
	case errors.Is(m.err, persistence.ErrEmailTaken):
		res = &pb.UserResult{ErrorCode: CodeConflict, ErrorField: "email"}
	case errors.Is(m.err, persistence.ErrNotFound):
		res = &pb.UserResult{ErrorCode: CodeNotFound}
	case errors.Is(m.err, persistence.ErrStorageFull):
		res = &pb.UserResult{ErrorCode: CodeStorageFull}
	default:
		d.e.log.Error("directory: write failed", "err", m.err)
		res = &pb.UserResult{ErrorCode: CodeUnavailable}
	}
	if m.replyTo != nil {
		ctx.Send(m.replyTo, res)
	}
}
