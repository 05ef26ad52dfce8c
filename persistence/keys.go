package persistence

import (
	"encoding/binary"
	"strings"
)

// Key layout. Every query is one prefix scan or one point read; integers are
// big-endian so that byte order is numeric order.
//
//	u/<id>                       → User
//	ue/<lower(email)>            → user id
//	r/<id>                       → Room
//	rp/<post>                    → room id
//	m/<room>/<seq>               → Message
//	mc/<room>/<user>/<client_id> → seq (client_id idempotency)
//	rt/<jti>                     → revoked refresh token (expires with the token)
//	rm/<room>/<user>             → Member
//	um/<user>/<room>             → empty (the rooms a user is a member of)
//	rd/<low user>/<high user>    → direct room id
//	uh/<id>                      → empty: the user hides their email (read at start)
//	meta/schema, meta/secret, meta/next/<kind>
var (
	prefixUser       = []byte("u/")
	prefixUserEmail  = []byte("ue/")
	prefixRoom       = []byte("r/")
	prefixRoomPost   = []byte("rp/")
	prefixMessage    = []byte("m/")
	prefixClientID   = []byte("mc/")
	prefixRevoked    = []byte("rt/")
	prefixMember     = []byte("rm/")
	prefixUserRoom   = []byte("um/")
	prefixDirect     = []byte("rd/")
	prefixHideEmail  = []byte("uh/")
	keySchema        = []byte("meta/schema")
	keySecret        = []byte("meta/secret")
	keyNextUser      = []byte("meta/next/user")
	keyNextRoom      = []byte("meta/next/room")
	keyMaxMessageID  = []byte("meta/next/message")
	keyApplied       = []byte("meta/applied") // cluster mode: the log position applied last
	schemaVersion    = uint64(2)
	maxSeq           = ^uint64(0) >> 1
	messageKeyLength = len(prefixMessage) + 8 + 1 + 8
)

func appendUint64(b []byte, v uint64) []byte {
	return binary.BigEndian.AppendUint64(b, v)
}

// idKey is prefix + id, with room for extra more bytes after it, so that
// keys built on it take one allocation.
func idKey(prefix []byte, id int64, extra int) []byte {
	return appendUint64(append(make([]byte, 0, len(prefix)+8+extra), prefix...), uint64(id))
}

func userKey(id int64) []byte { return idKey(prefixUser, id, 0) }
func roomKey(id int64) []byte { return idKey(prefixRoom, id, 0) }
func hideEmailKey(id int64) []byte {
	return idKey(prefixHideEmail, id, 0)
}
func postKey(post int64) []byte {
	return idKey(prefixRoomPost, post, 0)
}

func emailKey(email string) []byte {
	return append(append([]byte{}, prefixUserEmail...), strings.ToLower(email)...)
}

// roomMessagesPrefix is m/<room>/, the prefix of every message of a room.
func roomMessagesPrefix(room int64) []byte {
	return append(idKey(prefixMessage, room, 1), '/')
}

// MessageKey returns the key of message seq in room.
func MessageKey(room, seq int64) []byte {
	return appendUint64(append(idKey(prefixMessage, room, 9), '/'), uint64(seq))
}

// ParseMessageKey is the inverse of MessageKey.
func ParseMessageKey(k []byte) (room, seq int64, ok bool) {
	if len(k) != messageKeyLength || string(k[:len(prefixMessage)]) != string(prefixMessage) || k[len(prefixMessage)+8] != '/' {
		return 0, 0, false
	}
	r := binary.BigEndian.Uint64(k[len(prefixMessage):])
	s := binary.BigEndian.Uint64(k[len(prefixMessage)+9:])
	if r > maxSeq || s > maxSeq {
		return 0, 0, false
	}
	return int64(r), int64(s), true
}

func clientIDKey(room, user int64, clientID string) []byte {
	k := appendUint64(append(idKey(prefixClientID, room, 10+len(clientID)), '/'), uint64(user))
	return append(append(k, '/'), clientID...)
}

// pairKey is prefix + a + '/' + b.
func pairKey(prefix []byte, a, b int64) []byte {
	return appendUint64(append(idKey(prefix, a, 9), '/'), uint64(b))
}

// pairPrefix is prefix + a + '/', the prefix of every pairKey(prefix, a, _).
func pairPrefix(prefix []byte, a int64) []byte {
	return append(idKey(prefix, a, 1), '/')
}

// pairSecond reads b back from a pairKey.
func pairSecond(k []byte) int64 {
	if len(k) < 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(k[len(k)-8:]))
}

func memberKey(room, user int64) []byte   { return pairKey(prefixMember, room, user) }
func userRoomKey(user, room int64) []byte { return pairKey(prefixUserRoom, user, room) }

// directKey names the direct room of two users, whichever opens it.
func directKey(a, b int64) []byte {
	return pairKey(prefixDirect, min(a, b), max(a, b))
}

func revokedKey(jti string) []byte {
	return append(append([]byte{}, prefixRevoked...), jti...)
}

func decodeUint64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}
