package ledger

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/signoff-dev/signoff/inert"
)

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

// each calls fn for every key with prefix, in order.
func each(txn *badger.Txn, prefix []byte, fn func(*badger.Item) error) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		if err := fn(it.Item()); err != nil {
			return err
		}
	}
	return nil
}

func exists(txn *badger.Txn, key []byte) (bool, error) {
	_, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

func hasPrefix(txn *badger.Txn, prefix []byte) bool {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	it.Rewind()
	return it.Valid()
}

// idsAt returns the ids stored at feed and seq.
func idsAt(txn *badger.Txn, feed Feed, seq uint64) []ID {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: seqPrefix(feed, seq)})
	defer it.Close()
	var ids []ID
	for it.Rewind(); it.Valid(); it.Next() {
		_, _, id := splitEntryKey(it.Item().Key())
		ids = append(ids, id)
	}
	return ids
}
