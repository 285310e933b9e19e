package ledger

import (
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// The chain rules: how an entry extends its signer's feed. [Ledger.Import]
// and a [ChainCheck] apply the same ones, through the same code:
//
//   - within one batch a feed's entries come in seq order;
//   - seq 1 has no prev; seq N > 1 names as prev an entry of the same feed
//     at seq N-1, in the batch or in the ledger;
//   - a feed's signing times never go back: an entry is not signed before
//     its prev.
//
// An error for an entry that breaks one wraps [ErrChain] and the rule's
// own sentinel.
var (
	ErrChain       = errors.New("entry does not extend its feed")
	ErrSeqOrder    = errors.New("a feed's entries must be in seq order")
	ErrPrevMissing = errors.New("an entry's prev is missing")
	ErrTimeBack    = errors.New("a feed's signing times never go back")
)

// A chainError is a broken chain rule: it reads as why, in the words users
// see, and is both [ErrChain] and the rule.
type chainError struct {
	rule error
	why  string
}

func (e *chainError) Error() string   { return e.why }
func (e *chainError) Unwrap() []error { return []error{ErrChain, e.rule} }

// A chainLink is an entry of a feed in a batch: its id and signing time.
type chainLink struct {
	id   ID
	time time.Time
}

// A chainFeed is what a batch so far holds of one feed: the highest seq
// taken and the entries there and at the seq before, which is all the
// rules need, since a feed's entries come in seq order.
type chainFeed struct {
	seq  uint64
	cur  []chainLink // at seq
	prev []chainLink // at seq-1
}

// order applies the first rule: e does not come before the feed's entries
// taken so far.
func (st *chainFeed) order(e *Entry) error {
	if e.Seq < st.seq {
		return &chainError{ErrSeqOrder, fmt.Sprintf("seq %d comes after seq %d of the same feed: a feed's entries must be in seq order", e.Seq, st.seq)}
	}
	return nil
}

// link applies the other two rules to e, which passed [chainFeed.order]:
// its prev is at the seq before in the batch, or else stored finds it in
// the ledger, and e is not signed before it. batch names the batch in the
// message ("file", "batch"). An error from stored is returned as it is.
func (st *chainFeed) link(e *Entry, batch string, stored func(e *Entry) (time.Time, bool, error)) error {
	if e.Seq == 1 {
		return nil // prev is empty exactly for seq 1: ParsePayload checks it
	}
	pt, ok := st.at(e.Seq-1, e.Prev)
	if !ok {
		var err error
		if pt, ok, err = stored(e); err != nil {
			return err
		}
	}
	if !ok {
		return &chainError{ErrPrevMissing, fmt.Sprintf("prev %s is neither in this %s nor in the ledger: seq %d of this feed is missing", e.Prev, batch, e.Seq-1)}
	}
	// A signer cannot date an entry before one they signed earlier.
	if e.Time.Before(pt) {
		return &chainError{ErrTimeBack, fmt.Sprintf("signed at %s, before the entry before it in its feed (%s): a feed's signing times never go back", formatTime(e.Time), formatTime(pt))}
	}
	return nil
}

// at returns the signing time of the entry id at seq in the batch.
func (st *chainFeed) at(seq uint64, id ID) (time.Time, bool) {
	var links []chainLink
	switch seq {
	case st.seq:
		links = st.cur
	case st.seq - 1:
		links = st.prev
	}
	for _, l := range links {
		if l.id == id {
			return l.time, true
		}
	}
	return time.Time{}, false
}

// advance moves the feed on to seq, at or above the highest taken so far.
func (st *chainFeed) advance(seq uint64) {
	switch {
	case seq == st.seq:
	case seq == st.seq+1:
		st.prev, st.cur = st.cur, st.prev[:0]
	default:
		st.prev, st.cur = st.prev[:0], st.cur[:0]
	}
	st.seq = seq
}

// take records the entry id at seq, at or above the highest taken so far,
// signed at t.
func (st *chainFeed) take(id ID, seq uint64, t time.Time) {
	st.advance(seq)
	for _, l := range st.cur {
		if l.id == id {
			return
		}
	}
	st.cur = append(st.cur, chainLink{id, t})
}

// storedPrev finds e's prev in the store: the entry of e's feed at seq
// e.Seq-1 with id e.Prev. It returns the prev's signing time.
func storedPrev(txn *badger.Txn, e *Entry) (time.Time, bool, error) {
	item, err := txn.Get(entryKey(e.Feed, e.Seq-1, e.Prev))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return time.Time{}, false, nil
	} else if err != nil {
		return time.Time{}, false, err
	}
	p, err := readEntry(item)
	if err != nil {
		return time.Time{}, false, err
	}
	return p.Time, true, nil
}

// A ChainCheck checks, one entry at a time, that a batch of entries
// extends the ledger's feeds under the chain rules, as [Ledger.Import]
// would take them: the batch's entries are checked against the batch so
// far and the ledger. It is what a server or a sync uses to take the good
// lines of a batch and refuse the others.
//
// A ChainCheck is for one goroutine. It reads the ledger in short read
// transactions of its own and holds no lock, so other goroutines may read
// and write the ledger meanwhile; an entry stored by then is found like
// any other.
type ChainCheck struct {
	l     *Ledger
	feeds map[Feed]*chainFeed
}

// NewChainCheck returns a [ChainCheck] of an empty batch against l.
func (l *Ledger) NewChainCheck() *ChainCheck {
	return &ChainCheck{l: l, feeds: make(map[Feed]*chainFeed)}
}

// Check reports whether e can be taken next: nil if it can. If e breaks a
// chain rule, the error is an [*EntryError] naming e whose Err says why in
// the words a user reads, and it wraps [ErrChain] and the rule broken:
// [ErrSeqOrder], [ErrPrevMissing] or [ErrTimeBack]. Any other error is a
// failure to read the ledger and says nothing about e.
//
// Check records nothing: call [ChainCheck.Take] for each entry taken, so
// that later entries of its feed may follow it. Check does not verify
// signatures (see [VerifyEntries]) nor look for equivocation: a second
// entry at a seq already taken passes if it links like the first.
func (c *ChainCheck) Check(e *Entry) error {
	st := c.feeds[e.Feed]
	if st == nil {
		st = &chainFeed{}
	}
	err := st.order(e)
	if err == nil {
		err = st.link(e, "batch", c.stored)
	}
	var ce *chainError
	if errors.As(err, &ce) {
		return &EntryError{Feed: e.Feed, Seq: e.Seq, ID: e.ID, Err: err}
	} else if err != nil {
		return fmt.Errorf("failed to read ledger: %w", err)
	}
	return nil
}

func (c *ChainCheck) stored(e *Entry) (t time.Time, ok bool, err error) {
	err = c.l.db.View(func(txn *badger.Txn) error {
		t, ok, err = storedPrev(txn, e)
		return err
	})
	return t, ok, err
}

// Take records that e was taken into the batch: later entries of its feed
// may name it as prev. An entry below the highest seq taken of its feed
// (one [ChainCheck.Check] refuses) is not recorded.
func (c *ChainCheck) Take(e *Entry) {
	st := c.feeds[e.Feed]
	if st == nil {
		st = &chainFeed{}
		c.feeds[e.Feed] = st
	}
	if e.Seq >= st.seq {
		st.take(e.ID, e.Seq, e.Time)
	}
}
