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
// original service's; id, room, seq and created_at are LiveChat's.
func MessageFrame(m *pb.Message) []byte {
	b := make([]byte, 0, 160+len(m.Text)+len(m.SenderEmail)+len(m.Nickname)+len(m.ProfilePicture))
	b = append(b, `{"type":"chat.message","message":`...)
	b = AppendJSONString(b, m.Text)
	b = append(b, `,"sender":`...)
	b = AppendJSONString(b, m.SenderEmail)
	b = append(b, `,"nickname":`...)
	b = AppendJSONString(b, m.Nickname)
	b = append(b, `,"profile_picture_url":`...)
	b = appendPicture(b, m.ProfilePicture)
	b = append(b, `,"id":`...)
	b = strconv.AppendInt(b, m.Id, 10)
	b = append(b, `,"room":`...)
	b = strconv.AppendInt(b, m.Room, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, m.Seq, 10)
	b = append(b, `,"created_at":"`...)
	b = AppendTime(b, m.CreatedAtUs)
	return append(b, `"}`...)
}

// AppendMessage appends a message as the REST API's object: id, room,
// seq, sender, nickname, message, created_at.
func AppendMessage(b []byte, m *pb.Message) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, m.Id, 10)
	b = append(b, `,"room":`...)
	b = strconv.AppendInt(b, m.Room, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, m.Seq, 10)
	b = append(b, `,"sender":`...)
	b = AppendJSONString(b, m.SenderEmail)
	b = append(b, `,"nickname":`...)
	b = AppendJSONString(b, m.Nickname)
	b = append(b, `,"message":`...)
	b = AppendJSONString(b, m.Text)
	b = append(b, `,"created_at":"`...)
	b = AppendTime(b, m.CreatedAtUs)
	return append(b, `"}`...)
}

// AppendMessages appends msgs as a JSON array of REST message objects.
func AppendMessages(b []byte, msgs []*pb.Message) []byte {
	b = append(b, '[')
	for i, m := range msgs {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendMessage(b, m)
	}
	return append(b, ']')
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
