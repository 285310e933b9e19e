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
// and policy were in force from when. It is computed from the signed
// adoptions alone, in signing-time order, so every machine holding the
// same entries computes the same history whatever order they arrived in.
//
// A root comes into force once its own threshold of its admins has
// adopted it and, for any root after the first, the threshold of the root
// in force before it too. A keyring or policy comes into force once the
// threshold of the admins of the root in force has adopted the same
// digest. An adoption counts only if its signer was an admin when they
// signed it, and their key was not revoked then by any root in force. A
// document's version must be one more than the version in force; two
// different documents of one kind and version that both reach their
// threshold are a conflict, which fails every verdict while that version
// is in force.
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
	Warnings  []string   `json:"warnings,omitempty"`

	l         *ledger.Ledger
	anchor    *InForce
	revoked   map[ledger.Feed]time.Time // admin keys revoked, and from when
	forks     map[ledger.Feed]bool
	adoptions []*Record
	docs      map[string]*InForce
	cands     []*InForce
	people    people
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

	src     ledger.ID // an entry that carries the document's text
	bad     bool      // the document could not be read
	records []*Record
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
	t := &Trust{l: l, docs: map[string]*InForce{}, forks: map[ledger.Feed]bool{}}
	var later *ledger.Entry // the first adoption of the anchor after at
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
			forked, ok := t.forks[e.Feed]
			if !ok {
				fs, err := l.Forks(e.Feed)
				if err != nil {
					return err
				}
				forked = len(fs) > 0
				t.forks[e.Feed] = forked
			}
			if forked {
				t.warn("adoption %s does not count: its key %s signed two histories (equivocation)", e.ID.Short(), e.Feed)
				return nil
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
			t.adoptions = append(t.adoptions, &Record{Entry: slim, Body: &Body{Version: r.Body.Version, Digest: r.Body.Digest}})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.SortFunc(t.adoptions, byTime)
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

	// Revocations by a root apply from their time, even to adoptions
	// signed before that root came into force: run the history, gather
	// the revocations of the roots it put in force, and run it again
	// until they settle.
	t.revoked = map[ledger.Feed]time.Time{}
	for round := 0; ; round++ {
		t.replay()
		next := map[ledger.Feed]time.Time{}
		for _, r := range t.Roots {
			for f, when := range r.Doc.Root.revoked {
				if old, ok := next[f]; !ok || when.Before(old) {
					next[f] = when
				}
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
	return t, nil
}

// replay computes the history from the adoptions, with t.revoked.
func (t *Trust) replay() {
	t.Roots, t.Keyrings, t.Policies, t.Pending, t.Dead, t.Conflicts = nil, nil, nil, nil, nil, nil
	warnings := len(t.Warnings)
	for _, d := range t.cands {
		d.Since, d.Adopters, d.records, d.Why = time.Time{}, nil, nil, ""
	}
	for _, a := range t.adoptions {
		d := t.docs[a.Body.Digest]
		d.records = append(d.records, a)
		if !t.advance(d, a.Entry.Time) {
			continue
		}
		// A new root may let documents adopted before it come into force.
		for changed := d.Kind == KindRoot; changed; {
			changed = false
			for _, c := range t.cands {
				if t.advance(c, a.Entry.Time) {
					changed = c.Kind == KindRoot
				}
			}
		}
	}
	root := t.root()
	t.Warnings = t.Warnings[:warnings]
	for _, d := range t.cands {
		if !d.Since.IsZero() || d.bad {
			continue
		}
		d.Adopters = signers(d.records, nil)
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

// countable returns the adoptions signed by an admin of the root in force
// when they were signed (or of the trusted first root, before it was in
// force) whose key no root in force revoked by then: an adoption signed
// before its signer became an admin, or after their key was revoked, does
// not count.
func (t *Trust) countable(recs []*Record) []*Record {
	var out []*Record
	for _, a := range recs {
		r := t.RootAt(a.Entry.Time)
		if r == nil {
			r = t.anchor
		}
		if when, ok := t.revoked[a.Entry.Feed]; ok && !a.Entry.Time.Before(when) {
			continue
		}
		if _, ok := r.Doc.Root.AdminOf(a.Entry.Feed); ok {
			out = append(out, a)
		}
	}
	return out
}

// own returns the adoptions of a root by its own admins whose keys were
// not revoked by then.
func (t *Trust) own(r *Root, recs []*Record) []string {
	var live []*Record
	for _, a := range recs {
		when, ok := t.revoked[a.Entry.Feed]
		if w2, ok2 := r.revoked[a.Entry.Feed]; ok2 && (!ok || w2.Before(when)) {
			when, ok = w2, true
		}
		if !ok || a.Entry.Time.Before(when) {
			live = append(live, a)
		}
	}
	return admins(r, live)
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

// advance brings d into force at time now if its adoptions so far allow,
// and reports whether it did. A document of the version in force that
// reaches its threshold is recorded as a conflict.
func (t *Trust) advance(d *InForce, now time.Time) bool {
	if !d.Since.IsZero() || len(d.records) == 0 || d.bad {
		return false
	}
	root, cur := t.root(), t.current(d.Kind)
	if root == nil {
		if d.Digest != t.Anchor {
			return false
		}
		doc := t.doc(d)
		if doc == nil || len(t.own(doc.Root, d.records)) < doc.Root.Threshold {
			return false
		}
		return t.enforce(d, now, d.records, doc.Root)
	}
	if d.Version != cur.Version+1 && (d.Version != cur.Version || d.Digest == cur.Digest) {
		return false
	}
	// Only an admin's adoption makes a document worth reading.
	counted := t.countable(d.records)
	if len(admins(root.Doc.Root, counted)) < root.Doc.Root.Threshold {
		return false
	}
	doc := t.doc(d)
	if doc == nil {
		return false
	}
	if d.Kind == KindRoot && len(t.own(doc.Root, d.records)) < doc.Root.Threshold {
		return false
	}
	if d.Version == cur.Version {
		t.conflict(d.Kind, d.Version, cur.Digest, d.Digest)
		return false
	}
	if d.Kind == KindRoot {
		counted = d.records
	}
	return t.enforce(d, now, counted, root.Doc.Root)
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
// its revoked_at time in any keyring in force by asOf, even one adopted
// after e was signed: a key found stolen is revoked from when it was
// stolen, not from when the keyring said so.
func (t *Trust) Standing(e *ledger.Entry, asOf time.Time) (*Member, *InForce, string) {
	k := t.KeyringAt(e.Time)
	if k == nil {
		return nil, nil, "no keyring was in force at " + e.Time.UTC().Format(time.RFC3339)
	}
	m, ok := k.Doc.Keyring.MemberOf(e.Feed)
	if !ok {
		return nil, k, fmt.Sprintf("signed with a key that is not in keyring version %d", k.Version)
	}
	if why := m.ValidAt(e.Time); why != "" {
		return m, k, fmt.Sprintf("%s's key was %s when it signed (keyring version %d)", m.Identity, why, k.Version)
	}
	for _, later := range t.Keyrings {
		if later.Since.After(asOf) {
			continue
		}
		kr := later.Doc.Keyring
		if when, ok := kr.revoked[e.Feed]; ok && !e.Time.Before(when) {
			return m, k, fmt.Sprintf("%s's key was revoked at %s by keyring version %d, before it signed", m.Identity, when.UTC().Format(time.RFC3339), later.Version)
		}
		if later == k {
			continue
		}
		lm, ok := kr.MemberOf(e.Feed)
		if ok && lm.RevokedAt != nil && !e.Time.Before(*lm.RevokedAt) {
			return m, k, fmt.Sprintf("%s's key was revoked at %s by keyring version %d, before it signed", lm.Identity, lm.RevokedAt.UTC().Format(time.RFC3339), later.Version)
		}
	}
	return m, k, ""
}
