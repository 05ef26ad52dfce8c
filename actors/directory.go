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
		u, err := e.cfg.Store.UpdateUser(up.UserId, func(u *pspb.User) error {
			if up.Nickname != nil {
				u.Nickname = *up.Nickname
			}
			if up.ProfilePicture != nil {
				u.ProfilePicture = *up.ProfilePicture
			}
			return nil
		})
		e.root.Send(self, &userStored{user: u, err: err, replyTo: replyTo})
	}()
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
