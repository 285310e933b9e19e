package policy

import (
	"fmt"
	"time"

	"github.com/signoff-dev/signoff/inert"
	"github.com/signoff-dev/signoff/ledger"
)

// Admits says why a server that trusts the root anchor, and whose ledger
// proves the history t (nil if it holds no root yet), should refuse to
// store e, or "" if it should store it. A governance adoption must be
// signed by an admin of a root the history knows of, in force or not (or
// of the anchor itself, when e adopts it); any other entry by a keyring
// member in good standing when they signed it, as judged at now.
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
		for _, d := range t.docs {
			if d.Kind != KindRoot {
				continue
			}
			if doc := t.doc(d); doc != nil && doc.Root != nil {
				if _, ok := doc.Root.AdminOf(e.Feed); ok {
					return ""
				}
			}
		}
		return "signed with a key that is not an admin of any root this remote knows"
	}
	if t == nil {
		return fmt.Sprintf("this remote holds no trusted root yet: push the adoption of root %s first", inert.Digest(anchor))
	}
	if _, _, why := t.Standing(e, now); why != "" {
		return why
	}
	return ""
}
