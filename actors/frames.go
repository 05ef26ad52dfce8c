package actors

import (
	"strconv"
	"time"
	"unicode/utf8"

	"livechat/persistence/pb"
)

// TimeLayout is the wire format of timestamps: RFC 3339, milliseconds, UTC.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// FormatTime formats a unix-microsecond timestamp for the wire.
func FormatTime(us int64) string {
	return string(AppendTime(nil, us))
}

// AppendTime appends a unix-microsecond timestamp in TimeLayout. It writes
// the digits itself (time.AppendFormat interprets the layout on every
// call, and every message and room carries a timestamp).
func AppendTime(b []byte, us int64) []byte {
	t := time.UnixMicro(us).UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, TimeLayout)
	}
	hour, minute, sec := t.Clock()
	ms := t.Nanosecond() / 1e6
	b = append(b, byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-')
	b = append(b, byte('0'+int(month)/10), byte('0'+int(month)%10), '-', byte('0'+day/10), byte('0'+day%10), 'T')
	b = append(b, byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+minute/10), byte('0'+minute%10), ':')
	b = append(b, byte('0'+sec/10), byte('0'+sec%10), '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
	return b
}

// MessageFrame encodes a chat.message frame. The first five keys are the
// original service's; id, room, seq, created_at, sender_id and rev are
// LiveChat's, and edited_at, deleted_at and deleted_by appear only when
// set, so that a new message's frame grows by two numbers only. The sender
// is as senders shows it (appendSender).
func MessageFrame(m *pb.Message, senders *Senders) []byte {
	b := make([]byte, 0, 192+len(m.Text)+len(m.SenderEmail)+len(m.Nickname)+len(m.ProfilePicture))
	b = append(b, `{"type":"chat.message","message":`...)
	b = AppendJSONString(b, m.Text)
	b = appendSender(b, m, senders)
	b = append(b, `,"nickname":`...)
	b = AppendJSONString(b, m.Nickname)
	b = append(b, `,"profile_picture_url":`...)
	b = appendPicture(b, m.ProfilePicture)
	b = appendPosition(b, `,"id":`, m)
	b = append(b, `,"created_at":"`...)
	b = AppendTime(b, m.CreatedAtUs)
	b = append(b, `","sender_id":`...)
	b = strconv.AppendInt(b, m.SenderId, 10)
	b = append(b, `,"rev":`...)
	b = strconv.AppendInt(b, m.Rev, 10)
	if m.EditedAtUs != 0 {
		b = append(b, `,"edited_at":"`...)
		b = append(AppendTime(b, m.EditedAtUs), '"')
	}
	if m.DeletedAtUs != 0 {
		b = append(b, `,"deleted_at":"`...)
		b = append(AppendTime(b, m.DeletedAtUs), '"')
		b = append(b, `,"deleted_by":`...)
		b = strconv.AppendInt(b, m.DeletedBy, 10)
	}
	return append(b, '}')
}

// appendPosition appends key (`,"id":` or `"id":`) and the message's id,
// room and seq.
func appendPosition(b []byte, key string, m *pb.Message) []byte {
	b = append(b, key...)
	b = strconv.AppendInt(b, m.Id, 10)
	b = append(b, `,"room":`...)
	b = strconv.AppendInt(b, m.Room, 10)
	b = append(b, `,"seq":`...)
	return strconv.AppendInt(b, m.Seq, 10)
}

// ChangeFrame encodes what an edit or a deletion made of m, for sockets
// with events=edit: chat.message.update with the current text, or
// chat.message.delete for a tombstone.
func ChangeFrame(m *pb.Message) []byte {
	b := make([]byte, 0, 160+len(m.Text))
	if m.DeletedAtUs != 0 {
		b = append(b, `{"type":"chat.message.delete",`...)
		b = appendPosition(b, `"id":`, m)
		b = append(b, `,"rev":`...)
		b = strconv.AppendInt(b, m.Rev, 10)
		b = append(b, `,"deleted_at":"`...)
		b = AppendTime(b, m.DeletedAtUs)
		b = append(b, `","deleted_by":`...)
		b = strconv.AppendInt(b, m.DeletedBy, 10)
		return append(b, '}')
	}
	b = append(b, `{"type":"chat.message.update",`...)
	b = appendPosition(b, `"id":`, m)
	b = append(b, `,"rev":`...)
	b = strconv.AppendInt(b, m.Rev, 10)
	b = append(b, `,"message":`...)
	b = AppendJSONString(b, m.Text)
	b = append(b, `,"edited_at":`...)
	b = appendOptionalTime(b, m.EditedAtUs)
	return append(b, '}')
}

// AppendMessage appends a message as the REST API's object: id, room,
// seq, rev, sender, sender_id, nickname, message, created_at, edited_at,
// deleted_at, deleted_by. The sender is as senders shows it (appendSender).
func AppendMessage(b []byte, m *pb.Message, senders *Senders) []byte {
	b = appendPosition(b, `{"id":`, m)
	b = append(b, `,"rev":`...)
	b = strconv.AppendInt(b, m.Rev, 10)
	b = appendSender(b, m, senders)
	b = append(b, `,"sender_id":`...)
	b = strconv.AppendInt(b, m.SenderId, 10)
	b = append(b, `,"nickname":`...)
	b = AppendJSONString(b, m.Nickname)
	b = append(b, `,"message":`...)
	b = AppendJSONString(b, m.Text)
	b = append(b, `,"created_at":"`...)
	b = AppendTime(b, m.CreatedAtUs)
	b = append(b, `","edited_at":`...)
	b = appendOptionalTime(b, m.EditedAtUs)
	b = append(b, `,"deleted_at":`...)
	b = appendOptionalTime(b, m.DeletedAtUs)
	b = append(b, `,"deleted_by":`...)
	if m.DeletedBy == 0 {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, m.DeletedBy, 10)
	}
	return append(b, '}')
}

// appendOptionalTime appends a timestamp in quotes, or null for 0.
func appendOptionalTime(b []byte, us int64) []byte {
	if us == 0 {
		return append(b, "null"...)
	}
	return append(AppendTime(append(b, '"'), us), '"')
}

// AppendMessages appends msgs as a JSON array of REST message objects.
func AppendMessages(b []byte, msgs []*pb.Message, senders *Senders) []byte {
	b = append(b, '[')
	for i, m := range msgs {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendMessage(b, m, senders)
	}
	return append(b, ']')
}

// appendSender appends the "sender" key of a message frame or object: the
// one place that decides it, so that frames, history, details and replay
// all show a user's current email setting (Senders.Sender).
func appendSender(b []byte, m *pb.Message, senders *Senders) []byte {
	b = append(b, `,"sender":`...)
	return AppendJSONString(b, senders.Sender(m))
}

// PresenceFrame encodes chat.user.join or chat.user.leave.
func PresenceFrame(join bool, nickname string) []byte {
	kind := "chat.user.leave"
	if join {
		kind = "chat.user.join"
	}
	b := append(make([]byte, 0, 48+len(nickname)), `{"type":"`...)
	b = append(b, kind...)
	b = append(b, `","username":`...)
	b = AppendJSONString(b, nickname)
	return append(b, '}')
}

// TypingFrame encodes chat.typing: user (id and nickname) started typing
// in room, for timeoutMS unless refreshed, or stopped (no timeout_ms).
func TypingFrame(room, userID int64, nickname string, typing bool, timeoutMS int64) []byte {
	b := append(make([]byte, 0, 96+len(nickname)), `{"type":"chat.typing","room":`...)
	b = strconv.AppendInt(b, room, 10)
	b = append(b, `,"user_id":`...)
	b = strconv.AppendInt(b, userID, 10)
	b = append(b, `,"nickname":`...)
	b = AppendJSONString(b, nickname)
	if !typing {
		return append(b, `,"typing":false}`...)
	}
	b = append(b, `,"typing":true,"timeout_ms":`...)
	b = strconv.AppendInt(b, timeoutMS, 10)
	return append(b, '}')
}

// ErrorFrame encodes a chat.error frame.
func ErrorFrame(errorType, message string) []byte {
	b := append(make([]byte, 0, 64+len(message)), `{"type":"chat.error","error_type":`...)
	b = AppendJSONString(b, errorType)
	b = append(b, `,"message":`...)
	b = AppendJSONString(b, message)
	return append(b, '}')
}

func appendPicture(b []byte, picture string) []byte {
	if picture == "" {
		return append(b, "null"...)
	}
	return AppendJSONString(b, "/media/"+picture)
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD
// and U+2028/U+2029 are escaped, as encoding/json does, so that frames are
// valid JSON and safe to embed in JavaScript.
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
