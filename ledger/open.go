package ledger

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/dgraph-io/badger/v4"
)

// Ledger is a local append-only store of signed entries. Its methods are
// safe for concurrent use. A ledger is open in one process that writes
// ([Open]) or in any number that only read ([OpenReadOnly]), never both.
// While an [Ledger.Import] runs, reads in the same process may see the
// entries it has staged but not yet committed.
type Ledger struct {
	dir      string
	db       *badger.DB
	unlock   func()
	ckKey    ed25519.PrivateKey // nil when read-only and the ledger has none
	readOnly bool

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
	db, err := badger.Open(storeOptions(filepath.Join(dir, "db")))
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

// storeOptions are the Badger options of the store in dir.
func storeOptions(dir string) badger.Options {
	return badger.DefaultOptions(dir).
		WithSyncWrites(true).
		WithLogger(nil).
		WithDetectConflicts(false).
		WithNumVersionsToKeep(1).
		WithMemTableSize(32 << 20).
		WithBlockCacheSize(32 << 20).
		WithIndexCacheSize(16 << 20)
}

// OpenReadOnly opens the ledger in dir for reading only, and creates
// nothing: a dir that does not exist or holds no ledger gives an error
// wrapping [ErrNoLedger]. It is for commands that only read.
//
// Any number of processes may hold a ledger open read-only at once; a
// writer ([Open]) excludes them, and they exclude a writer: either gives
// an error wrapping [ErrLocked] while the other holds the ledger. (It
// takes a shared lock on the ledger's LOCK file, where [Open] takes an
// exclusive one; a ledger without that file is locked through its store's
// directory, as Badger locks it.)
//
// Every write to a ledger opened read-only ([Ledger.Append],
// [Ledger.AppendSubject], [Ledger.Import], [Ledger.PutBlob]) gives an
// error wrapping [ErrReadOnly]. [Ledger.Verify] checks as usual but writes
// no checkpoint, and where the ledger has no checkpoint key yet it
// checks everything rather than create one.
//
// A ledger that a writer did not close (it was killed: an import cut
// off, a store log left to replay) or that was written before signoff
// kept its committed entry count cannot be read as it is. OpenReadOnly
// then recovers it first, exactly as the next [Open] would, by opening it
// for writing and closing it again, and then opens it read-only.
// Recovering an existing ledger is not creating one: it rolls back only
// what was never committed, and needs the ledger free of other readers
// and writers for that moment.
//
// Where Badger cannot open a store read-only (Windows, Plan 9),
// OpenReadOnly opens it for writing and the ledger still refuses every
// write; there readers exclude each other too.
func OpenReadOnly(dir string) (*Ledger, error) {
	l, why, err := openReadOnly(dir)
	if err != nil || why == "" {
		return l, err
	}
	w, err := Open(dir)
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("failed to recover ledger %s before reading it (%s): %w", dir, why, err)
	}
	l, again, err := openReadOnly(dir)
	if err == nil && again != "" {
		l.Close()
		return nil, fmt.Errorf("failed to open ledger %s: recovered, it still needs recovery (%s)", dir, again)
	}
	return l, err
}

// badgerReadOnly is whether Badger can open a store read-only here.
const badgerReadOnly = runtime.GOOS != "windows" && runtime.GOOS != "plan9"

// openReadOnly opens the ledger in dir read-only, or says why it must be
// recovered first and opens nothing.
func openReadOnly(dir string) (*Ledger, string, error) {
	store := filepath.Join(dir, "db")
	// Badger writes its manifest when it first opens a store: without
	// one, nothing was ever stored there.
	if _, err := os.Stat(filepath.Join(store, badger.ManifestFilename)); errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("%w in %s", ErrNoLedger, dir)
	} else if err != nil {
		return nil, "", fmt.Errorf("failed to open ledger %s: %w", dir, err)
	}
	unlock, err := lockShared(filepath.Join(dir, "LOCK"), store)
	if err != nil {
		if errors.Is(err, ErrLocked) {
			return nil, "", fmt.Errorf("%w: %s (wait for it to finish, then try again)", ErrLocked, dir)
		}
		return nil, "", fmt.Errorf("failed to lock ledger %s: %w", dir, err)
	}
	if why, err := unclosedLogs(store); err != nil || why != "" {
		unlock()
		if err != nil {
			return nil, "", fmt.Errorf("failed to open ledger %s: %w", dir, err)
		}
		return nil, why, nil
	}
	db, err := badger.Open(storeOptions(store).WithReadOnly(badgerReadOnly))
	if err != nil {
		unlock()
		// Badger wraps its errors in text only.
		if strings.Contains(err.Error(), badger.ErrTruncateNeeded.Error()) {
			return nil, "the store has a log to replay", nil
		}
		return nil, "", fmt.Errorf("failed to open ledger %s: %w", dir, err)
	}
	l := &Ledger{dir: dir, db: db, unlock: unlock, readOnly: true}
	fail := func(err error) (*Ledger, string, error) {
		l.Close()
		return nil, "", fmt.Errorf("failed to open ledger %s: %w", dir, err)
	}
	as, err := l.arrivalState()
	if err != nil {
		return fail(err)
	}
	if why := as.needsRecovery(); why != "" {
		l.Close()
		return nil, why, nil
	}
	l.arrivals = as.committed
	if l.ckKey, err = readCheckpointKey(filepath.Join(dir, "checkpoint.key")); err != nil {
		return fail(err)
	}
	return l, "", nil
}

// unclosedLogs says whether Badger's directory dir holds what only a
// writer that did not close leaves: a memtable (a writer's Close flushes
// and removes it), or a value log of zero bytes (see removeEmptyLogs).
// Badger cannot open such a store read-only. With the ledger locked
// shared, no writer is at work.
func unclosedLogs(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".mem") {
			return "a writer did not close it: the store has a memtable to replay", nil
		}
		if !strings.HasSuffix(e.Name(), ".vlog") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return "", err
		}
		if info.Mode().IsRegular() && info.Size() == 0 {
			return "a writer was cut off: the store has an empty value log", nil
		}
	}
	return "", nil
}

// writable returns an error wrapping [ErrReadOnly] if l was opened
// read-only.
func (l *Ledger) writable() error {
	if l.readOnly {
		return fmt.Errorf("%w: %s", ErrReadOnly, l.dir)
	}
	return nil
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
// is written whole ([WriteFileAtomic]), so a crash cannot leave half a
// key; an empty file (from a crash before that was so) counts as none:
// checkpoints signed by an earlier key then fail to verify and the next
// verification checks everything.
func loadCheckpointKey(path string) (ed25519.PrivateKey, error) {
	if key, err := readCheckpointKey(path); err != nil || key != nil {
		return key, err
	}
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	if err := WriteFileAtomic(path, seed); err != nil {
		return nil, fmt.Errorf("failed to create checkpoint key: %w", err)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// readCheckpointKey reads the ledger's checkpoint key, or returns nil if
// there is none yet (see loadCheckpointKey).
func readCheckpointKey(path string) (ed25519.PrivateKey, error) {
	seed, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) || err == nil && len(seed) == 0 {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("failed to read checkpoint key: %w", err)
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("checkpoint key %s is malformed", path)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}
