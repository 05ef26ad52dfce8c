package persistence

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"livechat/persistence/pb"
)

// Media keeps the files served under /media/ (profile pictures): under
// <data dir>/media/, or in memory with an in-memory store. Names are
// relative slash-separated paths that the caller has validated (no "..",
// no leading slash); Media checks them again so that no name can leave
// its folder. It is safe for concurrent use.
type Media struct {
	dir   string // <data dir>/media; empty in memory
	space *space // the store's reserve; nil in memory
	// store proposes puts and removals through its cluster's log when it
	// is a replica, so that every node holds every file.
	store *Store

	mu  sync.RWMutex
	mem map[string][]byte // in memory only
}

// mediaDir is the folder of the media files inside the data directory.
const mediaDir = "media"

func newMedia(cfg Config, sp *space) *Media {
	if cfg.InMemory {
		return &Media{mem: map[string][]byte{}}
	}
	return &Media{dir: filepath.Join(cfg.Dir, mediaDir), space: sp}
}

// Media returns the store's media files.
func (s *Store) Media() *Media { return s.media }

// errBadName refuses a name that could leave the media folder.
var errBadName = errors.New("persistence: bad media name")

func cleanName(name string) (string, error) {
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || strings.IndexByte(name, 0) >= 0 {
		return "", errBadName
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || part == "." || part == ".." {
			return "", errBadName
		}
	}
	return name, nil
}

// Put stores data under name, replacing any file of that name, and
// returns once the file is durable: written to a temporary file, synced,
// renamed into place, and its folder synced. Below the storage reserve
// (or with the volume full) it fails with ErrStorageFull and leaves
// nothing behind.
func (m *Media) Put(name string, data []byte) error {
	if m.store != nil && m.store.repl != nil {
		if _, err := cleanName(name); err != nil {
			return err
		}
		if m.space != nil {
			if err := m.space.admit(int64(len(data))+4096, true); err != nil {
				return fmt.Errorf("media: %w", err)
			}
		}
		_, err := m.store.propose("media", &pb.Command{Op: &pb.Command_MediaPut{MediaPut: &pb.MediaPut{Name: name, Data: data}}})
		return err
	}
	return m.putLocal(name, data)
}

func (m *Media) putLocal(name string, data []byte) error {
	name, err := cleanName(name)
	if err != nil {
		return err
	}
	if m.dir == "" {
		m.mu.Lock()
		m.mem[name] = append([]byte(nil), data...)
		m.mu.Unlock()
		return nil
	}
	if err := m.space.admit(int64(len(data))+4096, true); err != nil {
		return fmt.Errorf("media: %w", err)
	}
	path := filepath.Join(m.dir, filepath.FromSlash(name))
	if err := mkdirDurable(filepath.Dir(path), m.dir); err != nil {
		return fmt.Errorf("media: %w", spaceError(err))
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".upload-*")
	if err != nil {
		return fmt.Errorf("media: %w", spaceError(err))
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("media: %w", spaceError(err))
	}
	return nil
}

// Get returns the file called name, or ErrNotFound.
func (m *Media) Get(name string) ([]byte, error) {
	name, err := cleanName(name)
	if err != nil {
		return nil, ErrNotFound
	}
	if m.dir == "" {
		m.mu.RLock()
		b, ok := m.mem[name]
		m.mu.RUnlock()
		if !ok {
			return nil, ErrNotFound
		}
		return b, nil
	}
	b, err := os.ReadFile(filepath.Join(m.dir, filepath.FromSlash(name)))
	if os.IsNotExist(err) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	return b, nil
}

// Remove deletes the file called name; a missing file is not an error.
func (m *Media) Remove(name string) error {
	if m.store != nil && m.store.repl != nil {
		if _, err := cleanName(name); err != nil {
			return err
		}
		_, err := m.store.propose("media", &pb.Command{Op: &pb.Command_MediaRemove{MediaRemove: name}})
		return err
	}
	return m.removeLocal(name)
}

func (m *Media) removeLocal(name string) error {
	name, err := cleanName(name)
	if err != nil {
		return err
	}
	if m.dir == "" {
		m.mu.Lock()
		delete(m.mem, name)
		m.mu.Unlock()
		return nil
	}
	path := filepath.Join(m.dir, filepath.FromSlash(name))
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("media: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

// mkdirDurable creates dir and its missing parents up to root (private,
// like the data directory), syncing each parent that gained an entry.
func mkdirDurable(dir, root string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if dir != root {
		if err := mkdirDurable(filepath.Dir(dir), root); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !os.IsExist(err) {
		return err
	}
	return syncDir(filepath.Dir(dir))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// spaceError turns a full volume or quota into ErrStorageFull.
func spaceError(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w: %v", ErrStorageFull, err)
	}
	return err
}

// Walk calls fn with every media file, by name.
func (m *Media) Walk(fn func(name string, data []byte) error) error {
	if m.dir == "" {
		m.mu.RLock()
		names := make([]string, 0, len(m.mem))
		for n := range m.mem {
			names = append(names, n)
		}
		m.mu.RUnlock()
		for _, n := range names {
			if b, err := m.Get(n); err == nil {
				if err := fn(n, b); err != nil {
					return err
				}
			}
		}
		return nil
	}
	err := filepath.WalkDir(m.dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".upload-") {
			return err
		}
		rel, err := filepath.Rel(m.dir, path)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return fn(filepath.ToSlash(rel), b)
	})
	if os.IsNotExist(err) {
		return nil
	}
	return err
}
