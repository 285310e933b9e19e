package policy

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/signoff-dev/signoff/inert"
	"github.com/signoff-dev/signoff/ledger"
)

// Errors of choosing the root to trust.
var (
	ErrNoRoot        = errors.New("no root is adopted in this ledger")
	ErrAmbiguousRoot = errors.New("more than one first root is adopted here")
	ErrUnknownRoot   = errors.New("the root given is not adopted in this ledger")
	// ErrRootNotYet is a root the ledger adopts only after the time
	// asked: nothing was in force then, so nothing was approved.
	ErrRootNotYet = errors.New("the root given was not yet adopted then")
)

// Trust is the governance history a ledger proves: which root, keyring
// and policy were in force, in what order. It is computed from the
// signed adoptions alone, so every machine holding the same entries
// computes the same history whatever order they arrived in; see the
// package documentation for the rules and why signing times do not order
// them.
type Trust struct {
	Anchor   string     `json:"anchor"` // the digest of the first root trusted
	Roots    []*InForce `json:"roots"`
	Keyrings []*InForce `json:"keyrings"`
	Policies []*InForce `json:"policies"`
	Pending  []*InForce `json:"pending,omitempty"` // adopted, not (yet) in force
	// Dead are documents adopted that can never come into force as they
	// stand (their version cannot follow the one in force), each with why.
	Dead      []*InForce `json:"never_in_force,omitempty"`
	Conflicts []Conflict `json:"conflicts,omitempty"`
	// Unsettled are documents the records cannot place on either side of
	// a change of root: every verdict fails while one is.
	Unsettled []Unsettled `json:"unsettled,omitempty"`
	// Forked are governance signers whose keys signed two histories:
	// every verdict fails while the root in force counts them.
	Forked   []ForkEvidence `json:"forked_admins,omitempty"`
	Warnings []string       `json:"warnings,omitempty"`

	l         *ledger.Ledger
	anchor    *InForce
	revoked   map[ledger.Feed]revocation // admin keys revoked by roots in force
	forks     map[ledger.Feed][]ledger.Equivocation
	adoptions []*Record
	docs      map[string]*InForce
	cands     []*InForce
	people    people
	// rootSeq[f][k] is the seq of f's first adoption of Roots[k] (0 if
	// none): what f had consented to, by position in its own feed.
	rootSeq map[ledger.Feed][]uint64
}

// An Unsettled document was in force under one root, by adoptions that
// cannot be shown to come before the next root came into force (their
// signers never adopted the next root after them, and the next root's
// adopters did not name it), while what can be shown is an older
// version. Versions in force never go down, so the records cannot settle
// which document is in force under the new root: verdicts fail until
// the new root's admins adopt it, or its successor.
type Unsettled struct {
	Kind    string `json:"kind"`
	Version int    `json:"version"`
	Digest  string `json:"digest"`
	Root    int    `json:"root"` // the version of the root it is unsettled under
	// Proven is the version the records show was in force before that
	// root (0 for none).
	Proven int       `json:"proven"`
	Since  time.Time `json:"since"`
	Until  time.Time `json:"until,omitzero"` // when it was settled
	Why    string    `json:"why"`
}

// A Conflict is two or more documents of one kind and version, each
// adopted by a threshold of admins.
type Conflict struct {
	Kind    string   `json:"kind"`
	Version int      `json:"version"`
	Digests []string `json:"digests"`
}

// InForce is a governance document, when it came into force (zero if it
// has not) and the adoptions counted for it.
type InForce struct {
	Kind     string    `json:"kind"`
	Version  int       `json:"version"`
	Digest   string    `json:"digest"`
	Since    time.Time `json:"since,omitzero"`
	Adopters []Signer  `json:"adopters"`
	// Why says why a document in [Trust.Dead] never comes into force.
	Why string    `json:"why,omitempty"`
	Doc *Document `json:"-"`

	src ledger.ID // an entry that carries the document's text
	bad bool      // the document could not be read
	// notCarried says why a document that came into force under one root
	// was not carried to the next.
	notCarried string
	records    []*Record
}

// A Signer is who signed an entry that counts, as the governance in force
// names them.
type Signer struct {
	Identity string    `json:"identity"`
	Role     string    `json:"role,omitempty"`
	Time     time.Time `json:"time"`
	Entry    string    `json:"entry"`
}

func byTime(a, b *Record) int {
	if c := a.Entry.Time.Compare(b.Entry.Time); c != 0 {
		return c
	}
	return strings.Compare(a.Entry.ID.String(), b.Entry.ID.String())
}

// Bounds on what a hostile ledger can make LoadTrust do.
const (
	maxFirstRoots = 16 // candidate first roots parsed when none is pinned
	maxRevocation = 4  // rounds of applying root revocations
)

// LoadTrust reads the governance history of l up to at. anchor, if not
// empty, is the digest of the root to trust first; otherwise the one
// lowest-version root that its own admins adopted is. A governance entry
// whose signature does not verify gives an error wrapping
// [ledger.ErrTampered].
//
// Only the adoptions are held in memory; a document's text is read from
// the ledger, and parsed, once an admin's adoption makes it matter.
func LoadTrust(l *ledger.Ledger, anchor string, at time.Time) (*Trust, error) {
	t := &Trust{l: l, docs: map[string]*InForce{}, forks: map[ledger.Feed][]ledger.Equivocation{}}
	var later *ledger.Entry // the first adoption of the anchor after at
	checked := map[ledger.Feed]bool{}
	for _, kind := range []string{KindRoot, KindKeyring, KindPolicy} {
		err := l.Entries(ledger.Query{Kind: kind}, func(e *ledger.Entry) error {
			if e.Time.After(at) {
				if anchor != "" && kind == KindRoot && (later == nil || e.Time.Before(later.Time)) {
					if r, err := ReadRecord(e); err == nil && r.Body.Digest == anchor {
						later = e
					}
				}
				return nil
			}
			if err := checkEntry(e); err != nil {
				return err
			}
			r, err := ReadRecord(e)
			if err != nil {
				t.warn("entry %s: %v; ignored", e.ID.Short(), err)
				return nil
			}
			if !checked[e.Feed] {
				checked[e.Feed] = true
				fs, err := l.Forks(e.Feed)
				if err != nil {
					return err
				}
				if len(fs) > 0 {
					t.forks[e.Feed] = fs
				}
			}
			d := t.docs[r.Body.Digest]
			if d == nil {
				d = &InForce{Kind: kind, Version: r.Body.Version, Digest: r.Body.Digest, src: e.ID}
				t.docs[d.Digest] = d
			} else if d.Kind != kind || d.Version != r.Body.Version {
				t.warn("entry %s adopts %s as %s version %d, which others adopted as %s version %d; ignored", e.ID.Short(), inert.Digest(d.Digest), kind, r.Body.Version, d.Kind, d.Version)
				return nil
			}
			// Keep what the history needs, not the document's text.
			slim := &ledger.Entry{Header: ledger.Header{Kind: e.Kind, Feed: e.Feed, Seq: e.Seq, Time: e.Time, Identity: e.Identity}, ID: e.ID}
			t.adoptions = append(t.adoptions, &Record{Entry: slim, Body: &Body{Version: r.Body.Version, Digest: r.Body.Digest, InForce: r.Body.InForce}})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.SortFunc(t.adoptions, byTime)
	for _, a := range t.adoptions {
		d := t.docs[a.Body.Digest]
		d.records = append(d.records, a)
	}
	for _, d := range t.docs {
		t.cands = append(t.cands, d)
	}
	// Candidates in a fixed order: by version, then digest.
	slices.SortFunc(t.cands, func(a, b *InForce) int {
		return cmp.Or(cmp.Compare(a.Version, b.Version), strings.Compare(a.Digest, b.Digest))
	})

	if anchor == "" {
		var err error
		if anchor, err = t.pickAnchor(); err != nil {
			return nil, err
		}
	} else if d := t.docs[anchor]; d == nil && later != nil {
		return nil, fmt.Errorf("%w: %s is first adopted in this ledger at %s (entry %s), after %s", ErrRootNotYet, anchor,
			later.Time.UTC().Format(time.RFC3339), later.ID.Short(), at.UTC().Format(time.RFC3339))
	} else if d == nil || d.Kind != KindRoot || t.doc(d) == nil {
		return nil, fmt.Errorf("%w: %s (import the ledger that holds it, or check --root)", ErrUnknownRoot, anchor)
	}
	t.Anchor, t.anchor = anchor, t.docs[anchor]

	// Revocations by a root apply to adoptions signed before that root
	// came into force: run the history, gather the revocations of the
	// roots it put in force, and run it again until they settle.
	t.revoked = map[ledger.Feed]revocation{}
	for round := 0; ; round++ {
		t.replay()
		next := map[ledger.Feed]revocation{}
		for _, r := range t.Roots {
			for f, rv := range r.Doc.Root.revoked {
				next[f] = next[f].merge(rv)
			}
		}
		if maps.Equal(next, t.revoked) {
			break
		}
		if round == maxRevocation {
			t.warn("root revocations did not settle after %d rounds; using those found so far", maxRevocation)
			break
		}
		t.revoked = next
	}
	if t.root() == nil {
		return nil, fmt.Errorf("%w: root %s has not been adopted by its threshold of admins", ErrNoRoot, anchor)
	}
	t.forkedAdmins()
	return t, nil
}

// replay computes the history from the adoptions, with t.revoked: the
// chain of roots first, then, root by root, the keyrings and policies
// adopted under each.
func (t *Trust) replay() {
	t.Roots, t.Keyrings, t.Policies, t.Pending, t.Dead, t.Conflicts, t.Unsettled = nil, nil, nil, nil, nil, nil, nil
	warnings := len(t.Warnings)
	for _, d := range t.cands {
		d.Since, d.Adopters, d.Why, d.notCarried = time.Time{}, nil, "", ""
	}
	t.roots()
	t.epochs()
	root := t.root()
	t.Warnings = t.Warnings[:warnings]
	for _, d := range t.cands {
		if !d.Since.IsZero() || d.bad {
			continue
		}
		d.Adopters = signers(d.records, nil)
		if d.notCarried != "" {
			d.Why = d.notCarried
			t.Dead = append(t.Dead, d)
			continue
		}
		if why := NextVersion(t.current(d.Kind).Version, d.Kind, d.Version); why != "" {
			if d.Kind == KindRoot && d.Version <= t.current(KindRoot).Version {
				why = fmt.Sprintf("a rival root: this ledger's trust runs from root %s, and a root comes into force only as the next version adopted under the one in force", inert.Digest(t.Anchor))
			}
			d.Why = why
			t.Dead = append(t.Dead, d)
			if root != nil && len(admins(root.Doc.Root, t.countable(d.records))) >= root.Doc.Root.Threshold {
				t.warn("%s version %d (%s) was adopted by the admins' threshold but never comes into force: %s", d.Kind, d.Version, inert.Digest(d.Digest), why)
			}
			continue
		}
		t.Pending = append(t.Pending, d)
	}
}

// revokedBy reports whether a revocation by the roots in force, or by r
// if given, covers the adoption a.
func (t *Trust) revokedBy(a *Record, r *Root) bool {
	if rv, ok := t.revoked[a.Entry.Feed]; ok && rv.covers(a.Entry.Seq, a.Entry.Time) {
		return true
	}
	if r != nil {
		if rv, ok := r.revoked[a.Entry.Feed]; ok && rv.covers(a.Entry.Seq, a.Entry.Time) {
			return true
		}
	}
	return false
}

// reached returns the time of the adoption among recs (in signing order)
// that brings the distinct admins of r who signed one that ok accepts to
// r's threshold, and whether they reach it. The time is only for display:
// which adoptions count never depends on it.
func reached(recs []*Record, r *Root, ok func(*Record) bool) (time.Time, bool) {
	var ids []string
	for _, a := range recs {
		id, admin := r.AdminOf(a.Entry.Feed)
		if !admin || !ok(a) || slices.Contains(ids, id) {
			continue
		}
		if ids = append(ids, id); len(ids) >= r.Threshold {
			return a.Entry.Time, true
		}
	}
	return time.Time{}, false
}

func latest(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}

// roots computes the chain of roots in force: the anchor once its own
// threshold of admins adopted it, then each next version once the
// threshold of the admins of the root before it and its own threshold
// did. An admin's consent to a successor is their first adoption, in
// their feed, of a root of that version: a later adoption of a rival
// does not count. Signing times play no part.
func (t *Trust) roots() {
	d := t.anchor
	doc := t.doc(d)
	if doc == nil {
		return
	}
	since, ok := reached(d.records, doc.Root, func(a *Record) bool { return !t.revokedBy(a, doc.Root) })
	if !ok {
		return
	}
	t.enforce(d, since, d.records, doc.Root)
	first := map[ledger.Feed]map[int]*Record{}
	for _, a := range t.adoptions {
		if a.Entry.Kind != KindRoot {
			continue
		}
		m := first[a.Entry.Feed]
		if m == nil {
			m = map[int]*Record{}
			first[a.Entry.Feed] = m
		}
		if o := m[a.Body.Version]; o == nil || a.Entry.Seq < o.Entry.Seq {
			m[a.Body.Version] = a
		}
	}
	for {
		cur := t.root()
		var winners []*InForce
		var when []time.Time
		for _, c := range t.cands {
			if c.Kind != KindRoot || c.Version != cur.Version+1 || c.bad {
				continue
			}
			consent := func(a *Record) bool { return first[a.Entry.Feed][c.Version] == a && !t.revokedBy(a, nil) }
			s1, ok := reached(c.records, cur.Doc.Root, consent)
			if !ok {
				continue
			}
			doc := t.doc(c)
			if doc == nil {
				continue
			}
			s2, ok := reached(c.records, doc.Root, func(a *Record) bool { return !t.revokedBy(a, doc.Root) })
			if !ok {
				continue
			}
			winners, when = append(winners, c), append(when, latest(s1, s2, cur.Since))
		}
		if len(winners) == 0 {
			return
		}
		w := 0
		for i := range winners {
			if when[i].Before(when[w]) {
				w = i
			}
		}
		t.enforce(winners[w], when[w], winners[w].records, cur.Doc.Root)
		if len(winners) > 1 {
			var ds []string
			for _, c := range winners {
				ds = append(ds, c.Digest)
			}
			t.conflict(KindRoot, cur.Version+1, ds...)
		}
	}
}

// epochOf returns the index of the newest root in force that a's signer
// adopted before a, in their own feed (0 if none after the first): a is
// judged under that root or a later one, never an earlier.
func (t *Trust) epochOf(a *Record) int {
	rs := t.rootSeq[a.Entry.Feed]
	for k := len(rs) - 1; k >= 1; k-- {
		if rs[k] != 0 && rs[k] < a.Entry.Seq {
			return k
		}
	}
	return 0
}

// inEpoch reports whether a is judged under Roots[k]: its signer adopted
// that root before it, in their own feed, and no later one; or never
// adopted that root and no later one before it. An adoption that precedes
// its signer's adoption of a root was signed under an earlier root.
func (t *Trust) inEpoch(a *Record, k int) bool {
	e := t.epochOf(a)
	if e == k {
		return true
	}
	rs := t.rootSeq[a.Entry.Feed]
	return e < k && (rs == nil || rs[k] == 0)
}

// epochs replays the keyrings and policies adopted under each root in
// force in turn (see the package documentation).
func (t *Trust) epochs() {
	idx := map[string]int{}
	for k, r := range t.Roots {
		idx[r.Digest] = k
	}
	t.rootSeq = map[ledger.Feed][]uint64{}
	for _, a := range t.adoptions {
		k, ok := idx[a.Body.Digest]
		if a.Entry.Kind != KindRoot || !ok {
			continue
		}
		rs := t.rootSeq[a.Entry.Feed]
		if rs == nil {
			rs = make([]uint64, len(t.Roots))
			t.rootSeq[a.Entry.Feed] = rs
		}
		if rs[k] == 0 || a.Entry.Seq < rs[k] {
			rs[k] = a.Entry.Seq
		}
	}
	unsettled := map[string]int{} // kind -> index in t.Unsettled
	for k, root := range t.Roots {
		r := root.Doc.Root
		begun := map[string]*InForce{KindKeyring: t.InForceNow(KindKeyring), KindPolicy: t.InForceNow(KindPolicy)}
		entered := map[string][]*InForce{}
		cnt := map[*InForce][]*Record{}
		var touched []*InForce
		settle := func(kind string, now time.Time) {
			if i, ok := unsettled[kind]; ok {
				t.Unsettled[i].Until = now
				delete(unsettled, kind)
			}
		}
		step := func(now time.Time) {
			for changed := true; changed; {
				changed = false
				for _, c := range touched {
					cur := t.current(c.Kind)
					_, open := unsettled[c.Kind]
					next, rival, again := c.Version == cur.Version+1, c.Version == cur.Version && c.Digest != cur.Digest, c == cur && open
					if !next && !rival && !again {
						continue
					}
					if _, ok := reached(cnt[c], r, func(*Record) bool { return true }); !ok || t.doc(c) == nil {
						continue
					}
					switch {
					case again: // the unsettled document, adopted under this root
						settle(c.Kind, latest(now, root.Since))
					case rival:
						t.conflict(c.Kind, c.Version, cur.Digest, c.Digest)
					default:
						t.enforce(c, latest(now, root.Since, cur.Since), cnt[c], r)
						entered[c.Kind] = append(entered[c.Kind], c)
						settle(c.Kind, c.Since)
						changed = true
					}
				}
			}
		}
		for _, a := range t.adoptions {
			if a.Entry.Kind == KindRoot || !t.inEpoch(a, k) || t.revokedBy(a, nil) {
				continue
			}
			if _, ok := r.AdminOf(a.Entry.Feed); !ok {
				continue
			}
			c := t.docs[a.Body.Digest]
			if len(cnt[c]) == 0 {
				touched = append(touched, c)
			}
			cnt[c] = append(cnt[c], a)
			step(a.Entry.Time)
		}
		if k+1 < len(t.Roots) {
			t.carry(k, begun, entered, cnt)
			for i := range t.Unsettled {
				if u := &t.Unsettled[i]; u.Root == t.Roots[k+1].Version {
					unsettled[u.Kind] = i
				}
			}
		}
	}
}

// carry decides, as Roots[k+1] comes into force, which keyring and
// policy in force under Roots[k] stay in force under it. A document does
// if an adoption of Roots[k+1] names it as in force, or if the threshold
// of Roots[k]'s admins adopted it in entries that precede, each in its
// signer's feed, that signer's adoption of Roots[k+1]: the signer cannot
// move those. Where the adopters of Roots[k+1] named a document, what
// came into force after it under Roots[k] is not carried: it never comes
// into force. Where none named one, as before adoptions named any, and
// the later document cannot be shown to come first, the records cannot
// settle it: it is recorded as unsettled.
func (t *Trust) carry(k int, begun map[string]*InForce, entered map[string][]*InForce, cnt map[*InForce][]*Record) {
	r, next := t.Roots[k].Doc.Root, t.Roots[k+1]
	named := map[string]bool{}
	for _, a := range next.records {
		for _, d := range a.Body.InForce {
			named[d] = true
		}
	}
	for _, kind := range []string{KindKeyring, KindPolicy} {
		cur := t.InForceNow(kind)
		if cur == nil {
			continue
		}
		list := t.list(kind)
		proven := begun[kind] // in force as Roots[k] came
		if settled := !t.unsettledAt(kind, t.Roots[k].Version); !settled {
			proven = nil
		} else {
			for _, d := range entered[kind] {
				ok := func(a *Record) bool {
					rs := t.rootSeq[a.Entry.Feed]
					return rs != nil && rs[k+1] != 0 && a.Entry.Seq < rs[k+1]
				}
				if _, before := reached(cnt[d], r, ok); !before {
					break
				}
				proven = d
			}
		}
		naming := false
		for _, d := range *list {
			if named[d.Digest] {
				naming = true
				if proven == nil || d.Version > proven.Version {
					proven = d
				}
			}
		}
		if proven == cur {
			continue
		}
		if naming {
			i := slices.Index(*list, proven)
			for _, d := range (*list)[i+1:] {
				d.Since, d.Adopters = time.Time{}, nil
				d.notCarried = fmt.Sprintf("it came into force under root version %d by adoptions that cannot be shown to come before root version %d, whose adopters named %s version %d as in force", t.Roots[k].Version, next.Version, kind, proven.Version)
			}
			*list = (*list)[:i+1]
			continue
		}
		for i := range t.Unsettled {
			if o := &t.Unsettled[i]; o.Kind == kind && o.Until.IsZero() {
				o.Until = next.Since // still unsettled, now under next
			}
		}
		u := Unsettled{Kind: kind, Version: cur.Version, Digest: cur.Digest, Root: next.Version, Since: next.Since}
		if proven != nil {
			u.Proven = proven.Version
		}
		u.Why = fmt.Sprintf("%s version %d (%s) came into force under root version %d by adoptions that cannot be shown to come before root version %d: their signers did not adopt root version %d after them, and its adopters named nothing in force; what the records show is %s. Versions never go down, so no verdict is given until root version %d's admins adopt %s version %d again or its successor",
			kind, cur.Version, inert.Digest(cur.Digest), t.Roots[k].Version, next.Version, next.Version, provenText(kind, u.Proven), next.Version, kind, cur.Version)
		t.Unsettled = append(t.Unsettled, u)
	}
}

func provenText(kind string, v int) string {
	if v == 0 {
		return "no " + kind
	}
	return fmt.Sprintf("%s version %d", kind, v)
}

// unsettledAt reports whether a document of kind was still unsettled at
// the end of the epoch of root version rv.
func (t *Trust) unsettledAt(kind string, rv int) bool {
	for _, u := range t.Unsettled {
		if u.Kind == kind && u.Root <= rv && u.Until.IsZero() {
			return true
		}
	}
	return false
}

// UnsettledAt returns the documents unsettled at tm.
func (t *Trust) UnsettledAt(tm time.Time) []Unsettled {
	var out []Unsettled
	for _, u := range t.Unsettled {
		if !u.Since.After(tm) && (u.Until.IsZero() || tm.Before(u.Until)) {
			out = append(out, u)
		}
	}
	return out
}

// forkedAdmins finds the governance signers whose keys signed two
// histories and that the root in force still counts: it lists the key as
// an admin's and no root in force revokes it.
func (t *Trust) forkedAdmins() {
	t.Forked = nil
	r := t.root().Doc.Root
	for f, fks := range t.forks {
		id, ok := r.AdminOf(f)
		if _, revoked := t.revoked[f]; !ok || revoked {
			continue
		}
		for _, fk := range fks {
			ev := ForkEvidence{Identity: id, Feed: f.String(), Seq: fk.Seq}
			for _, e := range fk.IDs {
				ev.Entries = append(ev.Entries, e.String())
			}
			t.Forked = append(t.Forked, ev)
		}
	}
	slices.SortFunc(t.Forked, func(a, b ForkEvidence) int { return cmp.Or(strings.Compare(a.Feed, b.Feed), cmp.Compare(a.Seq, b.Seq)) })
}

func (t *Trust) warn(format string, args ...any) {
	t.Warnings = append(t.Warnings, fmt.Sprintf(format, args...))
}

// doc returns d's parsed document, reading its text from the ledger the
// first time, or nil if it cannot be read.
func (t *Trust) doc(d *InForce) *Document {
	if d.Doc != nil || d.bad {
		return d.Doc
	}
	e, err := t.l.Get(d.src)
	var r *Record
	if err == nil {
		r, err = ReadRecord(e)
	}
	var doc *Document
	if err == nil {
		doc, err = ParseDocument(d.Kind+" "+inert.Digest(d.Digest), []byte(r.Body.Document))
	}
	if err == nil && (doc.Kind != d.Kind || doc.Version != d.Version) {
		err = fmt.Errorf("it is a %s version %d, adopted as %s version %d", doc.Kind, doc.Version, d.Kind, d.Version)
	}
	if err != nil {
		d.bad = true
		t.warn("%s %s cannot be read and never comes into force: %v", d.Kind, inert.Digest(d.Digest), err)
		return nil
	}
	doc.Text = nil // not needed again; the ledger has it
	d.Doc = doc
	return doc
}

// pickAnchor returns the digest of the one lowest-version root adopted by
// its own threshold of admins.
func (t *Trust) pickAnchor() (string, error) {
	var found []*InForce
	parsed := 0
	for _, d := range t.cands { // by version
		if d.Kind != KindRoot || len(found) > 0 && d.Version > found[0].Version {
			continue
		}
		if parsed++; parsed > maxFirstRoots {
			return "", fmt.Errorf("%w: more than %d candidate first roots; say which to trust with --root", ErrAmbiguousRoot, maxFirstRoots)
		}
		doc := t.doc(d)
		if doc == nil {
			continue
		}
		var recs []*Record
		for _, a := range t.adoptions {
			if a.Body.Digest == d.Digest {
				recs = append(recs, a)
			}
		}
		if len(admins(doc.Root, recs)) >= doc.Root.Threshold {
			found = append(found, d)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%w (run signoff init, or import a ledger that holds one)", ErrNoRoot)
	case 1:
		return found[0].Digest, nil
	}
	var ds []string
	for _, d := range found {
		var ids []string
		for _, a := range d.Doc.Root.Admins {
			ids = append(ids, a.Identity)
		}
		ds = append(ds, fmt.Sprintf("%s (admins %s)", d.Digest, strings.Join(ids, ", ")))
	}
	return "", fmt.Errorf("%w: %d different version-%d roots: %s; say which to trust with --root (in a pipeline, always pass --root: the digest signoff governance shows on a machine you trust)", ErrAmbiguousRoot, len(found), found[0].Version, strings.Join(ds, "; "))
}

// countable returns the adoptions of recs that count under the root in
// force: signed by its admin, not revoked, and judged under it (see
// [Trust.inEpoch]).
func (t *Trust) countable(recs []*Record) []*Record {
	root := t.root()
	if root == nil {
		return nil
	}
	k := len(t.Roots) - 1
	var out []*Record
	for _, a := range recs {
		if _, ok := root.Doc.Root.AdminOf(a.Entry.Feed); ok && !t.revokedBy(a, nil) && t.inEpoch(a, k) {
			out = append(out, a)
		}
	}
	return out
}

// admins returns the distinct admins of r among the signers of recs.
func admins(r *Root, recs []*Record) []string {
	var ids []string
	for _, a := range recs {
		if id, ok := r.AdminOf(a.Entry.Feed); ok && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// signers lists recs as signers, named by r's admins where r is given.
func signers(recs []*Record, r *Root) []Signer {
	var out []Signer
	for _, a := range recs {
		s := Signer{Identity: a.Entry.Identity, Time: a.Entry.Time, Entry: a.Entry.ID.String()}
		if r != nil {
			id, ok := r.AdminOf(a.Entry.Feed)
			if !ok {
				continue
			}
			s.Identity, s.Role = id, "admin"
		}
		out = append(out, s)
	}
	return out
}

func (t *Trust) root() *InForce {
	if len(t.Roots) == 0 {
		return nil
	}
	return t.Roots[len(t.Roots)-1]
}

func (t *Trust) list(kind string) *[]*InForce {
	switch kind {
	case KindRoot:
		return &t.Roots
	case KindKeyring:
		return &t.Keyrings
	}
	return &t.Policies
}

// current returns the document of kind in force last, or a zero one.
func (t *Trust) current(kind string) *InForce {
	if d := t.InForceNow(kind); d != nil {
		return d
	}
	return &InForce{}
}

// enforce puts d in force from now, with its adopters named by named.
func (t *Trust) enforce(d *InForce, now time.Time, counted []*Record, named *Root) bool {
	d.Since = now
	d.Adopters = signers(counted, named)
	if d.Kind == KindRoot {
		// Admins of the new root adopting it count too.
		for _, s := range signers(counted, d.Doc.Root) {
			if !slices.ContainsFunc(d.Adopters, func(o Signer) bool { return o.Entry == s.Entry }) {
				d.Adopters = append(d.Adopters, s)
			}
		}
	}
	l := t.list(d.Kind)
	*l = append(*l, d)
	return true
}

func (t *Trust) conflict(kind string, version int, digests ...string) {
	for i := range t.Conflicts {
		c := &t.Conflicts[i]
		if c.Kind == kind && c.Version == version {
			for _, d := range digests {
				if !slices.Contains(c.Digests, d) {
					c.Digests = append(c.Digests, d)
				}
			}
			slices.Sort(c.Digests)
			return
		}
	}
	ds := slices.Clone(digests)
	slices.Sort(ds)
	t.Conflicts = append(t.Conflicts, Conflict{Kind: kind, Version: version, Digests: ds})
}

// ConflictAt returns the conflicts over the versions in force at tm.
func (t *Trust) ConflictAt(tm time.Time) []Conflict {
	var out []Conflict
	for _, c := range t.Conflicts {
		if d := at(*t.list(c.Kind), tm); d != nil && d.Version == c.Version {
			out = append(out, c)
		}
	}
	return out
}

// at returns the document of kind in force at time at, or nil.
func at(l []*InForce, at time.Time) *InForce {
	var cur *InForce
	for _, d := range l {
		if d.Since.After(at) {
			break
		}
		cur = d
	}
	return cur
}

// InForceNow returns the document of kind in force last, or nil.
func (t *Trust) InForceNow(kind string) *InForce {
	l := *t.list(kind)
	if len(l) == 0 {
		return nil
	}
	return l[len(l)-1]
}

// KeyringAt returns the keyring in force at t, or nil.
func (t *Trust) KeyringAt(tm time.Time) *InForce { return at(t.Keyrings, tm) }

// PolicyAt returns the policy in force at t, or nil.
func (t *Trust) PolicyAt(tm time.Time) *InForce { return at(t.Policies, tm) }

// RootAt returns the root in force at t, or nil.
func (t *Trust) RootAt(tm time.Time) *InForce { return at(t.Roots, tm) }

// Standing returns the keyring member who signed e, by the keyring in
// force when e was signed, or why no member did. A revocation counts from
// where it says in any keyring in force by asOf, even one adopted after e
// was signed: a key found stolen is revoked from when it was stolen, not
// from when the keyring said so.
func (t *Trust) Standing(e *ledger.Entry, asOf time.Time) (*Member, *InForce, string) {
	return t.standing(e, e.Time, asOf)
}

// standing is [Trust.Standing] for an entry signed no earlier than
// notBefore: its own time, or later if it answers an entry signed later.
func (t *Trust) standing(e *ledger.Entry, notBefore, asOf time.Time) (*Member, *InForce, string) {
	k := t.KeyringAt(notBefore)
	if k == nil {
		return nil, nil, "no keyring was in force at " + notBefore.UTC().Format(time.RFC3339)
	}
	m, ok := k.Doc.Keyring.MemberOf(e.Feed)
	if !ok {
		return nil, k, fmt.Sprintf("signed with a key that is not in keyring version %d", k.Version)
	}
	if why := m.ValidAt(notBefore); why != "" {
		return m, k, fmt.Sprintf("%s's key was %s when it signed (keyring version %d)", m.Identity, why, k.Version)
	}
	for _, later := range t.Keyrings {
		if later.Since.After(asOf) {
			continue
		}
		kr := later.Doc.Keyring
		if rv, ok := kr.revoked[e.Feed]; ok && rv.covers(e.Seq, notBefore) {
			return m, k, fmt.Sprintf("%s's key is revoked %s by keyring version %d, and this is entry %d of its feed, signed no earlier than %s", m.Identity, rv, later.Version, e.Seq, notBefore.UTC().Format(time.RFC3339))
		}
		if later == k {
			continue
		}
		lm, ok := kr.MemberOf(e.Feed)
		if ok && lm.RevokedAt != nil && !notBefore.Before(*lm.RevokedAt) {
			return m, k, fmt.Sprintf("%s's key was revoked at %s by keyring version %d, before it signed", lm.Identity, lm.RevokedAt.UTC().Format(time.RFC3339), later.Version)
		}
	}
	return m, k, ""
}

// revocationOf says how a keyring in force by asOf revokes the key of
// feed f from a time, or "" if none does: a revocation by position
// settles itself.
func (t *Trust) revocationOf(f ledger.Feed, asOf time.Time) string {
	for _, k := range t.Keyrings {
		if k.Since.After(asOf) {
			continue
		}
		kr := k.Doc.Keyring
		if rv, ok := kr.revoked[f]; ok && !rv.at.IsZero() {
			return fmt.Sprintf("keyring version %d revokes its key %s", k.Version, rv)
		}
		if m, ok := kr.MemberOf(f); ok && m.RevokedAt != nil {
			return fmt.Sprintf("keyring version %d revokes its key from %s", k.Version, m.RevokedAt.UTC().Format(time.RFC3339))
		}
	}
	return ""
}
