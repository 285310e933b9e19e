package policy

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/signoff-dev/signoff/evidence"
	"github.com/signoff-dev/signoff/ledger"
)

// Adopt signs s's adoption of a governance document.
func Adopt(l *ledger.Ledger, s ledger.Signer, d *Document, now time.Time) (*ledger.Entry, error) {
	b := &Body{Version: d.Version, Digest: d.Digest, Document: string(d.Text)}
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

// ResolveSubject finds the bundle a digest or a prefix of one names
// (sha256:… or at least 6 hex digits).
func ResolveSubject(l *ledger.Ledger, prefix string) (string, error) {
	p := strings.TrimPrefix(prefix, "sha256:")
	if len(p) < 6 || len(p) > 64 || strings.Trim(p, "0123456789abcdef") != "" {
		return "", fmt.Errorf("%q is not a bundle digest (sha256:HEX, or at least 6 hex digits of one)", prefix)
	}
	found, err := l.Subjects("sha256:"+p, 2)
	if err != nil {
		return "", err
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%w: %s", ErrUnknownSubject, prefix)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("%s names more than one bundle: give more digits", prefix)
}

// SubjectOf returns the subject of the bundle with digest, from its
// manifest as the ledger carries it.
func SubjectOf(l *ledger.Ledger, digest string) (Subject, error) {
	b, _, closeFn, err := OpenFromLedger(l, digest)
	if err != nil {
		return Subject{}, err
	}
	defer closeFn()
	return subjectOfManifest(b.Manifest, digest), nil
}

func subjectOfManifest(m *evidence.Manifest, digest string) Subject {
	return Subject{Model: m.Model, Version: m.Version, Bundle: digest, From: m.Transition.From, To: m.Transition.To}
}

// GovernanceAt returns the trust history, policy and keyring in force at
// now, or an error saying what is missing.
func GovernanceAt(l *ledger.Ledger, anchor string, now time.Time) (*Trust, *InForce, *InForce, error) {
	t, err := LoadTrust(l, anchor, now)
	if err != nil {
		return nil, nil, nil, err
	}
	pol, kr := t.PolicyAt(now), t.KeyringAt(now)
	if pol == nil || kr == nil {
		return t, pol, kr, errors.New("no keyring or no policy is in force: admins adopt them with signoff adopt keyring.yaml and signoff adopt policy.yaml")
	}
	return t, pol, kr, nil
}

// A RequestResult is what [Request] signed.
type RequestResult struct {
	Entry   *ledger.Entry
	Subject Subject
	Results []Result
	Files   int
}

// Request signs s's request to move the bundle b to its manifest's next
// stage: the subject, the gate results by the policy in force, and the
// bundle's evidence files, carried in the ledger as blobs. report is the
// bundle's evaluated evidence.
func Request(l *ledger.Ledger, s ledger.Signer, b *evidence.Bundle, report *evidence.Report, anchor string, now time.Time) (*RequestResult, error) {
	st, err := b.Check()
	if err != nil {
		return nil, err
	}
	if !st.Intact() {
		return nil, fmt.Errorf("%s is not as sealed: seal it (signoff bundle seal %s) and check it (signoff bundle show %s) first", b.Dir, b.Dir, b.Dir)
	}
	lock, err := b.SealedLock()
	if err != nil {
		return nil, err
	}
	t, pol, _, err := GovernanceAt(l, anchor, now)
	if err != nil {
		return nil, err
	}
	if m, _, why := t.Standing(probe(s, now), now); why != "" {
		return nil, fmt.Errorf("you cannot request: %s", why)
	} else if m == nil {
		return nil, errors.New("you are not in the keyring")
	}
	m := b.Manifest
	tr, err := pol.Doc.Policy.TransitionFor(m.RiskTier, m.Transition.String())
	if err != nil {
		return nil, err
	}
	results := Evaluate(tr.Gates, m, report)
	files, err := CarryEvidence(l, b, lock)
	if err != nil {
		return nil, err
	}
	subj := subjectOfManifest(m, st.Digest)
	body := &Body{Subject: &subj, Tier: m.RiskTier, Change: m.Change, Authors: m.Authors, Evidence: files,
		Policy: pol.Digest, Gates: GateDigest(results), Results: results}
	e, err := l.AppendSubject(s, KindRequest, indexOf(KindRequest, subj), body.Marshal(), now)
	if err != nil {
		return nil, err
	}
	return &RequestResult{Entry: e, Subject: subj, Results: results, Files: len(files)}, nil
}

// probe is an entry-shaped stand-in for a record s is about to sign at
// now, to ask the keyring about s before signing.
func probe(s ledger.Signer, now time.Time) *ledger.Entry {
	return &ledger.Entry{Header: ledger.Header{Feed: ledger.FeedOf(s.PublicKey().Marshal()), Time: now, Identity: s.Identity()}}
}

// A Decision is what an approver signs about a subject.
type Decision struct {
	Subject  Subject
	Verdict  string // Approve, Reject or RequestChanges
	Role     string
	Reason   string
	Ticket   string
	Gates    []Result   // the gate results the approver saw
	Reviewed []Reviewed // the sections they opened
}

// Decide signs s's decision. It refuses a decision the keyring in force
// would not count: s must be a member holding the role. The body binds
// the policy digest and keyring version in force and the digest of the
// gate results seen.
func Decide(l *ledger.Ledger, s ledger.Signer, d Decision, anchor string, now time.Time) (*ledger.Entry, error) {
	if !slices.Contains([]string{Approve, Reject, RequestChanges}, d.Verdict) {
		return nil, fmt.Errorf("verdict %q is not approve, reject or request-changes", d.Verdict)
	}
	if strings.TrimSpace(d.Reason) == "" {
		return nil, errors.New("a decision needs a reason")
	}
	t, pol, kr, err := GovernanceAt(l, anchor, now)
	if err != nil {
		return nil, err
	}
	if err := mayAct(t, s, now, d.Role); err != nil {
		return nil, err
	}
	b := &Body{Subject: &d.Subject, Verdict: d.Verdict, Role: d.Role, Reason: d.Reason, Ticket: d.Ticket,
		Policy: pol.Digest, Keyring: kr.Version, Gates: GateDigest(d.Gates), Reviewed: d.Reviewed}
	if err := b.check(KindDecision); err != nil {
		return nil, err
	}
	return l.AppendSubject(s, KindDecision, d.Subject.Bundle, b.Marshal(), now)
}

// mayAct checks that s is a keyring member at now holding role (any role
// if role is "").
func mayAct(t *Trust, s ledger.Signer, now time.Time, role string) error {
	m, k, why := t.Standing(probe(s, now), now)
	if why != "" {
		return fmt.Errorf("the keyring in force would not count this: %s", why)
	}
	if role != "" && !m.HasRole(role) {
		return fmt.Errorf("keyring version %d gives %s the roles %s, not %s", k.Version, m.Identity, strings.Join(m.Roles, ", "), role)
	}
	return nil
}

// A Note is any other record about a subject: an emergency, an incident
// review, a restriction, a promotion or a deprecation.
type Note struct {
	Kind    string
	Subject Subject
	Role    string
	Reason  string
	Ticket  string
	Policy  string
	Gates   string
}

// Sign signs s's note, refusing one the keyring in force would not count.
func Sign(l *ledger.Ledger, s ledger.Signer, n Note, anchor string, now time.Time) (*ledger.Entry, error) {
	t, err := LoadTrust(l, anchor, now)
	if err != nil {
		return nil, err
	}
	if err := mayAct(t, s, now, n.Role); err != nil {
		return nil, err
	}
	b := &Body{Subject: &n.Subject, Role: n.Role, Reason: n.Reason, Ticket: n.Ticket, Policy: n.Policy, Gates: n.Gates}
	if err := b.check(n.Kind); err != nil {
		return nil, err
	}
	return l.AppendSubject(s, n.Kind, indexOf(n.Kind, n.Subject), b.Marshal(), now)
}

// FindBundle returns the bundle of the latest request to move model
// version to stage to ("" for any stage). It reads only that version's
// requests, and counts only those whose signature verifies and, if trust
// is given, whose signer the keyring in force gave standing (judged as of
// at).
func FindBundle(l *ledger.Ledger, model, version, to string, trust *Trust, at time.Time) (string, error) {
	found := ""
	err := l.Entries(ledger.Query{Subject: VersionSubject(model, version), Kind: KindRequest}, func(e *ledger.Entry) error {
		if e.Time.After(at) {
			return nil
		}
		if err := checkEntry(e); err != nil {
			return err
		}
		r, err := ReadRecord(e)
		if err != nil {
			return nil
		}
		s := r.Body.Subject
		if s.Model != model || s.Version != version || to != "" && s.To != to {
			return nil
		}
		if trust != nil {
			if _, _, why := trust.Standing(e, at); why != "" {
				return nil
			}
		}
		if forks, err := l.Forks(e.Feed); err != nil {
			return err
		} else if len(forks) > 0 {
			return nil // a key that signed two histories is not believed
		}
		found = s.Bundle
		return ledger.ErrStop // newest first
	})
	if err != nil {
		return "", err
	}
	if found == "" {
		return "", fmt.Errorf("%w: no request for %s %s to %s", ErrUnknownSubject, model, version, cmp.Or(to, "any stage"))
	}
	return found, nil
}

// GateResults evaluates the bundle's gates under the policy in force at
// now: b is the bundle itself, or nil to read its evidence from l.
func GateResults(l *ledger.Ledger, b *evidence.Bundle, digest, anchor string, now time.Time) ([]Result, error) {
	if b == nil {
		var closeFn func()
		var err error
		if b, _, closeFn, err = OpenFromLedger(l, digest); err != nil {
			return nil, err
		}
		defer closeFn()
	}
	_, pol, _, err := GovernanceAt(l, anchor, now)
	if err != nil {
		return nil, err
	}
	m := b.Manifest
	tr, err := pol.Doc.Policy.TransitionFor(m.RiskTier, m.Transition.String())
	if err != nil {
		return nil, err
	}
	report, err := b.Evaluate(digest)
	if err != nil {
		return nil, err
	}
	return Evaluate(tr.Gates, m, report), nil
}
