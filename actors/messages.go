package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"livechat/actors/pb"
	pspb "livechat/persistence/pb"
)

// Process-local messages. They carry things protobuf cannot (a Sink, results
// of local goroutines) and never leave the process; when rooms become cluster
// grains, localJoin's Sink is replaced by frames sent to the session's PID.

// localJoin is a Join with the session's outbound sink.
type localJoin struct {
	*pb.Join
	events Events
	sink   Sink
}

// socketPost is a Post from a socket's session. The room answers it only
// when the session has something to send (a failure, or the original of a
// resend): a stored message reaches its sender with everyone else, so a
// success answer would be one more actor message per post for nothing.
type socketPost struct{ *pb.Post }

// inboundTyping is a chat.typing frame read from a socket, for its session.
type inboundTyping struct{ typing bool }

// socketTyping is a chat.typing frame from a socket's session to its room:
// user started (typing) or stopped typing. It is never stored.
type socketTyping struct {
	room   int64
	user   *pb.Sender
	typing bool
}

// persisted reports that the writer made the room's record rev durable
// (or failed).
type persisted struct {
	rev int64
	err error
}

// changeLoaded carries a message read from the store for a change the room
// could not apply from memory.
type changeLoaded struct {
	req     *pb.ChangeMessage
	replyTo *actor.PID
	msg     *pspb.Message
	err     error
}

// caughtUp reports that a reconnecting member's backlog has been queued.
type caughtUp struct{ member *actor.PID }

// idleTick asks a room to check whether it has been idle long enough.
type idleTick struct{}

// roomLoaded carries a room's state, read from the store by the hub.
type roomLoaded struct {
	id    int64
	state *roomState
	err   error
}

// roomIdle tells the hub that a room would like to passivate.
type roomIdle struct{ id int64 }

// passivate is the hub's go-ahead: the room stops if it is still idle.
type passivate struct{}

// stillActive tells the hub that a room received work after asking to passivate.
type stillActive struct{ id int64 }

// roomDrained reports that every write of a stopped room is committed.
type roomDrained struct{ id int64 }

// userStored reports the end of a directory write.
type userStored struct {
	email   string
	user    *pspb.User
	err     error
	replyTo *actor.PID
}

// roomState is what a room actor starts from.
type roomState struct {
	room      *pspb.Room
	lastSeq   int64
	lastRev   int64
	recent    []*pspb.Message
	memberIDs []int64
}
