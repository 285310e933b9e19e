package policy

import (
	"fmt"
	"time"

	"github.com/signoff-dev/signoff/inert"
	"github.com/signoff-dev/signoff/ledger"
)

// Admits says why a ledger that trusts the root anchor, and proves the
// history t (nil if it holds no root yet), should refuse to store e, or
// "" if it should store it: the rule signoff serve applies to pushes and
// every home to what it pulls. A governance adoption must be signed by an
// admin of a root of the history (the anchor, a root that came into
// force, or the next root some admin in force has proposed, whose new
// admins must be able to adopt it); any other entry by a keyring member in
// good standing when they signed it, as judged at now. A root document
// that no admin in force proposed as the next version (another
// organisation's, say) admits no one, whoever carried it in.
//
// This only keeps strangers out of a shared remote: a verdict still
// judges every entry by the history as of its own time.
func Admits(t *Trust, anchor string, e *ledger.Entry, now time.Time) string {
	switch e.Kind {
	case KindRoot, KindKeyring, KindPolicy:
		if e.Kind == KindRoot {
			if r, err := ReadRecord(e); err == nil && r.Body.Digest == anchor {
				doc, err := ParseDocument("root "+inert.Digest(anchor), []byte(r.Body.Document))
				if err != nil || doc.Root == nil {
					return fmt.Sprintf("it adopts the trusted root %s, but the document cannot be read: %v", inert.Digest(anchor), err)
				}
				if _, ok := doc.Root.AdminOf(e.Feed); ok {
					return ""
				}
				return "signed with a key that is not an admin of the root it adopts"
			}
		}
		if t == nil {
			return fmt.Sprintf("this remote holds no trusted root yet: push the adoption of root %s first", inert.Digest(anchor))
		}
		if t.governs(e.Feed) {
			return ""
		}
		return "signed with a key that is not an admin of any root in this history"
	}
	if t == nil {
		return fmt.Sprintf("this remote holds no trusted root yet: push the adoption of root %s first", inert.Digest(anchor))
	}
	if _, _, why := t.Standing(e, now); why != "" {
		return why
	}
	return ""
}

// governs reports whether f is an admin's key of a root of the history:
// the anchor, a root that came into force, or a pending next root that an
// admin of the root in force adopted.
func (t *Trust) governs(f ledger.Feed) bool {
	admin := func(d *InForce) bool {
		doc := t.doc(d)
		if doc == nil || doc.Root == nil {
			return false
		}
		_, ok := doc.Root.AdminOf(f)
		return ok
	}
	if t.anchor != nil && admin(t.anchor) {
		return true
	}
	for _, r := range t.Roots {
		if admin(r) {
			return true
		}
	}
	root := t.root()
	for _, d := range t.Pending {
		if d.Kind == KindRoot && root != nil && len(admins(root.Doc.Root, t.countable(d.records))) > 0 && admin(d) {
			return true
		}
	}
	return false
}
