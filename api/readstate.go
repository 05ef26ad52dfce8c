package api

import (
	"errors"
	"slices"
	"strconv"

	"livechat/actors"
	"livechat/persistence"
	pspb "livechat/persistence/pb"
)

// readState is a room as one user's inbox sees it: its latest message,
// the user's membership (nil when not a member) and the time of the
// room's latest activity for that user.
type readState struct {
	room     *pspb.Room
	last     *pspb.Message // nil when the room has no message
	member   *pspb.Member  // nil when the user is not a member
	activity int64         // last_activity_at, unix microseconds
	unread   int64
}

// readStateOf reads user's read state of r.
func (s *Server) readStateOf(r *pspb.Room, user int64) (*readState, error) {
	st := &readState{room: r, activity: r.CreatedAtUs}
	var err error
	if st.last, err = s.store.LastMessage(r.Id); err != nil {
		return nil, err
	}
	if st.last != nil {
		st.activity = st.last.CreatedAtUs
	}
	st.member, err = s.store.Member(r.Id, user)
	switch {
	case errors.Is(err, persistence.ErrNotFound):
		st.member = nil
		return st, nil
	case err != nil:
		return nil, err
	}
	if st.last == nil || st.member.JoinedAtUs > st.activity {
		st.activity = st.member.JoinedAtUs
	}
	if st.last != nil {
		st.unread = actors.UnreadCount(s.store, r.Id, st.last.Seq, st.member.LastReadSeq)
	}
	return st, nil
}

// appendReadState appends the read-state keys of a room with read state,
// after the room's own keys (no braces).
func appendReadState(b []byte, st *readState) []byte {
	b = append(b, `,"last_message":`...)
	if st.last == nil {
		b = append(b, "null"...)
	} else {
		b = actors.AppendPreview(b, st.last)
	}
	b = append(b, `,"last_activity_at":"`...)
	b = actors.AppendTime(b, st.activity)
	b = append(b, `","last_read_seq":`...)
	if st.member == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, st.member.LastReadSeq, 10)
	}
	b = append(b, `,"unread_count":`...)
	return strconv.AppendInt(b, st.unread, 10)
}

// appendRoomWithReadState appends r as user sees it, with user's read
// state, without the closing brace (the detail adds its keys).
func (s *Server) appendRoomWithReadState(b []byte, r *pspb.Room, host []byte, user int64) ([]byte, error) {
	role, peer, err := s.viewOf(r, user)
	if err != nil {
		return nil, err
	}
	st, err := s.readStateOf(r, user)
	if err != nil {
		return nil, err
	}
	return appendReadState(appendRoom(b, r, host, role, peer), st), nil
}

// inboxRoomAdd sends inbox.room.add for room to the inbox sockets of each
// user, each with the room as that user sees it, with the chat_url of the
// host the socket was opened with. Failures are logged: the inbox REST
// answer always has the room.
func (s *Server) inboxRoomAdd(room int64, users ...int64) {
	var r *pspb.Room
	for i, user := range users {
		sinks := s.engine.InboxSinks(user)
		if len(sinks) == 0 || slices.Contains(users[:i], user) {
			continue
		}
		if r == nil {
			var err error
			if r, err = s.store.RoomByID(room); err != nil {
				s.log.Error("inbox: read room failed", "room", room, "err", err)
				return
			}
		}
		frames := map[string][]byte{}
		for _, sink := range sinks {
			host := ""
			if h, ok := sink.(interface{ Host() string }); ok {
				host = h.Host()
			}
			frame, ok := frames[host]
			if !ok {
				b, err := s.appendRoomWithReadState(append(make([]byte, 0, 512), `{"type":"inbox.room.add","room":`...), r, []byte(host), user)
				if err != nil {
					s.log.Error("inbox: read room state failed", "room", room, "user", user, "err", err)
					break
				}
				frame = append(b, "}}"...)
				frames[host] = frame
			}
			sink.Send(frame)
		}
	}
}
