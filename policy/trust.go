package policy

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/signoff-dev/signoff/ledger"
)

// Errors of choosing the root to trust.
var (
	ErrNoRoot        = errors.New("no root is adopted in this ledger")
	ErrAmbiguousRoot = errors.New("more than one first root is adopted here")
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
// digest. Versions only go up: a document no newer than the one in force
// never comes into force.
type Trust struct {
	Anchor   string     `json:"anchor"` // the digest of the first root trusted
	Roots    []*InForce `json:"roots"`
	Keyrings []*InForce `json:"keyrings"`
	Policies []*InForce `json:"policies"`
	Pending  []*InForce `json:"pending,omitempty"` // adopted, not (yet) in force
	Warnings []string   `json:"warnings,omitempty"`

	anchor *InForce
}

// InForce is a governance document, when it came into force (zero if it
// has not) and the adoptions counted for it.
type InForce struct {
	Kind     string    `json:"kind"`
	Version  int       `json:"version"`
	Digest   string    `json:"digest"`
	Since    time.Time `json:"since,omitzero"`
	Adopters []Signer  `json:"adopters"`
	Doc      *Document `json:"-"`

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

// LoadTrust reads the governance history of l up to at. anchor, if not
// empty, is the digest of the root to trust first; otherwise the one
// lowest-version root that its own admins adopted is. A governance entry
// whose signature does not verify gives an error wrapping
// [ledger.ErrTampered].
func LoadTrust(l *ledger.Ledger, anchor string, at time.Time) (*Trust, error) {
	t := &Trust{}
	docs := map[string]*InForce{}
	var adoptions []*Record
	for _, kind := range []string{KindRoot, KindKeyring, KindPolicy} {
		err := l.Entries(ledger.Query{Kind: kind}, func(e *ledger.Entry) error {
			if e.Time.After(at) {
				return nil
			}
			if err := e.Verify(); err != nil {
				return &ledger.EntryError{Feed: e.Feed, Seq: e.Seq, ID: e.ID, Err: fmt.Errorf("%w: %v", ledger.ErrTampered, err)}
			}
			r, err := ReadRecord(e)
			if err != nil {
				t.warn("entry %s: %v; ignored", e.ID.Short(), err)
				return nil
			}
			d := docs[r.Body.Digest]
			if d == nil {
				doc, err := ParseDocument(kind+" "+shortDigest(r.Body.Digest), []byte(r.Body.Document))
				if err != nil {
					t.warn("entry %s adopts a document signoff cannot read: %v; ignored", e.ID.Short(), err)
					return nil
				}
				if doc.Kind != kind || doc.Version != r.Body.Version {
					t.warn("entry %s adopts a %s as %s version %d; ignored", e.ID.Short(), doc.Kind, kind, r.Body.Version)
					return nil
				}
				d = &InForce{Kind: kind, Version: doc.Version, Digest: doc.Digest, Doc: doc}
				docs[d.Digest] = d
			}
			adoptions = append(adoptions, r)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.SortFunc(adoptions, byTime)

	if anchor == "" {
		var err error
		if anchor, err = pickAnchor(docs, adoptions); err != nil {
			return nil, err
		}
	} else if d := docs[anchor]; d == nil || d.Kind != KindRoot {
		return nil, fmt.Errorf("root %s is not adopted in this ledger (import the ledger that holds it, or check --root)", anchor)
	}
	t.Anchor, t.anchor = anchor, docs[anchor]

	// Candidates in a fixed order: by version, then digest.
	cands := make([]*InForce, 0, len(docs))
	for _, d := range docs {
		cands = append(cands, d)
	}
	slices.SortFunc(cands, func(a, b *InForce) int {
		return cmp.Or(cmp.Compare(a.Version, b.Version), strings.Compare(a.Digest, b.Digest))
	})
	for _, a := range adoptions {
		d := docs[a.Body.Digest]
		d.records = append(d.records, a)
		for t.advance(cands, a.Entry.Time) {
		}
	}
	root := t.root()
	if root == nil {
		return nil, fmt.Errorf("%w: root %s has not been adopted by its threshold of admins", ErrNoRoot, anchor)
	}
	for _, d := range cands {
		if !d.Since.IsZero() {
			continue
		}
		if d.Kind != KindRoot && d.Version <= t.current(d.Kind).Version && len(admins(root.Doc.Root, t.countable(d.records))) >= root.Doc.Root.Threshold {
			t.warn("%s version %d (%s) was adopted while version %d was in force: versions only go up, so it is ignored", d.Kind, d.Version, shortDigest(d.Digest), t.current(d.Kind).Version)
			continue
		}
		d.Adopters = signers(d.records, nil)
		t.Pending = append(t.Pending, d)
	}
	return t, nil
}

func (t *Trust) warn(format string, args ...any) {
	t.Warnings = append(t.Warnings, fmt.Sprintf(format, args...))
}

// pickAnchor returns the digest of the one lowest-version root adopted by
// its own threshold of admins.
func pickAnchor(docs map[string]*InForce, adoptions []*Record) (string, error) {
	var found []*InForce
	for _, d := range docs {
		if d.Kind != KindRoot {
			continue
		}
		var recs []*Record
		for _, a := range adoptions {
			if a.Body.Digest == d.Digest {
				recs = append(recs, a)
			}
		}
		if len(admins(d.Doc.Root, recs)) < d.Doc.Root.Threshold {
			continue
		}
		if len(found) > 0 && d.Version > found[0].Version {
			continue
		}
		if len(found) > 0 && d.Version < found[0].Version {
			found = found[:0]
		}
		found = append(found, d)
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%w (run signoff init, or import a ledger that holds one)", ErrNoRoot)
	case 1:
		return found[0].Digest, nil
	}
	var ds []string
	for _, d := range found {
		ds = append(ds, d.Digest)
	}
	slices.Sort(ds)
	return "", fmt.Errorf("%w: %d different version-%d roots (%s); say which to trust with --root", ErrAmbiguousRoot, len(found), found[0].Version, strings.Join(ds, ", "))
}

// countable returns the adoptions signed by an admin of the root in force
// when they were signed: an adoption signed before its signer became an
// admin does not count later.
func (t *Trust) countable(recs []*Record) []*Record {
	var out []*Record
	for _, a := range recs {
		r := t.RootAt(a.Entry.Time)
		if r == nil {
			r = t.anchor // before the first root was in force: its admins
		}
		if _, ok := r.Doc.Root.AdminOf(a.Entry.Feed); ok {
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
	l := *t.list(kind)
	if len(l) == 0 {
		return &InForce{}
	}
	return l[len(l)-1]
}

// advance brings into force the first candidate that its adoptions so far
// allow, at time now, and reports whether it did.
func (t *Trust) advance(cands []*InForce, now time.Time) bool {
	root := t.root()
	for _, d := range cands {
		if !d.Since.IsZero() || len(d.records) == 0 {
			continue
		}
		var counted []*Record
		switch {
		case d.Kind == KindRoot && root == nil:
			if d.Digest != t.Anchor || len(admins(d.Doc.Root, d.records)) < d.Doc.Root.Threshold {
				continue
			}
			counted = d.records
		case root == nil || d.Version <= t.current(d.Kind).Version:
			continue
		case d.Kind == KindRoot:
			if len(admins(root.Doc.Root, t.countable(d.records))) < root.Doc.Root.Threshold || len(admins(d.Doc.Root, d.records)) < d.Doc.Root.Threshold {
				continue
			}
			counted = d.records
		default:
			counted = t.countable(d.records)
			if len(admins(root.Doc.Root, counted)) < root.Doc.Root.Threshold {
				continue
			}
		}
		d.Since = now
		named := root
		if named == nil {
			named = d
		}
		d.Adopters = signers(counted, named.Doc.Root)
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
	return false
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
		if later.Since.After(asOf) || later == k {
			continue
		}
		lm, ok := later.Doc.Keyring.MemberOf(e.Feed)
		if ok && lm.RevokedAt != nil && !e.Time.Before(*lm.RevokedAt) {
			return m, k, fmt.Sprintf("%s's key was revoked at %s by keyring version %d, before it signed", lm.Identity, lm.RevokedAt.UTC().Format(time.RFC3339), later.Version)
		}
	}
	return m, k, ""
}
