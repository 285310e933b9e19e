package ledger

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// VerifyOptions control [Ledger.Verify].
type VerifyOptions struct {
	// Full checks every entry, ignoring the last checkpoint.
	Full bool
	// Progress, if set, is called from time to time with the entries checked
	// so far and an estimate of how many this run will check.
	Progress func(done, total int)
}

// Report is what [Ledger.Verify] found.
type Report struct {
	Checked int // entries checked in this run
	Skipped int // entries proved by the checkpoint and not checked again
	Feeds   []FeedStatus
	// Problems holds the first bad entry of each feed that has one, in feed
	// order; BadEntries counts every bad entry found.
	Problems      []*EntryError
	BadEntries    int
	Equivocations []Equivocation
	// CheckpointUsed says whether a checkpoint spared entries a check;
	// CheckpointNote, when none did, why; CheckpointWritten, whether this
	// run wrote a new one (never on a ledger open read-only).
	CheckpointUsed    bool
	CheckpointNote    string
	CheckpointWritten bool
}

// OK reports whether the ledger is intact: no bad entry, no equivocation.
func (r *Report) OK() bool { return len(r.Problems) == 0 && len(r.Equivocations) == 0 }

// FeedStatus describes one feed after verification.
type FeedStatus struct {
	Feed     Feed
	Identity string
	Entries  uint64 // highest seq
	Heads    []ID   // ids at the highest seq; more than one if forked
}

// Equivocation is two or more entries of one feed with the same seq.
type Equivocation struct {
	Feed Feed
	Seq  uint64
	IDs  []ID
}

func (q Equivocation) Error() string {
	return fmt.Sprintf("feed %s seq %d: %d different entries signed (%s): %v", q.Feed, q.Seq, len(q.IDs), idList(q.IDs), ErrEquivocation)
}

func idList(ids []ID) string {
	var b bytes.Buffer
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(id.String())
	}
	return b.String()
}

// checkpoint records, per feed, the highest seq and the ids there that a
// verification proved. Head ids commit to their whole feed through the
// prev links.
type checkpoint struct {
	Time    time.Time        `json:"time"`
	Entries int              `json:"entries"`
	Feeds   []checkpointFeed `json:"feeds"`
	byFeed  map[Feed]*checkpointFeed
}

type checkpointFeed struct {
	Feed  string   `json:"feed"`
	Seq   uint64   `json:"seq"`
	Heads []string `json:"heads"`
}

// verifyJob is one stored entry to check against its key and its feed.
type verifyJob struct {
	feed  Feed
	seq   uint64
	id    ID
	value []byte
	prevs []ID // ids at seq-1; the entry's prev must be one of them
}

// Verify checks every entry's signature, id, seq and prev link, and looks
// for equivocation. Unless opts.Full, entries that the last checkpoint
// proved are not checked again; only the checkpointed heads are re-read. A
// clean run writes a new checkpoint, unless the ledger is open read-only
// (see [OpenReadOnly]). The returned error is for failures to read the
// store; what is wrong with the entries is in the report.
func (l *Ledger) Verify(ctx context.Context, opts VerifyOptions) (*Report, error) {
	r := &Report{}
	var ck *checkpoint
	if !opts.Full {
		var err error
		ck, err = l.loadCheckpoint()
		switch {
		case err != nil:
			r.CheckpointNote = "checkpoint not used: " + err.Error()
		case ck == nil:
			r.CheckpointNote = "no checkpoint yet: checked everything"
		default:
			r.CheckpointUsed = true
		}
	} else {
		r.CheckpointNote = "--full: checked everything"
	}
	total := int(l.arrivalCount())
	if ck != nil {
		total -= ck.Entries
	}

	jobs := make(chan []verifyJob, 2*runtime.GOMAXPROCS(0))
	var mu sync.Mutex
	var bad []*EntryError
	var done int
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var keys keyCache
			for batch := range jobs {
				var errs []*EntryError
				for i := range batch {
					if err := keys.check(&batch[i]); err != nil {
						errs = append(errs, err)
					}
				}
				mu.Lock()
				bad = append(bad, errs...)
				done += len(batch)
				if opts.Progress != nil {
					opts.Progress(done, total)
				}
				mu.Unlock()
			}
		}()
	}

	var committed, stored uint64
	err := l.db.View(func(txn *badger.Txn) error {
		defer close(jobs)
		if item, err := txn.Get(committedKey); err == nil {
			item.Value(func(v []byte) error {
				if len(v) == 8 {
					committed = binary.BigEndian.Uint64(v)
				}
				return nil
			})
		}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pEntry}})
		defer it.Close()
		batch := make([]verifyJob, 0, 256)
		flush := func() {
			if len(batch) > 0 {
				jobs <- batch
				batch = make([]verifyJob, 0, 256)
			}
		}
		report := func(e *EntryError) {
			mu.Lock()
			bad = append(bad, e)
			mu.Unlock()
		}
		seen := make(map[Feed]bool)
		for it.Rewind(); it.Valid(); {
			if err := ctx.Err(); err != nil {
				return err
			}
			var feed Feed
			copy(feed[:], it.Item().Key()[1:33])
			seen[feed] = true
			fs := FeedStatus{Feed: feed}
			var cur []ID // ids at seq next-1
			next := uint64(1)
			if cf := ck.feed(feed); cf != nil {
				heads, err := checkHeads(txn, feed, cf)
				if err != nil {
					report(err)
				} else {
					r.Skipped += int(cf.Seq)
					// Entries after the checkpoint may link to a fork at
					// its seq that arrived later: take every id there.
					cur, next = idsAt(txn, feed, cf.Seq), cf.Seq+1
					fs.Entries, fs.Heads = cf.Seq, heads
					it.Seek(seqPrefix(feed, next))
				}
			}
			var prevs []ID // ids at seq next-2
			broken := false
			for ; it.Valid() && bytes.HasPrefix(it.Item().Key(), feedPrefix(feed)); it.Next() {
				stored++
				if broken {
					continue
				}
				_, seq, id := splitEntryKey(it.Item().Key())
				switch seq {
				case next:
					prevs, cur = cur, nil
					next++
				case next - 1:
					// another entry at the same seq: a fork
				default:
					report(&EntryError{Feed: feed, Seq: next, Err: fmt.Errorf("entry missing: the feed jumps from seq %d to %d", next-1, seq)})
					broken = true
					continue
				}
				cur = append(cur, id)
				if len(cur) == 2 {
					r.Equivocations = append(r.Equivocations, Equivocation{Feed: feed, Seq: seq})
				}
				if len(cur) >= 2 {
					r.Equivocations[len(r.Equivocations)-1].IDs = slices.Clone(cur)
				}
				fs.Entries, fs.Heads = seq, cur
				v, err := it.Item().ValueCopy(nil)
				if err != nil {
					return err
				}
				batch = append(batch, verifyJob{feed: feed, seq: seq, id: id, value: v, prevs: prevs})
				r.Checked++
				if len(batch) == cap(batch) {
					flush()
				}
			}
			fs.Heads = slices.Clone(fs.Heads)
			r.Feeds = append(r.Feeds, fs)
		}
		if ck != nil {
			for f, cf := range ck.byFeed {
				if !seen[f] {
					report(&EntryError{Feed: f, Seq: cf.Seq, Err: errors.New("feed is missing: the checkpoint proved it was there")})
				}
			}
		}
		flush()
		return nil
	})
	wg.Wait()
	if err != nil {
		return nil, fmt.Errorf("failed to read ledger: %w", err)
	}
	if ck == nil && stored != committed {
		// Every entry written through the API is counted; a difference
		// means entries were added or removed beneath it.
		bad = append(bad, &EntryError{Err: fmt.Errorf("the store holds %d entries but the ledger recorded %d: entries were added or removed beneath it", stored, committed)})
	}
	if err := l.addRecordedForks(r); err != nil {
		return nil, err
	}
	for i := range r.Feeds {
		r.Feeds[i].Identity = l.IdentityOf(r.Feeds[i].Feed)
	}
	r.BadEntries = len(bad)
	slices.SortStableFunc(bad, func(a, b *EntryError) int {
		if c := bytes.Compare(a.Feed[:], b.Feed[:]); c != 0 {
			return c
		}
		return int(a.Seq - b.Seq)
	})
	for i, e := range bad {
		if i == 0 || e.Feed != bad[i-1].Feed {
			r.Problems = append(r.Problems, e)
		}
	}
	if r.OK() && !l.readOnly {
		if err := l.writeCheckpoint(r); err != nil {
			return nil, err
		}
		r.CheckpointWritten = true
	}
	return r, nil
}

// VerifyEntries checks the signature of every entry as [Entry.Verify]
// does, with the same decision and the same errors, on all cores: errs[i]
// is es[i]'s error, nil where its signature is good (and where es[i] is
// nil). Each worker takes a run of entries at a time, decodes each
// signer's key once and, for a signer with many entries in the run, uses
// a table of its key's multiples, as [Ledger.Import] does: a batch with
// many entries per signer costs about half of calling Verify on each.
func VerifyEntries(es []*Entry) (errs []error) {
	errs = make([]error, len(es))
	const run = 128
	runs := (len(es) + run - 1) / run
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), runs) {
		wg.Go(func() {
			var keys keyCache
			for {
				r := int(next.Add(1)) - 1
				if r >= runs {
					return
				}
				for i := r * run; i < min((r+1)*run, len(es)); i++ {
					if e := es[i]; e != nil {
						errs[i] = keys.verify(e.Feed, e.Payload, e.Signature)
					}
				}
			}
		})
	}
	wg.Wait()
	return errs
}

// keyCache holds, per public key, its feed and its decoded point, so a
// worker fingerprints and decodes each signer's key once.
type keyCache map[[ed25519.PublicKeySize]byte]cachedKey

type cachedKey struct {
	feed Feed
	key  *decodedKey
}

func (kc *keyCache) check(j *verifyJob) *EntryError {
	fail := func(err error) *EntryError { return &EntryError{Feed: j.feed, Seq: j.seq, ID: j.id, Err: err} }
	payload, sigBlob, err := decodeValue(j.value)
	if err != nil {
		return fail(err)
	}
	if ID(sha256.Sum256(payload)) != j.id {
		return fail(errors.New("payload does not hash to the entry id"))
	}
	h, err := ParsePayload(payload)
	if err != nil {
		return fail(err)
	}
	if h.Feed != j.feed || h.Seq != j.seq {
		return fail(fmt.Errorf("payload says feed %s seq %d: entry is out of place", h.Feed, h.Seq))
	}
	if j.seq > 1 && !slices.Contains(j.prevs, h.Prev) {
		return fail(fmt.Errorf("prev %s is not the id of seq %d", h.Prev, j.seq-1))
	}
	if err := kc.verify(j.feed, payload, sigBlob); err != nil {
		return fail(err)
	}
	return nil
}

// verify checks an SSHSIG over payload by the key of feed, as
// [Entry.Verify] does, fingerprinting each key once.
func (kc *keyCache) verify(feed Feed, payload, sigBlob []byte) error {
	sig, err := ParseSignature(sigBlob)
	if err != nil {
		return err
	}
	if *kc == nil {
		*kc = make(keyCache)
	}
	pk := [ed25519.PublicKeySize]byte(sig.PublicKey)
	ck, ok := (*kc)[pk]
	if !ok {
		ck = cachedKey{FeedOf(ed25519KeyBlob(sig.PublicKey)), newDecodedKey(sig.PublicKey)}
		(*kc)[pk] = ck
	}
	if ck.feed != feed {
		return errors.New("signed by a key other than the feed's")
	}
	if sig.Namespace != Namespace {
		return fmt.Errorf("signature namespace %q, want %q", sig.Namespace, Namespace)
	}
	if !ck.key.verify(signedData(Namespace, payload), sig.Sig) {
		return ErrBadSignature
	}
	return nil
}

func (ck *checkpoint) feed(f Feed) *checkpointFeed {
	if ck == nil {
		return nil
	}
	return ck.byFeed[f]
}

// checkHeads re-reads the entries a checkpoint names for feed and checks
// that they are there, unchanged and signed: one signature per feed, so
// the cost of an incremental run stays in proportion to what is new.
func checkHeads(txn *badger.Txn, feed Feed, cf *checkpointFeed) ([]ID, *EntryError) {
	var heads []ID
	for _, h := range cf.Heads {
		id, err := ParseID(h)
		if err != nil {
			return nil, &EntryError{Feed: feed, Seq: cf.Seq, Err: fmt.Errorf("checkpoint is malformed: %v", err)}
		}
		item, err := txn.Get(entryKey(feed, cf.Seq, id))
		if err != nil {
			return nil, &EntryError{Feed: feed, Seq: cf.Seq, ID: id, Err: errors.New("checkpointed entry is missing")}
		}
		var sum ID
		var sigErr error
		err = item.Value(func(v []byte) error {
			p, sig, err := decodeValue(v)
			sum = sha256.Sum256(p)
			if err == nil && sum == id {
				sigErr = (&Entry{Header: Header{Feed: feed}, Payload: p, Signature: sig}).Verify()
			}
			return err
		})
		if err != nil || sum != id {
			return nil, &EntryError{Feed: feed, Seq: cf.Seq, ID: id, Err: errors.New("checkpointed entry was altered")}
		}
		if sigErr != nil {
			return nil, &EntryError{Feed: feed, Seq: cf.Seq, ID: id, Err: fmt.Errorf("checkpointed entry was altered: %w", sigErr)}
		}
		heads = append(heads, id)
	}
	return heads, nil
}

// addRecordedForks adds the equivocations recorded on import that a run
// starting from a checkpoint did not walk over.
func (l *Ledger) addRecordedForks(r *Report) error {
	seen := make(map[[40]byte]bool)
	for _, q := range r.Equivocations {
		seen[forkKey(q.Feed, q.Seq)] = true
	}
	return l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pFork}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) != 41 || seen[[40]byte(k[1:])] {
				continue
			}
			var f Feed
			copy(f[:], k[1:33])
			seq := binary.BigEndian.Uint64(k[33:])
			r.Equivocations = append(r.Equivocations, Equivocation{Feed: f, Seq: seq, IDs: idsAt(txn, f, seq)})
		}
		return nil
	})
}

func forkKey(f Feed, seq uint64) [40]byte {
	var k [40]byte
	copy(k[:], f[:])
	binary.BigEndian.PutUint64(k[32:], seq)
	return k
}

func (l *Ledger) arrivalCount() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.arrivals
}

// loadCheckpoint returns the latest checkpoint, nil if there is none, or an
// error if it does not verify.
func (l *Ledger) loadCheckpoint() (*checkpoint, error) {
	var raw []byte
	err := l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: []byte{pCheckpoint}})
		defer it.Close()
		it.Seek(u64Key(pCheckpoint, ^uint64(0)))
		if !it.Valid() {
			return nil
		}
		var err error
		raw, err = it.Item().ValueCopy(nil)
		return err
	})
	if err != nil || raw == nil {
		return nil, err
	}
	if l.ckKey == nil {
		return nil, errors.New("the ledger has no checkpoint key to check it with")
	}
	if len(raw) < ed25519.SignatureSize {
		return nil, errors.New("checkpoint is truncated")
	}
	body, sig := raw[:len(raw)-ed25519.SignatureSize], raw[len(raw)-ed25519.SignatureSize:]
	if !ed25519.Verify(l.ckKey.Public().(ed25519.PublicKey), body, sig) {
		return nil, errors.New("checkpoint signature does not verify")
	}
	ck := new(checkpoint)
	if err := json.Unmarshal(body, ck); err != nil {
		return nil, fmt.Errorf("checkpoint is malformed: %v", err)
	}
	ck.byFeed = make(map[Feed]*checkpointFeed, len(ck.Feeds))
	for i := range ck.Feeds {
		f, err := ParseFeed(ck.Feeds[i].Feed)
		if err != nil {
			return nil, fmt.Errorf("checkpoint is malformed: %v", err)
		}
		ck.byFeed[f] = &ck.Feeds[i]
	}
	return ck, nil
}

// writeCheckpoint records what a clean verification proved, signed with
// the ledger's checkpoint key, and syncs it.
func (l *Ledger) writeCheckpoint(r *Report) error {
	if err := l.writable(); err != nil {
		return err
	}
	ck := checkpoint{Time: time.Now().UTC(), Entries: r.Checked + r.Skipped}
	for _, fs := range r.Feeds {
		cf := checkpointFeed{Feed: fs.Feed.String(), Seq: fs.Entries}
		for _, h := range fs.Heads {
			cf.Heads = append(cf.Heads, h.String())
		}
		ck.Feeds = append(ck.Feeds, cf)
	}
	body, err := json.Marshal(ck)
	if err != nil {
		return err
	}
	value := append(body, ed25519.Sign(l.ckKey, body)...)
	err = l.db.Update(func(txn *badger.Txn) error {
		return txn.Set(u64Key(pCheckpoint, uint64(ck.Time.UnixNano())), value)
	})
	if err != nil {
		return fmt.Errorf("failed to write checkpoint: %w", err)
	}
	return nil
}
