package actors

import "livechat/persistence"

// deletedAfter counts the deleted messages of room with seq above after
// (md/<room>/<seq>). A failed read counts none: the count is a hint for
// a badge, and the next read corrects it.
func deletedAfter(store *persistence.Store, room, after int64) int64 {
	n, err := store.DeletedAfter(room, after)
	if err != nil {
		return 0
	}
	return n
}

// UnreadCount is a member's unread_count: the messages of room above the
// marker, up to last (the room's last seq), that are not deleted.
func UnreadCount(store *persistence.Store, room, last, marker int64) int64 {
	if marker >= last {
		return 0
	}
	return max(last-marker-deletedAfter(store, room, marker), 0)
}
