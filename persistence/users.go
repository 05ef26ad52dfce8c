package persistence

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	"livechat/persistence/pb"
)

// CreateUser stores u with a new id (written into u). It fails with
// ErrEmailTaken when an account with the same email, compared
// case-insensitively, exists. Concurrent calls are linearizable per email.
func (s *Store) CreateUser(u *pb.User) error {
	if err := s.space.admit(accountRecord, true); err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	if s.repl != nil {
		v, err := s.propose("create user", &pb.Command{Op: &pb.Command_CreateUser{CreateUser: u}})
		if err != nil {
			return err
		}
		u.Id = v.(int64)
		return nil
	}
	return s.createUserLocal(u)
}

// createUserLocal stores u in this store, with a new id.
func (s *Store) createUserLocal(u *pb.User) error {
	s.createUser.Lock()
	defer s.createUser.Unlock()
	err := s.update(func(txn *badger.Txn) error {
		ek := emailKey(u.Email)
		if _, err := txn.Get(ek); err == nil {
			return ErrEmailTaken
		} else if err != badger.ErrKeyNotFound {
			return err
		}
		id, err := nextCounter(txn, keyNextUser)
		if err != nil {
			return err
		}
		u.Id = id
		if err := txn.Set(ek, appendUint64(nil, uint64(id))); err != nil {
			return err
		}
		return setProto(txn, userKey(id), u)
	})
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

// UpdateUser changes user id with fn inside one transaction, so that
// concurrent updates do not lose each other's changes. The email must not
// change. It returns the updated user.
func (s *Store) UpdateUser(id int64, fn func(u *pb.User) error) (*pb.User, error) {
	if err := s.space.admit(accountRecord, true); err != nil {
		return nil, fmt.Errorf("update user: %w", err)
	}
	if s.repl != nil {
		return s.updateUserReplicated(id, fn)
	}
	return s.updateUserLocal(id, nil, fn)
}

// errChanged refuses a compare-and-set whose record changed since it was read.
var errChanged = errors.New("persistence: changed meanwhile")

// updateUserReplicated reads the user, applies fn, and proposes the result
// as a compare-and-set, reading again when another write came first.
// Updates through one node take turns, so that only other nodes' updates
// can make one read again; a retry waits a random few milliseconds.
func (s *Store) updateUserReplicated(id int64, fn func(u *pb.User) error) (*pb.User, error) {
	s.updateUser.Lock()
	defer s.updateUser.Unlock()
	for try := range 8 {
		if try > 0 {
			time.Sleep(time.Duration(rand.Int64N(int64(try) * int64(5*time.Millisecond))))
		}
		if err := s.Sync(); err != nil {
			return nil, fmt.Errorf("update user: %w", err)
		}
		old, err := s.readUser(id)
		if err != nil {
			return nil, fmt.Errorf("update user: %w", err)
		}
		u := proto.Clone(old).(*pb.User)
		if err := fn(u); err != nil {
			return nil, fmt.Errorf("update user: %w", err)
		}
		v, err := s.propose("update user", &pb.Command{Op: &pb.Command_UpdateUser{UpdateUser: &pb.UpdateUser{Expect: old, User: u}}})
		if errors.Is(err, errChanged) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return v.(*pb.User), nil
	}
	return nil, fmt.Errorf("update user: %w: concurrent updates kept winning", ErrUnavailable)
}

// updateUserLocal is UpdateUser in this store; with expect set, it
// refuses with errChanged unless the user is stored as expect.
func (s *Store) updateUserLocal(id int64, expect *pb.User, fn func(u *pb.User) error) (*pb.User, error) {
	var u *pb.User
	err := s.cache.updateUser(id, func() error {
		return s.update(func(txn *badger.Txn) error {
			u = &pb.User{}
			if err := getProto(txn, userKey(id), u); err != nil {
				return err
			}
			if expect != nil && !proto.Equal(u, expect) {
				return errChanged
			}
			hid := u.HideEmail
			if err := fn(u); err != nil {
				return err
			}
			if err := setHideEmail(txn, id, hid, u.HideEmail); err != nil {
				return err
			}
			return setProto(txn, userKey(id), u)
		})
	})
	if err != nil {
		return nil, fmt.Errorf("update user: %w", err)
	}
	return u, nil
}

// UserByID returns the user with id, or ErrNotFound. The result is shared
// and must not be modified.
func (s *Store) UserByID(id int64) (*pb.User, error) {
	return caughtUp(s, func() (*pb.User, error) {
		return s.cache.user(id, func() (*pb.User, error) { return s.readUser(id) })
	})
}

func (s *Store) readUser(id int64) (*pb.User, error) {
	u := &pb.User{}
	err := s.view(func(txn *badger.Txn) error { return getProto(txn, userKey(id), u) })
	if err != nil {
		return nil, fmt.Errorf("user %d: %w", id, err)
	}
	return u, nil
}

// UserByEmail returns the user with email (case-insensitive), or ErrNotFound.
func (s *Store) UserByEmail(email string) (*pb.User, error) {
	return caughtUp(s, func() (*pb.User, error) { return s.userByEmail(email) })
}

func (s *Store) userByEmail(email string) (*pb.User, error) {
	u := &pb.User{}
	err := s.view(func(txn *badger.Txn) error {
		id, err := getUint64(txn, emailKey(email))
		if err != nil {
			return err
		}
		return getProto(txn, userKey(int64(id)), u)
	})
	if err != nil {
		return nil, fmt.Errorf("user by email: %w", err)
	}
	return u, nil
}

// setHideEmail keeps the index of users who hide their email in step with
// their record, so that a start reads only those users, not every account.
func setHideEmail(txn *badger.Txn, id int64, was, now bool) error {
	switch {
	case now == was:
		return nil
	case now:
		return txn.Set(hideEmailKey(id), nil)
	default:
		return txn.Delete(hideEmailKey(id))
	}
}

// HiddenEmailUsers returns the ids of the users who hide their email.
func (s *Store) HiddenEmailUsers() ([]int64, error) {
	var ids []int64
	err := s.view(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = prefixHideEmail
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			ids = append(ids, int64(decodeUint64(k[len(prefixHideEmail):])))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hidden emails: %w", err)
	}
	return ids, nil
}
