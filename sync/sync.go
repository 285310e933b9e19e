package sync

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/signoff-dev/signoff/inert"
	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
)

// Limits on what a remote may make a sync read.
const (
	maxBatch   = 64 << 20
	listPage   = 1000
	maxRetries = 16
)

// Errors a sync reports.
var (
	// ErrRollback: the remote shows less than it showed before.
	ErrRollback = errors.New("the remote rolled back: it no longer holds what it held")
	// ErrTampered: an object holds other bytes than it did, or than its
	// name says.
	ErrTampered = errors.New("an object on the remote was altered")
)

// State is what a home remembers of one remote between syncs.
type State struct {
	LastBatch uint64            `json:"last_batch"` // the highest batch seen
	Digests   map[string]string `json:"digests"`    // batch name -> sha256 of its bytes
	Seen      map[string]uint64 `json:"seen"`       // feed -> highest seq the remote holds
	Blobs     map[string]bool   `json:"blobs"`      // blobs the remote holds
	BlobCount int               `json:"blob_count"` // how many a signoff serve said it held
	// A file remote: the bytes read so far, and their sha256.
	FileOffset int64  `json:"file_offset,omitempty"`
	FileDigest string `json:"file_digest,omitempty"`
	// Progress, if set, is told what the sync has done so far, from
	// time to time.
	Progress func(Result) `json:"-"`
	// NoAudit skips reading again the batches read before: for a
	// server, which reads its store on every request and audits it on a
	// timer instead.
	NoAudit bool `json:"-"`
	// Audit is the next older batch to read again: each sync re-reads the
	// last batch and one older one, in turn, so every batch is checked
	// again for a fixed cost.
	Audit uint64 `json:"audit"`
	// Held are entries pulled whose signers the home's root did not admit
	// (yet), offered again after later batches (see [State.holdBack]).
	Held []HeldEntry `json:"held,omitempty"`
	// HeldAt names the ledger's heads when Held was last offered again:
	// until the ledger takes in something more, offering them again
	// admits nothing.
	HeldAt string `json:"held_at,omitempty"`
}

func (s *State) init() {
	if s.Digests == nil {
		s.Digests = map[string]string{}
	}
	if s.Seen == nil {
		s.Seen = map[string]uint64{}
	}
	if s.Blobs == nil {
		s.Blobs = map[string]bool{}
	}
}

// Result says what a sync did.
type Result struct {
	Pushed        int      `json:"pushed"`        // entries pushed
	Pulled        int      `json:"pulled"`        // new entries stored from the remote
	Blobs         int      `json:"blobs"`         // blobs pushed
	Batches       int      `json:"batches"`       // batches read
	Refused       []string `json:"refused"`       // entries refused, and why (the first 100)
	RefusedCount  int      `json:"refused_count"` // how many were refused
	Equivocations []string `json:"equivocations"`
	Warnings      []string `json:"warnings"`
	Requests      int      `json:"requests"` // requests made to the remote
	// NotAdmitted counts the entries refused because the root this home
	// trusts does not admit their signers; Foreign names the other roots
	// that such entries adopt: another organisation's ledger.
	NotAdmitted int           `json:"not_admitted,omitempty"`
	Foreign     []ForeignRoot `json:"foreign_roots,omitempty"`

	held []heldLine // kept back in this sync, reported if still refused
}

// A ForeignRoot is a root adopted in entries a home refused: not the root
// it trusts, nor one that root's history leads to.
type ForeignRoot struct {
	Digest string   `json:"digest"`
	Admins []string `json:"admins"`
}

// notAdmitted counts e, refused because its signer is not admitted, and
// names the root it adopts if it is a root adoption.
func (r *Result) notAdmitted(e *ledger.Entry) {
	r.NotAdmitted++
	if e.Kind != policy.KindRoot {
		return
	}
	rec, err := policy.ReadRecord(e)
	if err != nil || slices.ContainsFunc(r.Foreign, func(f ForeignRoot) bool { return f.Digest == rec.Body.Digest }) || len(r.Foreign) >= maxRefusals {
		return
	}
	f := ForeignRoot{Digest: rec.Body.Digest, Admins: []string{}}
	if doc, err := policy.ParseDocument("root", []byte(rec.Body.Document)); err == nil && doc.Root != nil {
		for _, a := range doc.Root.Admins {
			f.Admins = append(f.Admins, a.Identity)
		}
	}
	r.Foreign = append(r.Foreign, f)
}

// sayForeign adds a warning naming what was not admitted, once a sync is
// done.
func (r *Result) sayForeign(anchor string) {
	if r.NotAdmitted == 0 {
		return
	}
	msg := fmt.Sprintf("%d entries are signed by keys the root this home trusts (%s) does not admit; they were not taken, and nothing of them reaches status, the queue or governance", r.NotAdmitted, inert.Digest(anchor))
	for _, f := range r.Foreign {
		msg += fmt.Sprintf("; the remote holds entries governed by another root, %s (admins %s): another organisation's ledger?", f.Digest, strings.Join(f.Admins, ", "))
	}
	r.warn(msg)
}

// progress tells st's Progress, if any, what res says so far.
func (st *State) progress(res *Result) {
	if st.Progress != nil {
		st.Progress(*res)
	}
}

func newResult() *Result {
	return &Result{Refused: []string{}, Equivocations: []string{}, Warnings: []string{}}
}

func batchName(n uint64) string { return fmt.Sprintf("log/%020d", n) }

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// counting wraps a Store to count requests.
type counting struct {
	Store
	n *int
}

func (c counting) List(ctx context.Context, p, a string, l int) ([]string, error) {
	*c.n++
	return c.Store.List(ctx, p, a, l)
}
func (c counting) Get(ctx context.Context, n string, m int64) ([]byte, error) {
	*c.n++
	return c.Store.Get(ctx, n, m)
}
func (c counting) PutNew(ctx context.Context, n string, d []byte) error {
	*c.n++
	return c.Store.PutNew(ctx, n, d)
}

// Sync pulls what the remote holds that l lacks, then pushes what l holds
// that the remote lacks, updating st. What l takes in is what anchor
// admits (see take): the rest is refused and reported, or kept back for a
// later sync when only its signer is not admitted yet. A remote that rolled back or
// whose objects changed gives an error wrapping ErrRollback or
// ErrTampered, and nothing local is changed by it.
func Sync(ctx context.Context, l *ledger.Ledger, remote Store, st *State, anchor string) (*Result, error) {
	st.init()
	res := newResult()
	s := counting{remote, &res.Requests}
	g := homeGate(l, anchor, time.Now())
	if err := pull(ctx, l, s, st, res, g); err != nil {
		return res, err
	}
	if err := finish(l, st, res, g); err != nil {
		return res, err
	}
	for tries := 0; tries < maxRetries; {
		more, err := push(ctx, l, s, st, res)
		switch {
		case errors.Is(err, ErrExists):
			// Another writer took the batch number: read theirs, then
			// retry.
			tries++
			if err := pull(ctx, l, s, st, res, g); err != nil {
				return res, err
			}
			if err := finish(l, st, res, g); err != nil {
				return res, err
			}
		case err != nil || !more:
			return res, err
		}
	}
	return res, fmt.Errorf("the remote's log kept moving: gave up after %d tries", maxRetries)
}

func pull(ctx context.Context, l *ledger.Ledger, s Store, st *State, res *Result, g *gate) error {
	if st.LastBatch > 0 && !st.NoAudit {
		// The last batch seen, and one older one in turn, must still be
		// there with the same bytes.
		check := []uint64{st.LastBatch}
		if st.LastBatch > 1 {
			if st.Audit < 1 || st.Audit >= st.LastBatch {
				st.Audit = 1
			}
			check = append(check, st.Audit)
		}
		for _, n := range check {
			name := batchName(n)
			data, err := s.Get(ctx, name, maxBatch)
			switch {
			case errors.Is(err, ErrNotFound):
				return fmt.Errorf("%w: %s is gone", ErrRollback, name)
			case err != nil:
				return err
			case st.Digests[name] != "" && digest(data) != st.Digests[name]:
				return fmt.Errorf("%w: %s holds other bytes than when it was read", ErrTampered, name)
			}
		}
		if len(check) > 1 {
			st.Audit++
		}
	}
	after := batchName(st.LastBatch)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		names, err := s.List(ctx, "log/", after, listPage)
		if err != nil {
			return err
		}
		for _, name := range names {
			if name <= after {
				return fmt.Errorf("the remote's listing is out of order at %s", name)
			}
			after = name
			n, err := strconv.ParseUint(strings.TrimPrefix(name, "log/"), 10, 64)
			if err != nil || batchName(n) != name {
				res.warn(fmt.Sprintf("%s: not a batch name; ignored", name))
				continue
			}
			if n != st.LastBatch+1 {
				return fmt.Errorf("%w: batch %d is missing (the remote shows %s next)", ErrRollback, st.LastBatch+1, name)
			}
			data, err := s.Get(ctx, name, maxBatch)
			if err != nil {
				return err
			}
			res.Batches++
			if err := take(l, data, name, st, res, g); err != nil {
				return err
			}
			st.LastBatch, st.Digests[name] = n, digest(data)
			st.progress(res)
		}
		if len(names) < listPage {
			return nil
		}
	}
}

// maxRefusals is how many refusals and warnings a result lists; the
// rest are counted.
const maxRefusals = 100

// refuse lists why a line was refused, or counts it past maxRefusals.
func (r *Result) refuse(why string) {
	r.RefusedCount++
	if len(r.Refused) < maxRefusals {
		r.Refused = append(r.Refused, why)
	}
}

// warn lists a warning, up to maxRefusals of them.
func (r *Result) warn(why string) {
	if len(r.Warnings) < maxRefusals {
		r.Warnings = append(r.Warnings, why)
	}
}

// push writes one batch of what the remote lacks; more says a full batch
// left some for another.
func push(ctx context.Context, l *ledger.Ledger, s Store, st *State, res *Result) (more bool, err error) {
	b, err := nextBatch(l, st)
	if err != nil || b.empty() {
		return false, err
	}
	name := batchName(st.LastBatch + 1)
	if err := s.PutNew(ctx, name, b.data); err != nil {
		return false, err
	}
	st.LastBatch, st.Digests[name] = st.LastBatch+1, digest(b.data)
	b.done(st, res)
	st.progress(res)
	return b.more, nil
}

// A batch is what a remote lacks, or the first part of it, in the
// export format: entries, feed by feed, then blobs. Entries come first so
// that a reader who takes a blob only with the request that carries it
// (every home, every serve) has the request by the time the blob comes,
// however a batch or a file is cut.
type batch struct {
	data    []byte
	entries int
	seen    map[string]uint64 // feed -> highest seq in the batch
	blobs   []string
	more    bool // some did not fit
}

func (b *batch) empty() bool { return b.entries == 0 && len(b.blobs) == 0 }

// done records in st and res that the remote now holds b.
func (b *batch) done(st *State, res *Result) {
	for f, seq := range b.seen {
		st.Seen[f] = max(st.Seen[f], seq)
	}
	for _, d := range b.blobs {
		st.Blobs[d] = true
	}
	res.Pushed += b.entries
	res.Blobs += len(b.blobs)
}

// nextBatch gathers the entries of each feed after st's seq and the blobs
// st does not list, up to about half of maxBatch.
func nextBatch(l *ledger.Ledger, st *State) (*batch, error) {
	var buf bytes.Buffer
	b := &batch{seen: map[string]uint64{}}
	full := func() bool { return buf.Len() > maxBatch-ledger.MaxBlob-2*ledger.MaxPayload }
	heads, err := l.Heads()
	if err != nil {
		return nil, err
	}
	for _, h := range heads {
		f := h.Feed.String()
		if h.Seq <= st.Seen[f] || b.more {
			continue
		}
		err := l.FeedEntries(h.Feed, st.Seen[f], func(e *ledger.Entry) error {
			buf.Write(e.MarshalLine())
			buf.WriteByte('\n')
			b.seen[f] = max(b.seen[f], e.Seq)
			b.entries++
			if full() {
				b.more = true
				return ledger.ErrStop // the rest go in the next batch
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if b.more {
		b.data = buf.Bytes()
		return b, nil
	}
	blobs, err := missingBlobs(l, st)
	if err != nil {
		return nil, err
	}
	for _, d := range blobs {
		if full() {
			b.more = true
			break
		}
		data, err := l.Blob(d)
		if err != nil {
			return nil, err
		}
		buf.Write(ledger.BlobLine(data))
		buf.WriteByte('\n')
		b.blobs = append(b.blobs, d)
	}
	b.data = buf.Bytes()
	return b, nil
}

// missingBlobs lists the blobs l holds that st does not say the remote
// holds.
func missingBlobs(l *ledger.Ledger, st *State) ([]string, error) {
	var out []string
	err := l.BlobDigests(func(d string) error {
		if !st.Blobs[d] {
			out = append(out, d)
		}
		return nil
	})
	return out, err
}
