package api

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"slices"
	"strconv"

	"github.com/valyala/fasthttp"

	"livechat/actors"
	"livechat/persistence"
)

const (
	inboxDefault = 30
	inboxMax     = 100
)

// inbox answers the caller's inbox: the rooms they are a member of, by
// latest activity (then id) descending, as rooms with read state, in
// DRF's cursor-pagination envelope. The cursor is a keyset position
// (last_activity_at, id), signed so that a forged one is refused.
//
// Each page reads the caller's memberships and each room's latest
// message: a user's inbox costs one short read per room they belong to.
func (s *Server) inbox(ctx *fasthttp.RequestCtx, req *request) error {
	s.catchUp()
	limit, err := queryInt(ctx, "limit", inboxDefault)
	if err != nil {
		return err
	}
	limit = min(max(limit, 1), inboxMax)
	var after *inboxCursor
	// An empty cursor is the first page, as DRF's CursorPagination reads it.
	if c := ctx.QueryArgs().Peek("cursor"); len(c) > 0 {
		cur, ok := s.decodeCursor(string(c))
		if !ok {
			return errInvalidCursor
		}
		after = &cur
	}
	rows, err := s.inboxRows(req.user.Id)
	if err != nil {
		return err
	}
	if after != nil {
		i := 0 // rows are descending: skip those at or above the cursor
		for i < len(rows) && compareActivity(rows[i], *after) >= 0 {
			i++
		}
		rows = rows[i:]
	}
	page := rows[:min(int(limit), len(rows))]
	b := append(make([]byte, 0, 96+600*len(page)), `{"next":`...)
	if len(rows) > len(page) {
		lastRow := page[len(page)-1]
		b = s.appendNextURL(b, ctx, inboxCursor{activity: lastRow.activity, id: lastRow.room.Id}, limit)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"previous":null,"results":[`...)
	for i, st := range page {
		if i > 0 {
			b = append(b, ',')
		}
		role, peer, err := s.viewOf(st.room, req.user.Id)
		if err != nil {
			return err
		}
		b = append(appendReadState(appendRoom(b, st.room, ctx.Host(), role, peer), st), '}')
	}
	writeRaw(ctx, fasthttp.StatusOK, append(b, "]}"...))
	return nil
}

// errInvalidCursor is DRF's answer to a cursor it did not issue.
var errInvalidCursor = detailError(ENOTFOUND, "Invalid cursor")

// inboxRows reads the read state of every room user is a member of, by
// activity then id, descending.
func (s *Server) inboxRows(user int64) ([]*readState, error) {
	ids, err := s.store.UserRooms(user)
	if err != nil {
		return nil, err
	}
	rows := make([]*readState, 0, len(ids))
	for _, id := range ids {
		r, err := s.store.RoomByID(id)
		if err != nil {
			if errors.Is(err, persistence.ErrNotFound) {
				continue // removed between the two reads
			}
			return nil, err
		}
		st, err := s.readStateOf(r, user)
		if err != nil {
			return nil, err
		}
		if st.member != nil {
			rows = append(rows, st)
		}
	}
	slices.SortFunc(rows, func(a, b *readState) int {
		return -compareActivity(a, inboxCursor{activity: b.activity, id: b.room.Id})
	})
	return rows, nil
}

// compareActivity orders a row against a cursor position, ascending.
func compareActivity(st *readState, c inboxCursor) int {
	return cmp.Or(cmp.Compare(st.activity, c.activity), cmp.Compare(st.room.Id, c.id))
}

// inboxCursor is a position in an inbox: the row it follows.
type inboxCursor struct {
	activity, id int64
}

// cursorMACBytes is the length of a cursor's signature: enough that a
// guessed cursor is refused, short enough to keep URLs short.
const cursorMACBytes = 12

// encodeCursor signs a position: 16 bytes of position and a truncated
// HMAC-SHA256 under the server's secret, base64url.
func (s *Server) encodeCursor(c inboxCursor) string {
	b := make([]byte, 16, 16+sha256.Size)
	binary.BigEndian.PutUint64(b, uint64(c.activity))
	binary.BigEndian.PutUint64(b[8:], uint64(c.id))
	b = append(b, s.cursorMAC(b[:16])[:cursorMACBytes]...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor this server issued; ok is false for any
// other text.
func (s *Server) decodeCursor(text string) (c inboxCursor, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(text)
	if err != nil || len(b) != 16+cursorMACBytes || !hmac.Equal(b[16:], s.cursorMAC(b[:16])[:cursorMACBytes]) {
		return inboxCursor{}, false
	}
	return inboxCursor{activity: int64(binary.BigEndian.Uint64(b)), id: int64(binary.BigEndian.Uint64(b[8:]))}, true
}

func (s *Server) cursorMAC(pos []byte) []byte {
	m := hmac.New(sha256.New, s.cfg.Secret)
	m.Write([]byte("inbox cursor\x00"))
	m.Write(pos)
	return m.Sum(nil)
}

// appendNextURL appends the absolute URL of the next page, as a JSON
// string: https when a proxy says the request came over it, and the
// request's own host.
func (s *Server) appendNextURL(b []byte, ctx *fasthttp.RequestCtx, c inboxCursor, limit int64) []byte {
	scheme := "http"
	if string(ctx.Request.Header.Peek("X-Forwarded-Proto")) == "https" {
		scheme = "https"
	}
	return actors.AppendJSONString(b, scheme+"://"+string(ctx.Host())+"/chat/v1/room/inbox/?cursor="+
		s.encodeCursor(c)+"&limit="+strconv.FormatInt(limit, 10))
}
