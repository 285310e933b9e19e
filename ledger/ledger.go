package ledger

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/signoff-dev/signoff/inert"
)

// Key layout. Every key starts with one byte naming its index; feeds, ids
// and numbers are fixed-width binary so that byte order is the order the
// reads want.
const (
	pEntry      = 'f' // feed(32) seq(8) id(32) -> stored entry
	pID         = 'e' // id(32) -> feed(32) seq(8)
	pArrival    = 'a' // arrival(8) -> feed(32) seq(8) id(32) unixnano(8)
	pTime       = 't' // unixnano(8) id(32) -> nothing
	pKey        = 'k' // feed(32) -> ed25519 key blob
	pIdentity   = 'i' // feed(32) identity -> nothing
	pFork       = 'x' // feed(32) seq(8) -> nothing: equivocation seen
	pCheckpoint = 'c' // unixnano(8) -> signed checkpoint
	pMeta       = 'm' // name -> value
	pKind       = 'n' // kind 0 unixnano(8) id(32) -> nothing
	pSubject    = 's' // subject 0 unixnano(8) id(32) -> nothing
	pBlob       = 'b' // sha256(32) -> blob
	pBlobStaged = 'B' // sha256(32) -> nothing: a blob an unfinished import wrote
)

// committedKey holds the number of entries committed: arrivals above it
// belong to an import that did not finish and are rolled back on Open.
var committedKey = []byte{pMeta, 'a', 'r', 'r', 'i', 'v', 'a', 'l', 's'}

func entryKey(f Feed, seq uint64, id ID) []byte {
	k := make([]byte, 0, 1+32+8+32)
	k = append(k, pEntry)
	k = append(k, f[:]...)
	k = binary.BigEndian.AppendUint64(k, seq)
	return append(k, id[:]...)
}

func seqPrefix(f Feed, seq uint64) []byte {
	k := make([]byte, 0, 1+32+8)
	k = append(k, pEntry)
	k = append(k, f[:]...)
	return binary.BigEndian.AppendUint64(k, seq)
}

func feedPrefix(f Feed) []byte { return append([]byte{pEntry}, f[:]...) }

func splitEntryKey(k []byte) (f Feed, seq uint64, id ID) {
	copy(f[:], k[1:33])
	seq = binary.BigEndian.Uint64(k[33:41])
	copy(id[:], k[41:73])
	return
}

func idKey(id ID) []byte { return append([]byte{pID}, id[:]...) }

func u64Key(p byte, n uint64) []byte { return binary.BigEndian.AppendUint64([]byte{p}, n) }

// Errors callers test for.
var (
	ErrNotFound     = errors.New("no such entry")
	ErrLocked       = errors.New("ledger is in use by another signoff process")
	ErrTampered     = errors.New("ledger does not verify")
	ErrEquivocation = errors.New("equivocation: two entries with the same feed and seq")
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

// recoverImport sets l.arrivals to the committed count, recording it if
// the ledger has none yet, and removes what an import that was cut off had
// staged beyond it.
func (l *Ledger) recoverImport() error {
	var last, committed uint64
	haveCommitted := false
	err := l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: []byte{pArrival}})
		defer it.Close()
		it.Seek(u64Key(pArrival, ^uint64(0)))
		if it.Valid() {
			last = binary.BigEndian.Uint64(it.Item().Key()[1:])
		}
		item, err := txn.Get(committedKey)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if len(v) != 8 {
				return errors.New("committed entry count is corrupt")
			}
			committed, haveCommitted = binary.BigEndian.Uint64(v), true
			return nil
		})
	})
	if err != nil {
		return err
	}
	if !haveCommitted {
		// A ledger from before the count was kept: everything in it was
		// committed. Record that, so that an import cut off from now on
		// is told from committed entries.
		committed = last
		err := l.db.Update(func(txn *badger.Txn) error {
			return txn.Set(committedKey, binary.BigEndian.AppendUint64(nil, committed))
		})
		if err != nil {
			return err
		}
	}
	l.arrivals = committed
	staged := false
	l.db.View(func(txn *badger.Txn) error {
		staged = hasPrefix(txn, []byte{pBlobStaged})
		return nil
	})
	if last > committed || staged {
		return l.rollback(committed)
	}
	return nil
}

// rollback removes the entries that arrived after the first committed
// ones, and the blobs marked staged: what an import that failed or was cut
// off wrote.
// Committed entries are never touched. Each arrival key holds everything
// needed to name its entry's other keys and is written before them, so an
// entry staged only in part is removed too; the arrival keys go last, so a
// rollback cut off is finished by the next one.
func (l *Ledger) rollback(committed uint64) error {
	var staged, arrivals [][]byte
	err := l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pArrival}, PrefetchValues: true})
		defer it.Close()
		for it.Seek(u64Key(pArrival, committed+1)); it.Valid(); it.Next() {
			arrivals = append(arrivals, it.Item().KeyCopy(nil))
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			keys, err := stagedKeys(v)
			if err != nil {
				return err
			}
			staged = append(staged, keys...)
		}
		bt := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pBlobStaged}})
		defer bt.Close()
		for bt.Rewind(); bt.Valid(); bt.Next() {
			marker := bt.Item().KeyCopy(nil)
			staged = append(staged, append([]byte{pBlob}, marker[1:]...))
			arrivals = append(arrivals, marker)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, keys := range [][][]byte{staged, arrivals} {
		wb := l.db.NewWriteBatch()
		for _, k := range keys {
			if err := wb.Delete(k); err != nil {
				wb.Cancel()
				return err
			}
		}
		if err := wb.Flush(); err != nil {
			return err
		}
		if err := l.db.Sync(); err != nil {
			return err
		}
	}
	return nil
}

// indexKey is the key of e in the kind or subject index.
func indexKey(p byte, name string, unixNano uint64, id ID) []byte {
	k := make([]byte, 0, 1+len(name)+1+8+32)
	k = append(append(append(k, p), name...), 0)
	k = binary.BigEndian.AppendUint64(k, unixNano)
	return append(k, id[:]...)
}

// arrivalValue is what an arrival key holds: the entry's feed, seq, id
// and signing time, enough to name every key [putEntry] writes.
func arrivalValue(e *Entry) []byte {
	v := make([]byte, 0, 80+2+len(e.Kind)+len(e.Subject))
	v = append(v, e.Feed[:]...)
	v = binary.BigEndian.AppendUint64(v, e.Seq)
	v = append(v, e.ID[:]...)
	v = binary.BigEndian.AppendUint64(v, uint64(e.Time.UnixNano()))
	return append(append(append(append(v, e.Kind...), 0), e.Subject...), 0)
}

// stagedKeys returns the keys other than the arrival key that putEntry
// wrote for the entry an arrival value names.
func stagedKeys(v []byte) ([][]byte, error) {
	if len(v) < 82 || v[len(v)-1] != 0 {
		return nil, errors.New("arrival index is corrupt")
	}
	feed, seq, id := Feed(v[:32]), binary.BigEndian.Uint64(v[32:40]), ID(v[40:72])
	t := binary.BigEndian.Uint64(v[72:80])
	kind, subject, ok := bytes.Cut(v[80:len(v)-1], []byte{0})
	if !ok {
		return nil, errors.New("arrival index is corrupt")
	}
	keys := [][]byte{entryKey(feed, seq, id), idKey(id), append(u64Key(pTime, t), id[:]...), indexKey(pKind, string(kind), t, id)}
	if len(subject) > 0 {
		for _, s := range strings.Split(string(subject), ",") {
			keys = append(keys, indexKey(pSubject, s, t, id))
		}
	}
	return keys, nil
}

// Append signs a new entry of kind with body (a JSON object) as the
// next entry of s's feed and stores it durably: when Append returns without
// error the entry has been fsynced.
func (l *Ledger) Append(s Signer, kind string, body []byte, now time.Time) (*Entry, error) {
	return l.AppendSubject(s, kind, "", body, now)
}

// AppendSubject is [Ledger.Append] for an entry about subject: one or, separated
// by commas, up to [MaxSubjects] (see [CheckSubject]), by each of which a
// [Query] finds it.
func (l *Ledger) AppendSubject(s Signer, kind, subject string, body []byte, now time.Time) (*Entry, error) {
	pub, err := ed25519Public(s.PublicKey())
	if err != nil {
		return nil, err
	}
	keyBlob := ed25519KeyBlob(pub)
	feed := FeedOf(keyBlob)

	l.mu.Lock()
	defer l.mu.Unlock()
	var head uint64
	var heads []ID
	var prevTime time.Time
	forked := false
	err = l.db.View(func(txn *badger.Txn) error {
		head, heads = feedHead(txn, feed)
		forked = len(heads) > 1 || hasPrefix(txn, append([]byte{pFork}, feed[:]...))
		if len(heads) == 1 {
			prev, err := getEntry(txn, heads[0])
			if err != nil {
				return err
			}
			prevTime = prev.Time
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if forked {
		return nil, &EntryError{Feed: feed, Err: fmt.Errorf("%w: your own feed is forked (the same key signed different entries elsewhere); refusing to extend it: the key may be copied or stolen, so make a new one", ErrEquivocation)}
	}
	h := Header{Kind: kind, Seq: head + 1, Time: now, Subject: subject, Body: body}
	if len(heads) == 1 {
		h.Prev = heads[0]
		// A feed's signing times never go back; a clock that did is held
		// at the last entry's time.
		if now.Before(prevTime) {
			h.Time = prevTime
		}
	}
	e, err := SignEntry(s, h)
	if err != nil {
		return nil, err
	}
	err = l.db.Update(func(txn *badger.Txn) error {
		if err := putEntry(txn.Set, e, l.arrivals+1); err != nil {
			return err
		}
		if err := putSigner(txn.Set, feed, keyBlob, e.Identity); err != nil {
			return err
		}
		return txn.Set(committedKey, binary.BigEndian.AppendUint64(nil, l.arrivals+1))
	})
	if err != nil {
		return nil, fmt.Errorf("failed to store entry: %w", err)
	}
	l.arrivals++
	return e, nil
}

// SignEntry signs an entry with the header h, without storing it: the
// feed and identity are s's, the body is compacted, and the result is
// checked as a reader would check it. [Ledger.Append] chooses seq and
// prev itself; SignEntry is for entries built elsewhere, such as a feed
// written for another ledger to import.
func SignEntry(s Signer, h Header) (*Entry, error) {
	pub, err := ed25519Public(s.PublicKey())
	if err != nil {
		return nil, err
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, h.Body); err != nil {
		return nil, fmt.Errorf("body is not JSON: %w", err)
	}
	h.Feed, h.Identity, h.Time, h.Body = FeedOf(ed25519KeyBlob(pub)), s.Identity(), h.Time.UTC(), compact.Bytes()
	if err := checkHeader(&h); err != nil {
		return nil, err
	}
	payload := appendPayload(nil, &h)
	if len(payload) > MaxPayload {
		return nil, fmt.Errorf("entry is %d bytes, more than %d", len(payload), MaxPayload)
	}
	sig, err := signSSHSIG(s, Namespace, payload)
	if err != nil {
		return nil, err
	}
	e, err := ParseEntry(payload, sig)
	if err != nil {
		return nil, fmt.Errorf("internal error: wrote an unreadable entry: %w", err)
	}
	if err := e.Verify(); err != nil {
		return nil, fmt.Errorf("the signer's signature does not verify: %w", err)
	}
	return e, nil
}

// putEntry writes e, the arrival-th entry stored, and its index keys. The
// arrival key comes first: a write batch may commit an entry's keys in
// more than one transaction, and [Ledger.rollback] finds the others
// through it.
func putEntry(set func(k, v []byte) error, e *Entry, arrival uint64) error {
	av := arrivalValue(e)
	t := uint64(e.Time.UnixNano())
	writes := [...][2][]byte{
		{u64Key(pArrival, arrival), av},
		{entryKey(e.Feed, e.Seq, e.ID), encodeValue(e)},
		{idKey(e.ID), av[:40]},
		{timeKey(e), nil},
		{indexKey(pKind, e.Kind, t, e.ID), nil},
	}
	for _, w := range writes {
		if err := set(w[0], w[1]); err != nil {
			return err
		}
	}
	for _, s := range e.Subjects() {
		if err := set(indexKey(pSubject, s, t, e.ID), nil); err != nil {
			return err
		}
	}
	return nil
}

func timeKey(e *Entry) []byte {
	return append(u64Key(pTime, uint64(e.Time.UnixNano())), e.ID[:]...)
}

// putSigner records a feed's key and an identity its entries claim.
func putSigner(set func(k, v []byte) error, feed Feed, keyBlob []byte, identity string) error {
	if err := set(append([]byte{pKey}, feed[:]...), keyBlob); err != nil {
		return err
	}
	if identity == "" {
		return nil
	}
	return set(append(append([]byte{pIdentity}, feed[:]...), identity...), nil)
}

func forkMarker(feed Feed, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte{pFork}, feed[:]...), seq)
}

// feedHead returns the highest seq of feed and the ids stored at it (more
// than one if the feed is forked there), or 0 and none.
func feedHead(txn *badger.Txn, feed Feed) (uint64, []ID) {
	prefix := feedPrefix(feed)
	it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: prefix})
	defer it.Close()
	var seq uint64
	var ids []ID
	for it.Seek(append(bytes.Clone(prefix), bytes.Repeat([]byte{0xff}, 40)...)); it.Valid(); it.Next() {
		_, s, id := splitEntryKey(it.Item().Key())
		if seq != 0 && s != seq {
			break
		}
		seq = s
		ids = append(ids, id)
	}
	return seq, ids
}

// Get returns the entry with id.
func (l *Ledger) Get(id ID) (*Entry, error) {
	var e *Entry
	err := l.db.View(func(txn *badger.Txn) error {
		var err error
		e, err = getEntry(txn, id)
		return err
	})
	return e, err
}

func getEntry(txn *badger.Txn, id ID) (*Entry, error) {
	item, err := txn.Get(idKey(id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, fmt.Errorf("%s: %w", id, ErrNotFound)
	} else if err != nil {
		return nil, err
	}
	loc, err := item.ValueCopy(nil)
	if err != nil {
		return nil, err
	}
	if len(loc) != 40 {
		return nil, &EntryError{ID: id, Err: errors.New("id index is corrupt")}
	}
	var f Feed
	copy(f[:], loc)
	item, err = txn.Get(entryKey(f, binary.BigEndian.Uint64(loc[32:]), id))
	if err != nil {
		return nil, &EntryError{Feed: f, ID: id, Err: fmt.Errorf("id index points to a missing entry: %w", err)}
	}
	return readEntry(item)
}

func readEntry(item *badger.Item) (*Entry, error) {
	f, seq, id := splitEntryKey(item.Key())
	v, err := item.ValueCopy(nil)
	if err != nil {
		return nil, err
	}
	payload, sig, err := decodeValue(v)
	if err == nil {
		var e *Entry
		if e, err = ParseEntry(payload, sig); err == nil {
			if e.ID != id || e.Feed != f || e.Seq != seq {
				err = errors.New("stored entry does not match its key")
			} else {
				return e, nil
			}
		}
	}
	return nil, &EntryError{Feed: f, Seq: seq, ID: id, Err: err}
}

// Resolve finds the entry whose id starts with prefix: a full id, or at
// least 4 hex digits of one, with or without "sha256:".
func (l *Ledger) Resolve(prefix string) (ID, error) {
	if id, err := ParseID(prefix); err == nil {
		return id, nil
	}
	h, _ := cutPrefix(prefix, "sha256:")
	if len(h) < 4 || len(h) > 64 || !isLowerHex(h) {
		return ID{}, fmt.Errorf("%q is not an entry id (sha256:… or at least 4 hex digits of one)", inert.Cut(prefix, 80))
	}
	even := h[:len(h)&^1]
	raw, _ := hex.DecodeString(even)
	var found []ID
	err := l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: append([]byte{pID}, raw...)})
		defer it.Close()
		for it.Rewind(); it.Valid() && len(found) < 2; it.Next() {
			var id ID
			copy(id[:], it.Item().Key()[1:])
			if hex.EncodeToString(id[:])[:len(h)] == h {
				found = append(found, id)
			}
		}
		return nil
	})
	switch {
	case err != nil:
		return ID{}, err
	case len(found) == 0:
		return ID{}, fmt.Errorf("%s: %w", prefix, ErrNotFound)
	case len(found) > 1:
		return ID{}, fmt.Errorf("%s names more than one entry: give more digits", prefix)
	}
	return found[0], nil
}

// Query selects entries for [Ledger.Entries].
type Query struct {
	Feed    *Feed  // only this feed
	Kind    string // only this kind
	Subject string // only entries naming this subject (one, no commas)
}

// Entries calls fn for each entry that q selects, newest first by signing
// time (by seq, when q names a feed). fn may stop the walk with [ErrStop].
// A query by subject or kind reads only the entries it selects.
func (l *Ledger) Entries(q Query, fn func(*Entry) error) error {
	if q.Subject != "" {
		if err := CheckSubject(q.Subject); err != nil {
			return err
		}
	}
	err := l.db.View(func(txn *badger.Txn) error {
		opts := badger.IteratorOptions{Reverse: true, PrefetchValues: q.Feed != nil, PrefetchSize: 64}
		switch {
		case q.Feed != nil:
			opts.Prefix = feedPrefix(*q.Feed)
		case q.Subject != "":
			opts.Prefix = append(append([]byte{pSubject}, q.Subject...), 0)
		case q.Kind != "":
			opts.Prefix = append(append([]byte{pKind}, q.Kind...), 0)
		default:
			opts.Prefix = []byte{pTime}
		}
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(append(bytes.Clone(opts.Prefix), bytes.Repeat([]byte{0xff}, 72)...)); it.Valid(); it.Next() {
			var e *Entry
			var err error
			if q.Feed != nil {
				e, err = readEntry(it.Item())
			} else {
				k := it.Item().Key()
				e, err = getEntry(txn, ID(k[len(k)-32:]))
			}
			if err != nil {
				return err
			}
			if q.Kind != "" && e.Kind != q.Kind || q.Subject != "" && !e.About(q.Subject) {
				continue
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, ErrStop) {
		return nil
	}
	return err
}

// Subjects returns the subjects that start with prefix, in order, at most
// limit of them.
func (l *Ledger) Subjects(prefix string, limit int) ([]string, error) {
	var out []string
	err := l.db.View(func(txn *badger.Txn) error {
		p := append([]byte{pSubject}, prefix...)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p})
		defer it.Close()
		for it.Rewind(); it.Valid() && len(out) < limit; {
			k := it.Item().Key()
			name, _, ok := bytes.Cut(k[1:], []byte{0})
			if !ok {
				return errors.New("subject index is corrupt")
			}
			out = append(out, string(name))
			// Skip the rest of this subject's entries.
			it.Seek(append(append([]byte{pSubject}, name...), 1))
		}
		return nil
	})
	return out, err
}

// Forks returns the equivocations of feed: each seq at which it holds
// more than one entry, with their ids.
func (l *Ledger) Forks(feed Feed) ([]Equivocation, error) {
	var out []Equivocation
	err := l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: append([]byte{pFork}, feed[:]...)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) != 41 {
				return errors.New("fork index is corrupt")
			}
			seq := binary.BigEndian.Uint64(k[33:])
			out = append(out, Equivocation{Feed: feed, Seq: seq, IDs: idsAt(txn, feed, seq)})
		}
		return nil
	})
	return out, err
}

// ErrStop stops a walk without error.
var ErrStop = errors.New("stop")

// A KnownKey is a signer key the ledger holds entries from, with the
// identities those entries claim.
type KnownKey struct {
	Feed       Feed
	KeyBlob    []byte // SSH wire format
	Identities []string
}

// Keys returns every signer key in the ledger, in feed order.
func (l *Ledger) Keys() ([]KnownKey, error) {
	var keys []KnownKey
	err := l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pKey}, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var k KnownKey
			copy(k.Feed[:], it.Item().Key()[1:])
			var err error
			if k.KeyBlob, err = it.Item().ValueCopy(nil); err != nil {
				return err
			}
			keys = append(keys, k)
		}
		it2 := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pIdentity}})
		defer it2.Close()
		i := 0
		for it2.Rewind(); it2.Valid(); it2.Next() {
			key := it2.Item().Key()
			var f Feed
			copy(f[:], key[1:33])
			for i < len(keys) && bytes.Compare(keys[i].Feed[:], f[:]) < 0 {
				i++
			}
			if i < len(keys) && keys[i].Feed == f {
				keys[i].Identities = append(keys[i].Identities, string(key[33:]))
			}
		}
		return nil
	})
	return keys, err
}

// IdentityOf returns the identity a feed's entries claim, or "" when none or
// more than one is claimed.
func (l *Ledger) IdentityOf(f Feed) string {
	var ids []string
	l.db.View(func(txn *badger.Txn) error {
		prefix := append([]byte{pIdentity}, f[:]...)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid() && len(ids) < 2; it.Next() {
			ids = append(ids, string(it.Item().Key()[33:]))
		}
		return nil
	})
	if len(ids) == 1 {
		return ids[0]
	}
	return ""
}

// An EntryError says which entry is bad and why.
type EntryError struct {
	Line int // line of an import file, or 0
	Feed Feed
	Seq  uint64
	ID   ID
	Err  error
}

func (e *EntryError) Error() string {
	var where []string
	if e.Line > 0 {
		where = append(where, fmt.Sprintf("line %d", e.Line))
	}
	if e.Feed != (Feed{}) {
		where = append(where, "feed "+e.Feed.String())
	}
	if e.Seq != 0 {
		where = append(where, fmt.Sprintf("seq %d", e.Seq))
	}
	if !e.ID.IsZero() {
		where = append(where, "entry "+e.ID.String())
	}
	if len(where) == 0 {
		return e.Err.Error()
	}
	return strings.Join(where, " ") + ": " + e.Err.Error()
}

func (e *EntryError) Unwrap() error { return e.Err }

// A FeedHead is the newest point of one feed: its highest seq and the
// ids stored there (more than one if the feed is forked at its head).
type FeedHead struct {
	Feed Feed
	Seq  uint64
	IDs  []ID
}

// Heads returns the head of every feed the ledger holds, in feed order:
// what a remote must be told of, or asked for, to exchange only what is
// new.
func (l *Ledger) Heads() ([]FeedHead, error) {
	var out []FeedHead
	err := l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pKey}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var f Feed
			copy(f[:], it.Item().Key()[1:])
			seq, ids := feedHead(txn, f)
			if seq > 0 {
				out = append(out, FeedHead{Feed: f, Seq: seq, IDs: ids})
			}
		}
		return nil
	})
	return out, err
}

// FeedEntries calls fn for each entry of feed with a seq above after, in
// seq order (the entries of a fork side by side). fn may stop the walk
// with [ErrStop].
func (l *Ledger) FeedEntries(feed Feed, after uint64, fn func(*Entry) error) error {
	if after >= maxSeq {
		return nil // no seq is above it (and after+1 must not wrap to 0)
	}
	err := l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: feedPrefix(feed), PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		for it.Seek(seqPrefix(feed, after+1)); it.Valid(); it.Next() {
			e, err := readEntry(it.Item())
			if err != nil {
				return err
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, ErrStop) {
		return nil
	}
	return err
}
