package actors

import (
	"strconv"
	"unicode/utf8"

	"livechat/persistence/pb"
)

// PreviewChars is how many characters (code points) of a message's text
// a preview (last_message) keeps.
const PreviewChars = 100

// AppendPreview appends the last_message object of a room with read
// state: the message in its current state, its text cut to PreviewChars
// code points.
func AppendPreview(b []byte, m *pb.Message) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, m.Id, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, m.Seq, 10)
	b = append(b, `,"sender_id":`...)
	b = strconv.AppendInt(b, m.SenderId, 10)
	b = append(b, `,"nickname":`...)
	b = AppendJSONString(b, m.Nickname)
	b = append(b, `,"message":`...)
	b = AppendJSONString(b, previewText(m.Text))
	b = append(b, `,"created_at":"`...)
	b = AppendTime(b, m.CreatedAtUs)
	b = append(b, `","edited_at":`...)
	b = appendOptionalTime(b, m.EditedAtUs)
	b = append(b, `,"deleted_at":`...)
	b = appendOptionalTime(b, m.DeletedAtUs)
	return append(b, '}')
}

// previewText is the first PreviewChars code points of text.
func previewText(text string) string {
	if len(text) <= PreviewChars {
		return text // fewer bytes than the limit: fewer code points too
	}
	n := 0
	for i := range text {
		if n == PreviewChars {
			return text[:i]
		}
		n++
	}
	return text
}

// InboxMessageFrame encodes inbox.message for a new message: one frame,
// the same bytes for every member's inbox socket.
func InboxMessageFrame(m *pb.Message) []byte {
	b := make([]byte, 0, 200+min(len(m.Text), PreviewChars*utf8.UTFMax)+len(m.Nickname))
	b = append(b, `{"type":"inbox.message","room":`...)
	b = strconv.AppendInt(b, m.Room, 10)
	b = append(b, `,"last_message":`...)
	b = AppendPreview(b, m)
	return append(b, '}')
}

// InboxReadFrame encodes inbox.read: a user's marker moved in room.
func InboxReadFrame(room, lastRead, unread int64) []byte {
	b := append(make([]byte, 0, 96), `{"type":"inbox.read","room":`...)
	b = strconv.AppendInt(b, room, 10)
	b = append(b, `,"last_read_seq":`...)
	b = strconv.AppendInt(b, lastRead, 10)
	b = append(b, `,"unread_count":`...)
	b = strconv.AppendInt(b, unread, 10)
	return append(b, '}')
}

// Receipt is one user's marker in a chat.read receipt frame.
type Receipt struct {
	User, Seq int64
}

// ReceiptFrame encodes a chat.read receipt frame listing reads.
func ReceiptFrame(room int64, reads []Receipt) []byte {
	b := append(make([]byte, 0, 48+40*len(reads)), `{"type":"chat.read","room":`...)
	b = strconv.AppendInt(b, room, 10)
	b = append(b, `,"reads":[`...)
	for i, r := range reads {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"user_id":`...)
		b = strconv.AppendInt(b, r.User, 10)
		b = append(b, `,"seq":`...)
		b = strconv.AppendInt(b, r.Seq, 10)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}
