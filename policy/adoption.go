package policy

import (
	"errors"
	"fmt"
	"time"

	"github.com/signoff-dev/signoff/ledger"
)

// Adopt signs s's adoption of a governance document. The adoption of a
// root names the keyring and policy in force in t (nil if none is yet),
// so that they stay in force under it whoever else signs what, dated
// when (see the package documentation).
func Adopt(l *ledger.Ledger, s ledger.Signer, d *Document, t *Trust, now time.Time) (*ledger.Entry, error) {
	b := &Body{Version: d.Version, Digest: d.Digest, Document: string(d.Text)}
	if d.Kind == KindRoot && t != nil {
		for _, kind := range []string{KindKeyring, KindPolicy} {
			if cur := t.InForceNow(kind); cur != nil {
				b.InForce = append(b.InForce, cur.Digest)
			}
		}
	}
	return l.Append(s, d.Kind, b.Marshal(), now)
}

// FindDocument returns the governance document with digest that some
// entry in l adopts, so that a second admin can adopt what the first did.
func FindDocument(l *ledger.Ledger, digest string) (*Document, error) {
	var found *Document
	for _, kind := range []string{KindRoot, KindKeyring, KindPolicy} {
		err := l.Entries(ledger.Query{Kind: kind}, func(e *ledger.Entry) error {
			r, err := ReadRecord(e)
			if err != nil || r.Body.Digest != digest {
				return nil
			}
			found, err = ParseDocument(digest, []byte(r.Body.Document))
			if err != nil {
				return err
			}
			return ledger.ErrStop
		})
		if err != nil {
			return nil, err
		}
		if found != nil {
			return found, nil
		}
	}
	return nil, fmt.Errorf("no entry in this ledger adopts %s (import the ledger of the admin who adopted it, or adopt the file)", digest)
}

// NextVersion says why a document of kind and version cannot come into
// force after version cur (0 for none), or "" if it can: versions of
// each kind only go up, by exactly one, and the first is version 1.
func NextVersion(cur int, kind string, version int) string {
	switch {
	case version == cur+1:
		return ""
	case cur == 0:
		return fmt.Sprintf("no %s is in force yet, and the first must be version 1, not %d", kind, version)
	case version <= cur:
		return fmt.Sprintf("%s version %d is in force, and versions only go up: the next must be version %d, not %d", kind, cur, cur+1, version)
	}
	return fmt.Sprintf("%s version %d is in force, and versions go up by one: the next must be version %d, not %d", kind, cur, cur+1, version)
}

// ErrAlreadyInForce is returned by [Trust.CheckAdoption] for a document
// that is in force already.
var ErrAlreadyInForce = errors.New("already in force")

// CheckAdoption says why adopting doc now could never bring it into force,
// before anyone signs it: its version must follow the one in force (see
// [NextVersion]). t is nil when no root is in force yet (none adopted, or
// the first still short of its threshold): then the first version, 1, is
// what may come. A document in force already gives [ErrAlreadyInForce].
func (t *Trust) CheckAdoption(doc *Document) error {
	if t == nil {
		if why := NextVersion(0, doc.Kind, doc.Version); why != "" {
			return errors.New(why)
		}
		return nil
	}
	cur := t.current(doc.Kind)
	if cur.Digest == doc.Digest {
		return fmt.Errorf("%w since %s", ErrAlreadyInForce, cur.Since.UTC().Format(time.RFC3339))
	}
	if why := NextVersion(cur.Version, doc.Kind, doc.Version); why != "" {
		return errors.New(why)
	}
	return nil
}
