package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/signoff-dev/signoff/evidence"
	"github.com/signoff-dev/signoff/inert"
	"github.com/signoff-dev/signoff/ledger"
)

// Entry kinds of the records this package reads and writes, besides the
// governance documents.
const (
	KindRequest        = "request"
	KindDecision       = "decision"
	KindEmergency      = "emergency"
	KindIncidentReview = "incident-review"
	KindRestrict       = "restrict"
	KindPromote        = "promote"
	KindDeprecate      = "deprecate"
)

// Verdicts a decision gives.
const (
	Approve        = "approve"
	Reject         = "reject"
	RequestChanges = "request-changes"
)

// A Subject is what a record is about: a model version's bundle and, for
// records about a promotion, the transition.
type Subject struct {
	Model   string `json:"model"`
	Version string `json:"version"`
	Bundle  string `json:"bundle"`
	From    string `json:"from,omitempty"`
	To      string `json:"to,omitempty"`
}

// String describes s: "credit-risk 7 staging->production (sha256:ab12…)".
func (s Subject) String() string {
	var b strings.Builder
	b.WriteString(strings.TrimSpace(s.Model + " " + s.Version))
	switch {
	case s.From != "" && s.To != "":
		b.WriteString(" " + s.From + "->" + s.To)
	case s.To != "":
		b.WriteString(" to " + s.To)
	}
	if s.Bundle != "" {
		fmt.Fprintf(&b, " (%s)", inert.Digest(s.Bundle))
	}
	return strings.TrimSpace(b.String())
}

// Reviewed is a section of the evidence the signer opened and the time
// they spent in it.
type Reviewed struct {
	Section string `json:"section"`
	Seconds int64  `json:"seconds"`
}

// A Body is the signed body of a governance or record entry. Which fields
// a kind carries is checked by [ParseBody].
type Body struct {
	// Governance documents.
	Version  int    `json:"version,omitempty"`
	Digest   string `json:"digest,omitempty"`
	Document string `json:"document,omitempty"`

	// Records.
	Subject  *Subject          `json:"subject,omitempty"`
	Tier     string            `json:"tier,omitempty"`
	Change   string            `json:"change,omitempty"`
	Authors  []string          `json:"authors,omitempty"`
	Evidence map[string]string `json:"evidence,omitempty"` // file -> blob digest
	Verdict  string            `json:"verdict,omitempty"`
	Role     string            `json:"role,omitempty"`
	Reason   string            `json:"reason,omitempty"`
	Ticket   string            `json:"ticket,omitempty"`
	Policy   string            `json:"policy,omitempty"`  // digest of the policy in force
	Keyring  int               `json:"keyring,omitempty"` // version of the keyring in force
	Gates    string            `json:"gates,omitempty"`   // digest of the gate results seen
	Results  []Result          `json:"results,omitempty"`
	Reviewed []Reviewed        `json:"reviewed,omitempty"`
	Ref      string            `json:"ref,omitempty"` // the entry a decision or incident review answers
	// InForce, in a root's adoption, names the keyring and policy in
	// force as its signer saw them (their digests): what comes into force
	// with the new root.
	InForce []string `json:"in_force,omitempty"`
}

// Limits on the text a record carries.
const (
	MaxReason = 4096
	MaxTicket = 128
)

// ParseBody reads and checks the body of an entry of kind.
func ParseBody(kind string, body []byte) (*Body, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var b Body
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("%s body: %v", kind, err)
	}
	if err := b.check(kind); err != nil {
		return nil, fmt.Errorf("%s body: %v", kind, err)
	}
	// One body, one reading: JSON lets a key repeat, match in any case,
	// or be followed by more, and two readers may then disagree on what
	// was signed. Only the form Marshal writes is accepted.
	if !bytes.Equal(b.Marshal(), body) {
		return nil, fmt.Errorf("%s body is not in signoff's one written form (keys in order, each once, lowercase, nothing after)", kind)
	}
	return &b, nil
}

// Marshal returns the body as compact JSON.
func (b *Body) Marshal() []byte {
	out, err := json.Marshal(b)
	if err != nil {
		panic(err) // a Body holds only marshalable fields
	}
	return out
}

func (b *Body) check(kind string) error {
	switch kind {
	case KindRoot, KindKeyring, KindPolicy:
		if b.Subject != nil {
			return errors.New("a governance document has no subject")
		}
		if b.Version < 1 || b.Document == "" || !IsDigest(b.Digest) {
			return errors.New("needs version, digest and document")
		}
		if ledger.BlobDigest([]byte(b.Document)) != b.Digest {
			return errors.New("document does not have the digest given")
		}
		if len(b.InForce) > 0 && kind != KindRoot {
			return errors.New("only a root's adoption names the documents in force")
		}
		if len(b.InForce) > 2 {
			return errors.New("a root's adoption names at most a keyring and a policy in force")
		}
		for _, d := range b.InForce {
			if !IsDigest(d) {
				return fmt.Errorf("in_force %q is not a digest (sha256:HEX)", d)
			}
		}
		if b.Subject != nil || b.Ref != "" || b.Verdict != "" || len(b.Results) > 0 || len(b.Evidence) > 0 {
			return errors.New("a governance adoption carries only version, digest, document and in_force")
		}
		return nil
	}
	if b.Subject == nil {
		return errors.New("needs a subject")
	}
	if err := b.Subject.check(); err != nil {
		return err
	}
	if b.Document != "" || b.Digest != "" || len(b.InForce) > 0 {
		return errors.New("only a governance document carries a document")
	}
	if b.Ref != "" {
		if kind != KindDecision && kind != KindIncidentReview {
			return fmt.Errorf("only a decision or an incident review names the entry it answers, not a %s", kind)
		}
		if _, err := ledger.ParseID(b.Ref); err != nil {
			return fmt.Errorf("ref %q is not an entry id: %v", b.Ref, err)
		}
	}
	if len(b.Reason) > MaxReason || len(b.Ticket) > MaxTicket {
		return fmt.Errorf("reason is limited to %d bytes and ticket to %d", MaxReason, MaxTicket)
	}
	if !utf8.ValidString(b.Reason) || !utf8.ValidString(b.Ticket) {
		return errors.New("reason and ticket must be UTF-8")
	}
	promotion := b.Subject.To != ""
	switch kind {
	case KindRequest, KindDecision, KindEmergency, KindIncidentReview, KindPromote:
		if !promotion {
			return fmt.Errorf("a %s names the transition (subject.from and subject.to)", kind)
		}
	case KindRestrict, KindDeprecate:
	default:
		return fmt.Errorf("%q is not a record signoff reads", kind)
	}
	switch kind {
	case KindDecision:
		if !slices.Contains([]string{Approve, Reject, RequestChanges}, b.Verdict) {
			return fmt.Errorf("verdict %q is not approve, reject or request-changes", b.Verdict)
		}
		if !nameRE.MatchString(b.Role) {
			return errors.New("a decision names the role it is signed in")
		}
		if strings.TrimSpace(b.Reason) == "" {
			return errors.New("a decision gives a reason")
		}
		for _, r := range b.Reviewed {
			if !slices.Contains(Sections, r.Section) || r.Seconds < 0 {
				return fmt.Errorf("reviewed section %q is not one of %s", r.Section, strings.Join(Sections, ", "))
			}
		}
	case KindEmergency:
		if !nameRE.MatchString(b.Role) || strings.TrimSpace(b.Reason) == "" {
			return errors.New("an emergency names the role it is invoked in and gives a reason")
		}
	case KindIncidentReview, KindRestrict:
		if strings.TrimSpace(b.Reason) == "" {
			return fmt.Errorf("a %s gives a reason", kind)
		}
	}
	for _, d := range b.Evidence {
		if !IsDigest(d) {
			return fmt.Errorf("evidence digest %q is not sha256:HEX", d)
		}
	}
	return nil
}

func (s *Subject) check() error {
	if !IsDigest(s.Bundle) {
		return fmt.Errorf("subject bundle %q is not a bundle digest (sha256:HEX)", s.Bundle)
	}
	if s.Model == "" || s.Version == "" {
		return errors.New("subject needs model and version")
	}
	if (s.From == "") != (s.To == "") {
		return errors.New("subject names both from and to, or neither")
	}
	for _, f := range []string{s.Model, s.Version, s.From, s.To} {
		if err := evidence.CheckName(f); err != nil {
			return fmt.Errorf("subject: %v", err)
		}
	}
	return nil
}

// IsDigest reports whether s is "sha256:" and 64 lowercase hex digits.
func IsDigest(s string) bool {
	h, ok := strings.CutPrefix(s, "sha256:")
	if !ok || len(h) != 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		if !('0' <= h[i] && h[i] <= '9' || 'a' <= h[i] && h[i] <= 'f') {
			return false
		}
	}
	return true
}

// A Record is an entry read as a governance document or a record: its
// signer's keyring standing is settled by [Trust].
type Record struct {
	Entry *ledger.Entry
	Body  *Body
}

// Time is when the record was signed.
func (r *Record) Time() time.Time { return r.Entry.Time }

// VersionSubject is the subject index name of a model version, under
// which requests and the records about a version are found by model and
// version: "mv:" and 40 hex digits of a hash of both.
func VersionSubject(model, version string) string {
	sum := sha256.Sum256([]byte(model + "\x00" + version))
	return "mv:" + hex.EncodeToString(sum[:20])
}

// ReadRecord parses the body of e. The entry's subjects must name the
// subject's bundle, so that a record cannot hide from a subject's reads,
// and nothing else but its model version.
func ReadRecord(e *ledger.Entry) (*Record, error) {
	b, err := ParseBody(e.Kind, e.Body)
	if err != nil {
		return nil, err
	}
	if s := b.Subject; s != nil {
		if !e.About(s.Bundle) {
			return nil, fmt.Errorf("entry is indexed under %q but its body is about %s", e.Subject, s.Bundle)
		}
		for _, name := range e.Subjects() {
			if name != s.Bundle && name != VersionSubject(s.Model, s.Version) {
				return nil, fmt.Errorf("entry is indexed under %q, which its body (%s) is not about", name, s)
			}
		}
	} else if e.Subject != "" {
		return nil, errors.New("a governance document is not indexed under a subject")
	}
	return &Record{Entry: e, Body: b}, nil
}

// checkEntry verifies e's signature, as stored: a failure means the store
// was altered, and wraps [ledger.ErrTampered].
func checkEntry(e *ledger.Entry) error {
	if err := e.Verify(); err != nil {
		return &ledger.EntryError{Feed: e.Feed, Seq: e.Seq, ID: e.ID, Err: fmt.Errorf("%w: %v", ledger.ErrTampered, err)}
	}
	return nil
}

// indexOf returns the subjects a record about s is indexed under.
func indexOf(kind string, s Subject) string {
	switch kind {
	case KindRequest, KindRestrict, KindPromote, KindDeprecate:
		return s.Bundle + "," + VersionSubject(s.Model, s.Version)
	}
	return s.Bundle
}
