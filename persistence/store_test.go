package persistence

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"livechat/persistence/pb"
)

var discardLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// openTestStore opens a store in dir, or in memory when dir is "", and
// closes it when the test ends (Store.Close is idempotent, so a test may
// close it earlier to reopen its directory).
func openTestStore(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(Config{Dir: dir, InMemory: dir == "", Logger: discardLog})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return s
}

// closeStore closes s now, to reopen its directory.
func closeStore(t testing.TB, s *Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("close store: %v", err)
	}
}

// newTestWriter starts a writer closed when the test ends (before its
// store, since cleanups run last-registered first).
func newTestWriter(t testing.TB, s *Store, cfg WriterConfig) *Writer {
	t.Helper()
	w := s.NewWriter(cfg)
	t.Cleanup(w.Close)
	return w
}

// appendWait appends msgs and waits until they are durable.
func appendWait(t testing.TB, w *Writer, msgs ...*pb.Message) {
	t.Helper()
	errc := make(chan error, 1)
	w.Append(msgs, func(err error) { errc <- err })
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("append: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("append not confirmed in 10s")
	}
}

// msg builds message seq of room with a fresh id.
func msg(s *Store, room, seq int64) *pb.Message {
	return &pb.Message{Id: s.NextMessageID(), Room: room, Seq: seq, SenderId: 1, SenderEmail: "a@example.com",
		Nickname: "a", Text: fmt.Sprintf("room %d seq %d", room, seq), CreatedAtUs: time.Now().UnixMicro()}
}

// fillRoom stores messages 1..n of room.
func fillRoom(t testing.TB, s *Store, w *Writer, room int64, n int) {
	t.Helper()
	msgs := make([]*pb.Message, n)
	for i := range msgs {
		msgs[i] = msg(s, room, int64(i+1))
	}
	appendWait(t, w, msgs...)
}

// seqsOf returns the seqs of msgs, checking they all belong to room.
func seqsOf(t testing.TB, room int64, msgs []*pb.Message) []int64 {
	t.Helper()
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		if m.Room != room {
			t.Fatalf("message %d of room %d returned for room %d", m.Seq, m.Room, room)
		}
		if m.Text != fmt.Sprintf("room %d seq %d", room, m.Seq) {
			t.Fatalf("message %d/%d has text %q", room, m.Seq, m.Text)
		}
		out[i] = m.Seq
	}
	return out
}

// seqRange is from..to inclusive, nil when from > to.
func seqRange(from, to int64) []int64 {
	var out []int64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

func equalSeqs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestOpenRejectsUnknownDurability(t *testing.T) {
	if _, err := Open(Config{InMemory: true, Durability: "sometimes", Logger: discardLog}); err == nil {
		t.Fatal("Open accepted durability \"sometimes\"")
	}
	for _, d := range []Durability{"", DurabilityFsync, DurabilityOS} {
		s, err := Open(Config{InMemory: true, Durability: d, Logger: discardLog})
		if err != nil {
			t.Fatalf("durability %q: %v", d, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestUsers(t *testing.T) {
	s := openTestStore(t, "")
	a := &pb.User{Email: "Alice@Example.com", Nickname: "앨리스", PasswordHash: []byte("h")}
	if err := s.CreateUser(a); err != nil {
		t.Fatal(err)
	}
	b := &pb.User{Email: "bob@example.com", Nickname: "bob"}
	if err := s.CreateUser(b); err != nil {
		t.Fatal(err)
	}
	if a.Id != 1 || b.Id != 2 {
		t.Errorf("ids %d, %d: want 1, 2", a.Id, b.Id)
	}
	for _, email := range []string{"alice@example.com", "ALICE@EXAMPLE.COM", "Alice@Example.com"} {
		u, err := s.UserByEmail(email)
		if err != nil || u.Id != a.Id || u.Email != "Alice@Example.com" || u.Nickname != "앨리스" {
			t.Errorf("UserByEmail(%q) = %v, %v", email, u, err)
		}
	}
	if err := s.CreateUser(&pb.User{Email: "ALICE@example.COM"}); !errors.Is(err, ErrEmailTaken) {
		t.Errorf("duplicate email in other case: %v, want ErrEmailTaken", err)
	}
	if _, err := s.UserByEmail("carol@example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown email: %v", err)
	}
	if _, err := s.UserByID(99); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
	u, err := s.UpdateUser(b.Id, func(u *pb.User) error { u.Nickname = "밥"; return nil })
	if err != nil || u.Nickname != "밥" {
		t.Fatalf("UpdateUser = %v, %v", u, err)
	}
	if u, _ := s.UserByID(b.Id); u.Nickname != "밥" || u.Email != "bob@example.com" {
		t.Errorf("after update: %v", u)
	}
	boom := errors.New("boom")
	if _, err := s.UpdateUser(b.Id, func(u *pb.User) error { u.Nickname = "lost"; return boom }); !errors.Is(err, boom) {
		t.Errorf("UpdateUser error: %v", err)
	}
	if u, _ := s.UserByID(b.Id); u.Nickname != "밥" {
		t.Errorf("a failed update changed the user: %v", u)
	}
	if _, err := s.UpdateUser(99, func(*pb.User) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateUser of unknown user: %v", err)
	}
}

// Reads racing updates never leave an old version of a user cached: after
// the last update every read sees it.
func TestUserCacheNeverStale(t *testing.T) {
	s := openTestStore(t, "")
	u := &pb.User{Email: "cache@example.com", Nickname: "v0"}
	if err := s.CreateUser(u); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.UserByID(u.Id); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	const updates = 100
	for i := 1; i <= updates; i++ {
		if _, err := s.UpdateUser(u.Id, func(x *pb.User) error { x.Nickname = fmt.Sprintf("v%d", i); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	readers.Wait()
	if got, err := s.UserByID(u.Id); err != nil || got.Nickname != fmt.Sprintf("v%d", updates) {
		t.Fatalf("after %d updates UserByID = %v, %v", updates, got, err)
	}
}

func TestUniqueEmailUnderConcurrency(t *testing.T) {
	s := openTestStore(t, "")
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			email := "race@example.com"
			if i%2 == 0 {
				email = strings.ToUpper(email)
			}
			errs[i] = s.CreateUser(&pb.User{Email: email})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrEmailTaken):
			t.Errorf("CreateUser: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d accounts for one email, want 1", ok)
	}

	// Distinct emails all succeed with distinct ids.
	ids := make([]int64, n)
	for i := range n {
		wg.Go(func() {
			u := &pb.User{Email: fmt.Sprintf("u%d@example.com", i)}
			if err := s.CreateUser(u); err != nil {
				t.Error(err)
			}
			ids[i] = u.Id
		})
	}
	wg.Wait()
	seen := map[int64]bool{}
	for _, id := range ids {
		if id < 2 || seen[id] {
			t.Fatalf("ids %v are not distinct new ids", ids)
		}
		seen[id] = true
	}
}

func TestRooms(t *testing.T) {
	s := openTestStore(t, "")
	if rooms, err := s.Rooms(0, 10); err != nil || len(rooms) != 0 {
		t.Fatalf("empty store has rooms %v, %v", rooms, err)
	}
	var ids []int64
	for i := range 5 {
		r := &pb.Room{Name: fmt.Sprintf("r%d", i), Owner: 1}
		if i < 3 {
			r.Post = int64(10 + i)
		}
		if err := s.CreateRoom(r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.Id)
	}
	if !equalSeqs(ids, []int64{1, 2, 3, 4, 5}) {
		t.Errorf("room ids %v", ids)
	}
	if err := s.CreateRoom(&pb.Room{Name: "dup", Post: 11}); !errors.Is(err, ErrPostTaken) {
		t.Errorf("duplicate post: %v, want ErrPostTaken", err)
	}
	if r, err := s.RoomByID(2); err != nil || r.Name != "r1" || r.Post != 11 {
		t.Errorf("RoomByID(2) = %v, %v", r, err)
	}
	for _, id := range []int64{0, -1, 6, 1 << 40} {
		if _, err := s.RoomByID(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("RoomByID(%d): %v", id, err)
		}
	}
	for _, tc := range []struct {
		after int64
		limit int
		want  []int64
	}{
		{0, 10, ids}, {-5, 10, ids}, {0, 2, ids[:2]}, {2, 2, ids[2:4]}, {4, 10, ids[4:]}, {5, 10, nil}, {1 << 40, 10, nil}, {0, 1, ids[:1]},
	} {
		rooms, err := s.Rooms(tc.after, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, r := range rooms {
			got = append(got, r.Id)
		}
		if !equalSeqs(got, tc.want) {
			t.Errorf("Rooms(%d, %d) = %v, want %v", tc.after, tc.limit, got, tc.want)
		}
	}
}

func TestUniquePostUnderConcurrency(t *testing.T) {
	s := openTestStore(t, "")
	const n = 40
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = s.CreateRoom(&pb.Room{Name: "race", Post: 7}) })
	}
	// Rooms without a post never conflict with each other.
	noPost := make([]error, n)
	for i := range n {
		wg.Go(func() { noPost[i] = s.CreateRoom(&pb.Room{Name: "free"}) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrPostTaken):
			t.Errorf("CreateRoom: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d rooms for one post, want 1", ok)
	}
	for _, err := range noPost {
		if err != nil {
			t.Errorf("room without post: %v", err)
		}
	}
	rooms, err := s.Rooms(0, 1000)
	if err != nil || len(rooms) != n+1 {
		t.Fatalf("%d rooms stored (%v), want %d", len(rooms), err, n+1)
	}
	for i, r := range rooms {
		if r.Id != int64(i+1) {
			t.Fatalf("room ids not 1..%d: %d at %d", n+1, r.Id, i)
		}
	}
}

func TestMessagesPaging(t *testing.T) {
	s := openTestStore(t, "")
	w := newTestWriter(t, s, WriterConfig{})
	// Neighbouring rooms, including ids whose bytes share prefixes, must not
	// leak into each other's scans.
	fillRoom(t, s, w, 1, 120)
	fillRoom(t, s, w, 2, 3)
	fillRoom(t, s, w, 256, 5)
	fillRoom(t, s, w, 1<<40, 2)

	for room, want := range map[int64]int64{1: 120, 2: 3, 256: 5, 1 << 40: 2, 3: 0, 0: 0, -1: 0} {
		if got, err := s.LastSeq(room); err != nil || got != want {
			t.Errorf("LastSeq(%d) = %d, %v, want %d", room, got, err, want)
		}
	}
	before := func(before int64, limit int) []int64 {
		t.Helper()
		msgs, err := s.MessagesBefore(1, before, limit)
		if err != nil {
			t.Fatal(err)
		}
		return seqsOf(t, 1, msgs)
	}
	after := func(after int64, limit int) []int64 {
		t.Helper()
		msgs, err := s.MessagesAfter(1, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		return seqsOf(t, 1, msgs)
	}
	for _, tc := range []struct {
		name string
		got  []int64
		want []int64
	}{
		{"before 0 = newest", before(0, 50), seqRange(71, 120)},
		{"before -1 = newest", before(-1, 10), seqRange(111, 120)},
		{"before max+1", before(121, 50), seqRange(71, 120)},
		{"before far", before(1<<50, 3), seqRange(118, 120)},
		{"before 71", before(71, 50), seqRange(21, 70)},
		{"before 21", before(21, 50), seqRange(1, 20)},
		{"before 2", before(2, 50), []int64{1}},
		{"before 1", before(1, 50), nil},
		{"limit above count", before(0, 1000), seqRange(1, 120)},
		{"limit 1", before(60, 1), []int64{59}},
		{"limit 0", before(60, 0), nil},
		{"after 0", after(0, 5), seqRange(1, 5)},
		{"after -1", after(-1, 3), seqRange(1, 3)},
		{"after 100", after(100, 50), seqRange(101, 120)},
		{"after 119", after(119, 50), []int64{120}},
		{"after max", after(120, 50), nil},
		{"after far", after(1<<50, 50), nil},
		{"after limit 0", after(0, 0), nil},
	} {
		if !equalSeqs(tc.got, tc.want) {
			t.Errorf("%s: seqs %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	// Paging back by the smallest seq walks everything exactly once.
	var walked []int64
	for b := int64(0); ; {
		page := before(b, 17)
		if len(page) == 0 {
			break
		}
		walked = append(page, walked...)
		b = page[0]
	}
	if !equalSeqs(walked, seqRange(1, 120)) {
		t.Errorf("paging back walked %v", walked)
	}
	for _, room := range []int64{3, -1} {
		if msgs, err := s.MessagesBefore(room, 0, 10); err != nil || len(msgs) != 0 {
			t.Errorf("room %d: %v, %v", room, msgs, err)
		}
	}
}

func TestMessageByClientID(t *testing.T) {
	s := openTestStore(t, "")
	w := newTestWriter(t, s, WriterConfig{})
	m := msg(s, 4, 1)
	m.SenderId, m.ClientId = 9, "c-1"
	other := msg(s, 4, 2)
	other.SenderId, other.ClientId = 9, strings.Repeat("말", 64)
	appendWait(t, w, m, other, msg(s, 4, 3))
	got, err := s.MessageByClientID(4, 9, "c-1")
	if err != nil || got.Id != m.Id || got.Seq != 1 || got.Text != m.Text {
		t.Fatalf("MessageByClientID = %v, %v", got, err)
	}
	if got, err := s.MessageByClientID(4, 9, other.ClientId); err != nil || got.Seq != 2 {
		t.Errorf("long unicode client id: %v, %v", got, err)
	}
	for _, tc := range []struct {
		room, user int64
		id         string
	}{{4, 8, "c-1"}, {5, 9, "c-1"}, {4, 9, "c-2"}, {4, 9, "c-"}, {4, 9, ""}, {4, 9, "c-1/"}} {
		if _, err := s.MessageByClientID(tc.room, tc.user, tc.id); !errors.Is(err, ErrNotFound) {
			t.Errorf("MessageByClientID(%d, %d, %q): %v, want ErrNotFound", tc.room, tc.user, tc.id, err)
		}
	}
}

func TestSecretAndRevokedTokens(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	secret, err := s.Secret()
	if err != nil || len(secret) < 32 {
		t.Fatalf("Secret = %x, %v", secret, err)
	}
	if again, _ := s.Secret(); string(again) != string(secret) {
		t.Errorf("secret changed between calls")
	}
	if err := s.RevokeToken("jti-1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken("jti-old", time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	for jti, want := range map[string]bool{"jti-1": true, "jti-old": false, "jti-2": false, "": false} {
		if got, err := s.IsRevoked(jti); err != nil || got != want {
			t.Errorf("IsRevoked(%q) = %v, %v, want %v", jti, got, err, want)
		}
	}
	closeStore(t, s)

	s = openTestStore(t, dir)
	if again, _ := s.Secret(); string(again) != string(secret) {
		t.Errorf("secret changed across reopen")
	}
	if got, _ := s.IsRevoked("jti-1"); !got {
		t.Errorf("revocation lost across reopen")
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	w := s.NewWriter(WriterConfig{})
	u := &pb.User{Email: "keep@example.com", Nickname: "유지", PasswordHash: []byte("hash")}
	if err := s.CreateUser(u); err != nil {
		t.Fatal(err)
	}
	r := &pb.Room{Name: "kept", Post: 3, Owner: u.Id, CreatedAtUs: 1234}
	if err := s.CreateRoom(r); err != nil {
		t.Fatal(err)
	}
	fillRoom(t, s, w, r.Id, 40)
	maxID := s.NextMessageID() - 1
	w.Close()
	closeStore(t, s)

	s = openTestStore(t, dir)
	w = newTestWriter(t, s, WriterConfig{})
	if got, err := s.UserByEmail("KEEP@example.com"); err != nil || got.Id != u.Id || got.Nickname != "유지" || string(got.PasswordHash) != "hash" {
		t.Errorf("user after reopen: %v, %v", got, err)
	}
	if got, err := s.RoomByID(r.Id); err != nil || got.Name != "kept" || got.Post != 3 || got.CreatedAtUs != 1234 {
		t.Errorf("room after reopen: %v, %v", got, err)
	}
	if err := s.CreateRoom(&pb.Room{Name: "dup", Post: 3}); !errors.Is(err, ErrPostTaken) {
		t.Errorf("post uniqueness lost across reopen: %v", err)
	}
	if err := s.CreateUser(&pb.User{Email: "keep@EXAMPLE.com"}); !errors.Is(err, ErrEmailTaken) {
		t.Errorf("email uniqueness lost across reopen: %v", err)
	}
	if last, err := s.LastSeq(r.Id); err != nil || last != 40 {
		t.Errorf("LastSeq after reopen = %d, %v", last, err)
	}
	msgs, err := s.MessagesAfter(r.Id, 0, 100)
	if err != nil || !equalSeqs(seqsOf(t, r.Id, msgs), seqRange(1, 40)) {
		t.Fatalf("messages after reopen: %d, %v", len(msgs), err)
	}
	// Counters go on: ids are never reused.
	u2 := &pb.User{Email: "new@example.com"}
	r2 := &pb.Room{Name: "new"}
	if err := s.CreateUser(u2); err != nil || u2.Id <= u.Id {
		t.Errorf("new user id %d after %d (%v)", u2.Id, u.Id, err)
	}
	if err := s.CreateRoom(r2); err != nil || r2.Id <= r.Id {
		t.Errorf("new room id %d after %d (%v)", r2.Id, r.Id, err)
	}
	if id := s.NextMessageID(); id <= maxID {
		t.Errorf("message id %d handed out again after reopen (max stored %d)", id, maxID)
	}
	appendWait(t, w, msg(s, r.Id, 41))
}
