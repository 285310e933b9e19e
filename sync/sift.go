package sync

import (
	"errors"
	"fmt"
	"runtime"
	stdsync "sync"
	"time"

	"github.com/signoff-dev/signoff/ledger"
)

// chains checks, line by line, that entries extend their feeds as an
// import would take them: in seq order within a batch, each after an
// entry the batch or the ledger holds at the seq before, and never signed
// before it.
type chains struct {
	l     *ledger.Ledger
	seqs  map[ledger.Feed]uint64       // the highest seq taken so far per feed
	taken map[ledger.ID]ledger.Entry   // entries taken from this batch
	known map[ledger.ID]*ledger.Header // entries of the ledger looked up
}

func newChains(l *ledger.Ledger) *chains {
	return &chains{l: l, seqs: map[ledger.Feed]uint64{}, taken: map[ledger.ID]ledger.Entry{}, known: map[ledger.ID]*ledger.Header{}}
}

// check says why e cannot be taken next (nil if it can); err is a
// failure to read the ledger.
func (c *chains) check(e *ledger.Entry) (why, err error) {
	if e.Seq < c.seqs[e.Feed] {
		return fmt.Errorf("seq %d comes after seq %d of the same feed: a feed's entries must be in seq order", e.Seq, c.seqs[e.Feed]), nil
	}
	if e.Seq == 1 {
		return nil, nil
	}
	var prev *ledger.Header
	if p, ok := c.taken[e.Prev]; ok {
		prev = &p.Header
	} else if p, ok := c.known[e.Prev]; ok {
		prev = p
	} else {
		p, err := c.l.Get(e.Prev)
		if err != nil && !errors.Is(err, ledger.ErrNotFound) {
			return nil, err
		}
		if p != nil {
			prev = &p.Header
			c.known[e.Prev] = prev
		}
	}
	if prev == nil || prev.Feed != e.Feed || prev.Seq != e.Seq-1 {
		return fmt.Errorf("prev %s is neither in this batch nor in the ledger: seq %d of this feed is missing", e.Prev, e.Seq-1), nil
	}
	if e.Time.Before(prev.Time) {
		return fmt.Errorf("signed at %s, before the entry before it in its feed (%s): a feed's signing times never go back",
			e.Time.UTC().Format(time.RFC3339Nano), prev.Time.UTC().Format(time.RFC3339Nano)), nil
	}
	return nil, nil
}

// take records that e was taken.
func (c *chains) take(e *ledger.Entry) {
	c.seqs[e.Feed] = max(c.seqs[e.Feed], e.Seq)
	c.taken[e.ID] = *e
}

// sift checks each line of a batch alone, as an import would: a blob
// line must decode; an entry must parse, verify (on every core) and
// extend its feed. It returns the lines that pass, in order, and why
// each other line (numbered from 1) does not.
func sift(l *ledger.Ledger, lines [][]byte) (good [][]byte, bad map[int]error, err error) {
	bad = map[int]error{}
	entries := make([]*ledger.Entry, len(lines))
	for i, line := range lines {
		if _, ok, err := ledger.ParseBlobLine(line); ok {
			if err != nil {
				bad[i+1] = err
			}
			continue
		}
		e, err := ledger.ParseLine(line)
		if err != nil {
			bad[i+1] = err
			continue
		}
		entries[i] = e
	}
	// Signatures, in parallel.
	var mu stdsync.Mutex
	var wg stdsync.WaitGroup
	next := make(chan int, len(lines))
	for i, e := range entries {
		if e != nil {
			next <- i
		}
	}
	close(next)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				if err := entries[i].Verify(); err != nil {
					mu.Lock()
					bad[i+1] = fmt.Errorf("the signature does not verify: %v", err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	c := newChains(l)
	for i, line := range lines {
		if bad[i+1] != nil {
			continue
		}
		if e := entries[i]; e != nil {
			why, err := c.check(e)
			if err != nil {
				return nil, nil, err
			}
			if why != nil {
				bad[i+1] = why
				continue
			}
			c.take(e)
		}
		good = append(good, line)
	}
	return good, bad, nil
}
