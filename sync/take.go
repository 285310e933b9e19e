package sync

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/signoff-dev/signoff/inert"
	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
)

// A line is one line of a batch or a push, parsed and checked.
type line struct {
	n      int // its number, from 1
	raw    []byte
	e      *ledger.Entry // nil for a blob
	digest string        // a blob's
}

// A Refusal is one line a ledger would not take, and why.
type Refusal struct {
	Line   int    `json:"line"`
	ID     string `json:"id,omitempty"`
	Status int    `json:"status"` // as serve answers it: 400, 403, 409, 413
	Error  string `json:"error"`
}

// parseLines parses every line of data and verifies every entry's
// signature, on every core. It returns the entries that verify and the
// blobs, in order, and the refusals of the lines that are neither.
func parseLines(data []byte) (entries, blobs []*line, bad []Refusal) {
	var es []*ledger.Entry
	for i, raw := range bytes.Split(data, []byte("\n")) {
		n := i + 1
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue
		}
		if blob, ok, err := ledger.ParseBlobLine(raw); ok {
			if err != nil || len(blob) > ledger.MaxBlob {
				bad = append(bad, Refusal{Line: n, Status: http.StatusBadRequest, Error: fmt.Sprintf("a blob line: %v", err)})
				continue
			}
			blobs = append(blobs, &line{n: n, raw: raw, digest: ledger.BlobDigest(blob)})
			continue
		}
		e, err := ledger.ParseLine(raw)
		if err != nil {
			bad = append(bad, Refusal{Line: n, Status: http.StatusBadRequest, Error: err.Error()})
			continue
		}
		entries = append(entries, &line{n: n, raw: raw, e: e})
		es = append(es, e)
	}
	errs := ledger.VerifyEntries(es)
	good := entries[:0]
	for i, ln := range entries {
		if errs[i] != nil {
			bad = append(bad, Refusal{Line: ln.n, ID: ln.e.ID.String(), Status: http.StatusBadRequest, Error: "the signature does not verify: " + errs[i].Error()})
			continue
		}
		good = append(good, ln)
	}
	return good, blobs, bad
}

// A gate is what a ledger takes in from outside: entries the root it
// trusts admits ([policy.Admits], the rule signoff serve applies to
// pushes and every home applies to what it pulls).
type gate struct {
	anchor string
	now    time.Time
	// trust returns the governance history the ledger proves now (nil if
	// it holds no trusted root yet); stale says governance was stored
	// and it must be read again.
	trust func() (*policy.Trust, error)
	stale func()
	// refs are the blobs the ledger's requests carry (see referenced),
	// read once a batch holds blobs and kept up as requests are stored.
	refs map[string]bool
}

// homeGate is the gate of a home's ledger: its trust read again after
// every round that stores governance.
func homeGate(l *ledger.Ledger, anchor string, now time.Time) *gate {
	var t *policy.Trust
	g := &gate{anchor: anchor, now: now}
	g.trust = func() (*policy.Trust, error) {
		if t != nil {
			return t, nil
		}
		var err error
		t, err = policy.LoadTrust(l, anchor, now)
		if errors.Is(err, policy.ErrUnknownRoot) || errors.Is(err, policy.ErrNoRoot) {
			return nil, nil
		}
		return t, err
	}
	g.stale = func() { t = nil }
	return g
}

// admit runs, in rounds, over entries in order: an entry the ledger
// holds already (known) is counted held; one whose signer the gate does
// not admit waits, with every later entry of its feed, for a later round,
// which governance stored in this one may admit it to. check decides on
// each admitted entry, in order (the chain rules, equivocation): a why
// refuses it, with the status serve answers. store stores what a round
// took. It returns how many entries were stored, how many were held
// already, and the refusals.
func admit(entries []*line, g *gate, check func(*line) (status int, why string, err error), store func([]*line) (int, error), known func(*line) (bool, error)) (added, held int, refused []Refusal, err error) {
	waiting := map[*line]string{}
	pending := entries
	for len(pending) > 0 {
		trust, err := g.trust()
		if err != nil {
			return added, held, refused, err
		}
		var keep, wait []*line
		blocked := map[ledger.Feed]string{}
		governance := false
		for _, ln := range pending {
			e := ln.e
			if why, ok := blocked[e.Feed]; ok {
				waiting[ln] = why
				wait = append(wait, ln)
				continue
			}
			ok, err := known(ln)
			if err != nil {
				return added, held, refused, err
			}
			if ok {
				held++
				continue
			}
			if why := policy.Admits(trust, g.anchor, e, g.now); why != "" {
				waiting[ln] = fmt.Sprintf("signer %s (%s) not admitted: %s", e.Feed, inert.Cut(e.Identity, 80), why)
				blocked[e.Feed] = fmt.Sprintf("follows line %d of its feed, which was refused", ln.n)
				wait = append(wait, ln)
				continue
			}
			status, why, err := check(ln)
			if err != nil {
				return added, held, refused, err
			}
			if why != "" {
				refused = append(refused, Refusal{Line: ln.n, ID: e.ID.String(), Status: status, Error: why})
				continue
			}
			keep = append(keep, ln)
			switch e.Kind {
			case policy.KindRoot, policy.KindKeyring, policy.KindPolicy:
				governance = true
			}
		}
		n, err := store(keep)
		added += n
		if err != nil {
			return added, held, refused, err
		}
		pending = wait
		if !governance || n == 0 {
			break
		}
		g.stale()
	}
	for _, ln := range pending {
		refused = append(refused, Refusal{Line: ln.n, ID: ln.e.ID.String(), Status: http.StatusForbidden, Error: waiting[ln]})
	}
	return added, held, refused, nil
}

// referenced returns the digests of the blobs l's requests carry: each
// bundle's lock and evidence files. Only those are taken from outside,
// so that no one outside the keyring can fill a store.
func referenced(l *ledger.Ledger) (map[string]bool, error) {
	refs := map[string]bool{}
	err := l.Entries(ledger.Query{Kind: policy.KindRequest}, func(e *ledger.Entry) error {
		addRefs(refs, e)
		return nil
	})
	return refs, err
}

// addRefs adds to refs the blobs e carries, if it is a request.
func addRefs(refs map[string]bool, e *ledger.Entry) {
	if e.Kind != policy.KindRequest {
		return
	}
	r, err := policy.ReadRecord(e)
	if err != nil || r.Body.Subject == nil {
		return // not a request that counts; it carries nothing
	}
	refs[r.Body.Subject.Bundle] = true
	for _, d := range r.Body.Evidence {
		refs[d] = true
	}
}

// joinLines is lines as a batch in the export format.
func joinLines(blobs, entries []*line) []byte {
	var buf bytes.Buffer
	for _, group := range [][]*line{blobs, entries} {
		for _, ln := range group {
			buf.Write(ln.raw)
			buf.WriteByte('\n')
		}
	}
	return buf.Bytes()
}

// chained checks e against the ledger and the batch chain holds, and
// takes it into the batch if it fits: an entry that does not fit is
// refused (400, with why); a failure to read the ledger is returned.
func chained(chain *ledger.ChainCheck, e *ledger.Entry) (status int, why string, err error) {
	err = chain.Check(e)
	var ee *ledger.EntryError
	switch {
	case errors.As(err, &ee):
		return http.StatusBadRequest, err.Error(), nil
	case err != nil:
		return 0, "", err
	}
	chain.Take(e)
	return 0, "", nil
}

// take checks a batch a remote holds and stores in l what l's root
// admits: entries that verify, extend their feeds (the ledger's own
// chain rules) and whose signers the root admits; and the blobs an
// admitted request carries. The rest is refused and reported; entries
// refused only because their signer is not (yet) admitted are kept back
// in st, bounded, and offered again at the next sync, when governance
// that arrived later may admit them. Only what was stored counts as held
// by the remote: a forged line must not make a push skip what the remote
// lacks.
func take(l *ledger.Ledger, data []byte, name string, st *State, res *Result, g *gate) error {
	entries, blobs, bad := parseLines(data)
	for _, b := range bad {
		res.refuse(fmt.Sprintf("%s line %d: %s", name, b.Line, b.Error))
	}
	chain := l.NewChainCheck()
	check := func(ln *line) (int, string, error) { return chained(chain, ln.e) }
	store := func(ls []*line) (int, error) {
		if len(ls) == 0 {
			return 0, nil
		}
		r, err := l.Import(bytes.NewReader(joinLines(nil, ls)), ledger.ImportOptions{Verified: true})
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		for _, q := range r.Equivocations {
			res.Equivocations = append(res.Equivocations, q.Error())
		}
		for _, ln := range ls {
			st.sawHeld(ln.e)
			if g.refs != nil {
				addRefs(g.refs, ln.e)
			}
		}
		return r.Added, nil
	}
	known := func(ln *line) (bool, error) {
		_, err := l.Get(ln.e.ID)
		if errors.Is(err, ledger.ErrNotFound) {
			return false, nil
		} else if err != nil {
			return false, err
		}
		st.sawHeld(ln.e)
		return true, nil
	}
	added, _, refused, err := admit(entries, g, check, store, known)
	res.Pulled += added
	if err != nil {
		return err
	}
	byLine := make(map[int]*line, len(entries))
	for _, ln := range entries {
		byLine[ln.n] = ln
	}
	hold := st.holder()
	defer hold.done()
	for _, r := range refused {
		msg := fmt.Sprintf("%s line %d: %s", name, r.Line, r.Error)
		if r.Status == http.StatusForbidden {
			// Offered again at the end of the sync, when governance that
			// arrived later may admit it, and refused then if not; refused
			// now if there is no room to keep it.
			ln := byLine[r.Line]
			if hold.hold(ln.raw) {
				res.held = append(res.held, heldLine{ln.raw, ln.e, msg})
				continue
			}
			res.notAdmitted(ln.e)
		}
		res.refuse(msg)
	}
	if len(blobs) > 0 {
		if g.refs == nil {
			if g.refs, err = referenced(l); err != nil {
				return err
			}
		}
		var keep []*line
		for _, b := range blobs {
			if g.refs[b.digest] {
				keep = append(keep, b)
			} else {
				res.refuse(fmt.Sprintf("%s line %d: blob %s is evidence of no request this home holds", name, b.n, b.digest))
			}
		}
		if len(keep) > 0 {
			if _, err := l.Import(bytes.NewReader(joinLines(keep, nil)), ledger.ImportOptions{}); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			for _, b := range keep {
				st.Blobs[b.digest] = true
			}
		}
	}
	return nil
}

// Bounds on the entries a home keeps back for a later sync (variables
// only so that a test can make them small).
var (
	maxHeldLines = 4096
	maxHeldBytes = 8 << 20
)

// A HeldEntry is an entry kept back because its signer was not admitted
// when it came: its line, and how many syncs have offered it again.
type HeldEntry struct {
	Line  string `json:"line"`
	Syncs int    `json:"syncs"`
}

// holdBack keeps raw, an entry whose signer was not admitted, to offer
// again after later batches, at the end of this sync and of the next
// ones, and reports whether it did (see [holder.hold]).
func (st *State) holdBack(raw []byte) bool {
	h := st.holder()
	defer h.done()
	return h.hold(raw)
}

// A holder keeps entries back in a State, many at a time: what it holds,
// their size, and the entries it may drop to make room, indexed once.
type holder struct {
	st      *State
	lines   map[string]bool
	size    int
	live    int
	evict   []int // indices into st.Held offered again, the most often first
	dropped map[int]bool
}

func (st *State) holder() *holder {
	h := &holder{st: st, lines: make(map[string]bool, len(st.Held)), live: len(st.Held), dropped: map[int]bool{}}
	for i, e := range st.Held {
		h.lines[e.Line] = true
		h.size += len(e.Line)
		if e.Syncs > 0 {
			h.evict = append(h.evict, i)
		}
	}
	slices.SortStableFunc(h.evict, func(a, b int) int { return st.Held[b].Syncs - st.Held[a].Syncs })
	return h
}

// hold keeps raw and reports whether it did. At the bounds above it
// makes room by dropping the entry offered again most often (at least
// once, so it was reported when it came); with none such it keeps
// nothing, and the caller reports the entry refused at once. Whoever
// fills the list with junk cannot make a home drop an entry unseen.
func (h *holder) hold(raw []byte) bool {
	if h.lines[string(raw)] {
		return true
	}
	size := h.size + len(raw)
	for h.live >= maxHeldLines || size > maxHeldBytes {
		if len(h.evict) == 0 {
			return false
		}
		i := h.evict[0]
		h.evict = h.evict[1:]
		line := h.st.Held[i].Line
		delete(h.lines, line)
		h.dropped[i] = true
		h.size -= len(line)
		size -= len(line)
		h.live--
	}
	h.st.Held = append(h.st.Held, HeldEntry{Line: string(raw)})
	h.lines[string(raw)] = true
	h.size += len(raw)
	h.live++
	return true
}

// done takes the entries dropped out of the State.
func (h *holder) done() {
	if len(h.dropped) == 0 {
		return
	}
	kept := h.st.Held[:0]
	for i, e := range h.st.Held {
		if !h.dropped[i] {
			kept = append(kept, e)
		}
	}
	h.st.Held = kept
	h.dropped = map[int]bool{}
}

// A heldLine is an entry kept back because its signer was not admitted,
// and the refusal to report if it never is.
type heldLine struct {
	raw []byte
	e   *ledger.Entry
	why string
}

// finish ends a sync's pull: the entries kept back, in this sync and
// earlier ones, are offered again, now that every batch is in (governance
// from a later batch may admit them). Those seen first in this sync and
// still not admitted are refused and reported, naming the roots they
// belong to; those kept from earlier syncs stay kept, quietly (they were
// reported then).
//
// While the ledger has taken in nothing since they were last offered (by
// any way: a sync, an import) and nothing was kept back in this sync, no
// governance came that could admit them, and they are not offered again:
// a server runs a sync on almost every request.
func finish(l *ledger.Ledger, st *State, res *Result, g *gate) error {
	fresh := res.held
	res.held = nil
	defer res.sayForeign(g.anchor)
	if len(st.Held) == 0 {
		return nil
	}
	at, err := headsDigest(l)
	if err != nil || len(fresh) == 0 && at == st.HeldAt {
		return err
	}
	var data []byte
	syncs := map[string]int{}
	for _, h := range st.Held {
		data = append(append(data, h.Line...), '\n')
		syncs[h.Line] = h.Syncs
	}
	st.Held = nil
	again := newResult()
	if err := take(l, data, "entries kept back", st, again, g); err != nil {
		return err
	}
	res.Pulled += again.Pulled
	res.Equivocations = append(res.Equivocations, again.Equivocations...)
	if st.HeldAt, err = headsDigest(l); err != nil {
		return err
	}
	still := map[string]bool{}
	for i := range st.Held {
		st.Held[i].Syncs = syncs[st.Held[i].Line] + 1
		still[st.Held[i].Line] = true
	}
	for _, h := range fresh {
		if _, offered := syncs[string(h.raw)]; offered && still[string(h.raw)] {
			res.refuse(h.why)
			res.notAdmitted(h.e)
		}
	}
	return nil
}

// headsDigest names l's heads: it changes whenever l takes in an entry.
func headsDigest(l *ledger.Ledger) (string, error) {
	hs, err := l.Heads()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, fh := range hs {
		fmt.Fprintf(h, "%s %d %v\n", fh.Feed, fh.Seq, fh.IDs)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// sawHeld notes that the remote holds e. Seen counts only what the remote
// holds without a gap, so that a later entry copied there alone (by
// whoever can write the remote) never makes a push skip the ones before
// it: the push sends every entry after Seen.
func (st *State) sawHeld(e *ledger.Entry) {
	f := e.Feed.String()
	if e.Seq <= st.Seen[f]+1 {
		st.Seen[f] = max(st.Seen[f], e.Seq)
	}
}
