package ledger

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/dgraph-io/badger/v4"
)

// Ledger is a local append-only store of signed entries. Its methods are
// safe for concurrent use; one process at a time may open a ledger. While
// an [Ledger.Import] runs, reads in the same process may see the entries
// it has staged but not yet committed.
type Ledger struct {
	dir    string
	db     *badger.DB
	unlock func()
	ckKey  ed25519.PrivateKey

	mu       sync.Mutex // serialises writers
	arrivals uint64     // entries stored so far
}

// Open opens the ledger in dir, creating it if needed. A ledger that another
// process holds open gives an error wrapping [ErrLocked].
func Open(dir string) (*Ledger, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("failed to create ledger %s: %w", dir, err)
	}
	unlock, err := lockDir(filepath.Join(dir, "LOCK"))
	if err != nil {
		if errors.Is(err, ErrLocked) {
			return nil, fmt.Errorf("%w: %s (wait for it to finish, then try again)", ErrLocked, dir)
		}
		return nil, fmt.Errorf("failed to lock ledger %s: %w", dir, err)
	}
	if err := removeEmptyLogs(filepath.Join(dir, "db")); err != nil {
		unlock()
		return nil, fmt.Errorf("failed to open ledger %s: %w", dir, err)
	}
	opts := badger.DefaultOptions(filepath.Join(dir, "db")).
		WithSyncWrites(true).
		WithLogger(nil).
		WithDetectConflicts(false).
		WithNumVersionsToKeep(1).
		WithMemTableSize(32 << 20).
		WithBlockCacheSize(32 << 20).
		WithIndexCacheSize(16 << 20)
	db, err := badger.Open(opts)
	if err != nil {
		unlock()
		return nil, fmt.Errorf("failed to open ledger %s: %w", dir, err)
	}
	l := &Ledger{dir: dir, db: db, unlock: unlock}
	if l.ckKey, err = loadCheckpointKey(filepath.Join(dir, "checkpoint.key")); err != nil {
		l.Close()
		return nil, err
	}
	if err := l.recoverImport(); err != nil {
		l.Close()
		return nil, fmt.Errorf("failed to recover ledger %s: %w", dir, err)
	}
	return l, nil
}

// removeEmptyLogs removes the memtable and value logs of zero bytes from
// a Badger directory. A process killed while Badger creates one leaves
// it empty, and Badger then refuses to open the store ("Create a new
// file"). Zero bytes hold no entry and no value, so nothing is lost.
func removeEmptyLogs(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".mem") && !strings.HasSuffix(e.Name(), ".vlog") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		if info.Mode().IsRegular() && info.Size() == 0 {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close closes the ledger and releases its lock.
func (l *Ledger) Close() error {
	err := l.db.Close()
	l.unlock()
	return err
}

// Dir returns the ledger's directory.
func (l *Ledger) Dir() string { return l.dir }

// loadCheckpointKey reads the ledger's own checkpoint signing key, creating
// it on first use. It signs only local checkpoints, never entries. The key
// is written beside its place and renamed there, so a crash cannot leave
// half a key; an empty file (from a crash before that was so) counts as
// none: checkpoints signed by an earlier key then fail to verify and the
// next verification checks everything.
func loadCheckpointKey(path string) (ed25519.PrivateKey, error) {
	seed, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) || err == nil && len(seed) == 0 {
		seed = make([]byte, ed25519.SeedSize)
		rand.Read(seed)
		tmp := path + ".new"
		os.Remove(tmp)
		if err := writeNew(tmp, seed, 0o600); err != nil {
			return nil, fmt.Errorf("failed to create checkpoint key: %w", err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return nil, fmt.Errorf("failed to create checkpoint key: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("failed to read checkpoint key: %w", err)
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("checkpoint key %s is malformed", path)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}
