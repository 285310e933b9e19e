package policy

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/signoff-dev/signoff/evidence"
	"github.com/signoff-dev/signoff/inert"
	"github.com/signoff-dev/signoff/ledger"
)

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
	sb, err := sealedFromLedger(l, digest)
	if err != nil {
		return Subject{}, err
	}
	return subjectOfManifest(sb.manifest, digest), nil
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
// bundle's evidence files, carried in the ledger as blobs. st is what
// b.Check said of it, report its evaluated evidence. A request for a
// subject already requested and still open is refused: a second adds
// nothing but a second "requested by".
func Request(l *ledger.Ledger, s ledger.Signer, b *evidence.Bundle, st *evidence.Status, report *evidence.Report, anchor string, now time.Time) (*RequestResult, error) {
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
	if err := mayAct(t, s, now, ""); err != nil {
		return nil, fmt.Errorf("you cannot request: %w", err)
	}
	m := b.Manifest
	tr, err := pol.Doc.Policy.TransitionFor(m.RiskTier, m.Transition.String())
	if err != nil {
		return nil, err
	}
	subj := subjectOfManifest(m, st.Digest)
	open, err := openRequests(l, t, now, VersionSubject(m.Model, m.Version))
	if err != nil {
		return nil, err
	}
	for _, o := range open {
		if o.Subject == subj {
			return nil, fmt.Errorf("%w: %s requested %s at %s (entry %s), and it is still open; its reviewers see that request", ErrAlreadyRequested,
				o.Requested.Identity, subj, o.Requested.Time.Format(time.RFC3339), inert.Digest(o.Requested.Entry))
		}
	}
	results := Evaluate(tr.Gates, m, report)
	files, err := CarryEvidence(l, b, lock)
	if err != nil {
		return nil, err
	}
	body := &Body{Subject: &subj, Tier: m.RiskTier, Change: m.Change, Authors: m.Authors, Evidence: files,
		Policy: pol.Digest, Gates: GateDigest(results), Results: results}
	e, err := l.AppendSubject(s, KindRequest, indexOf(KindRequest, subj), body.Marshal(), now)
	if err != nil {
		return nil, err
	}
	return &RequestResult{Entry: e, Subject: subj, Results: results, Files: len(files)}, nil
}

// Errors of signing records that would not do what their signer means.
var (
	// ErrAlreadyRequested: the subject has an open request already.
	ErrAlreadyRequested = errors.New("already requested")
	// ErrWouldNotCount: the verdict would not count the approval.
	ErrWouldNotCount = errors.New("this approval would not count")
)

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
	// Dir, if set, is the bundle itself (and DirStatus what Dir.Check
	// said), else its evidence is read from the ledger; Reports, if set,
	// holds its evaluated evidence: as in [Query], to save the work of
	// judging an approval again.
	Dir       *evidence.Bundle
	DirStatus *evidence.Status
	Reports   *Reports
}

// Decide signs s's decision. It refuses a decision the keyring in force
// would not count (s must be a member holding the role), and an approval
// the verdict would not count, saying why ([ErrWouldNotCount]): the
// verdict's own rules are asked, with the approval as it would be signed,
// so the CLI and the console cannot sign what [Judge] then ignores. The
// body binds the policy digest and keyring version in force and the
// digest of the gate results seen, and names the request it answers.
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
	ref, err := answers(l, t, d.Subject, now)
	if err != nil {
		return nil, err
	}
	b := &Body{Subject: &d.Subject, Verdict: d.Verdict, Role: d.Role, Reason: d.Reason, Ticket: d.Ticket,
		Policy: pol.Digest, Keyring: kr.Version, Gates: GateDigest(d.Gates), Reviewed: d.Reviewed, Ref: ref}
	if err := b.check(KindDecision); err != nil {
		return nil, err
	}
	if d.Verdict == Approve {
		p := &Record{Entry: probe(s, now), Body: b}
		p.Entry.Kind, p.Entry.Subject, p.Entry.ID = KindDecision, d.Subject.Bundle, ProspectiveID
		v, err := Judge(l, Query{Bundle: d.Subject.Bundle, To: d.Subject.To, At: now, Anchor: anchor, Trust: t, Dir: d.Dir, DirStatus: d.DirStatus, Reports: d.Reports, Prospective: p})
		if err != nil {
			return nil, err
		}
		if !v.settled {
			return nil, fmt.Errorf("%w: the verdict cannot weigh an approval of %s: %s", ErrWouldNotCount, d.Subject, strings.Join(v.Reasons, "; "))
		}
		if len(v.Requests) == 0 {
			return nil, fmt.Errorf("%w: no one in the keyring has requested %s, so there is nothing to approve yet (the owner runs signoff request)", ErrWouldNotCount, d.Subject)
		}
		if x, ok := v.Excluded(ProspectiveID); ok {
			return nil, fmt.Errorf("%w: %s %s", ErrWouldNotCount, x.Identity, x.Why)
		}
	}
	return l.AppendSubject(s, KindDecision, d.Subject.Bundle, b.Marshal(), now)
}

// answers returns the id of the request a decision about s answers: the
// latest for s whose signer counts, or "" if there is none. Naming it
// shows the decision was signed after it (see [Trust.Counts]).
func answers(l *ledger.Ledger, t *Trust, s Subject, now time.Time) (string, error) {
	recs, err := t.records(l, ledger.Query{Subject: s.Bundle, Kind: KindRequest}, now)
	if err != nil {
		return "", err
	}
	ref := ""
	for _, c := range recs {
		if *c.r.Body.Subject == s {
			ref = c.r.Entry.ID.String()
		}
	}
	return ref, nil
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
// version to stage to ("" for any stage) whose signer counts at at (see
// [Trust.Counts]). It reads only that version's requests. A version the
// ledger holds no request for gives an error wrapping
// [ErrUnknownSubject] that names the versions it does hold.
func FindBundle(l *ledger.Ledger, model, version, to string, t *Trust, at time.Time) (string, error) {
	recs, err := t.records(l, ledger.Query{Subject: VersionSubject(model, version), Kind: KindRequest}, at)
	if err != nil {
		return "", err
	}
	found := ""
	for _, c := range recs {
		s := c.r.Body.Subject
		if s.Model == model && s.Version == version && (to == "" || s.To == to) {
			found = s.Bundle // the latest wins
		}
	}
	if found == "" {
		return "", fmt.Errorf("%w: no request for %s %s to %s%s", ErrUnknownSubject, model, version, cmp.Or(to, "any stage"), t.versionsHint(l, model, at))
	}
	return found, nil
}

// GateResults evaluates the bundle's gates under the policy in force at
// now: b is the bundle itself, or nil to read its evidence from l.
// reports, if not nil, keeps its evaluated evidence (for [Decision]).
func GateResults(l *ledger.Ledger, b *evidence.Bundle, digest, anchor string, now time.Time, reports *Reports) ([]Result, error) {
	report := reports.cached(digest)
	var m *evidence.Manifest
	switch {
	case b != nil:
		m = b.Manifest
	case report != nil:
		// Evaluated before: the manifest is all it takes.
		sb, err := sealedFromLedger(l, digest)
		if err != nil {
			return nil, err
		}
		m = sb.manifest
	default:
		var closeFn func()
		var err error
		if b, _, closeFn, err = OpenFromLedger(l, digest); err != nil {
			return nil, err
		}
		defer closeFn()
		m = b.Manifest
	}
	_, pol, _, err := GovernanceAt(l, anchor, now)
	if err != nil {
		return nil, err
	}
	tr, err := pol.Doc.Policy.TransitionFor(m.RiskTier, m.Transition.String())
	if err != nil {
		return nil, err
	}
	if report == nil {
		if report, err = reports.Evaluate(b, digest); err != nil {
			return nil, err
		}
	}
	return Evaluate(tr.Gates, m, report), nil
}
