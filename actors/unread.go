package actors

import "livechat/persistence"

// deletedAfter counts the deleted messages of room with seq above after.
// Deleted messages are recorded by message deletion (md/<room>/<seq>);
// until a store records them, none are counted.
func deletedAfter(*persistence.Store, int64, int64) int64 { return 0 }

// UnreadCount is a member's unread_count: the messages of room above the
// marker, up to last (the room's last seq), that are not deleted.
func UnreadCount(store *persistence.Store, room, last, marker int64) int64 {
	if marker >= last {
		return 0
	}
	return max(last-marker-deletedAfter(store, room, marker), 0)
}
