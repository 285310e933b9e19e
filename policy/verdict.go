package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/signoff-dev/signoff/evidence"
	"github.com/signoff-dev/signoff/ledger"
)

// ErrUnknownSubject is returned for a bundle the ledger knows nothing of.
var ErrUnknownSubject = errors.New("no entry in this ledger is about that bundle")

// A Query asks whether one bundle may make one transition at one time.
type Query struct {
	Bundle string    // the bundle digest
	To     string    // the stage
	At     time.Time // the moment judged (now, usually)
	Anchor string    // the root digest to trust first; "" for the ledger's own
	// Dir, if set, is the bundle itself; otherwise its evidence is read
	// from the ledger's blobs. DirStatus, if set, is what Dir.Check said,
	// to save hashing the bundle again.
	Dir       *evidence.Bundle
	DirStatus *evidence.Status
	// Artifacts are files about to be deployed: each must be an artifact
	// of the bundle.
	Artifacts []ArtifactFile
	// Trust, if set, is the history LoadTrust gave for Anchor and At, to
	// save reading it again.
	Trust *Trust
	// Reports, if set, keeps bundles' evaluated evidence across verdicts:
	// a bundle it holds is judged from its lock and manifest alone, and
	// one it lacks is evaluated into it. A queue or a server judging many
	// bundles, again and again, passes one.
	Reports *Reports
	// Prospective, if set, is a record about to be signed (its Entry has
	// no signature and the id [ProspectiveID]): it is judged as if it
	// were in the ledger, so that a signer can be told before signing
	// whether it would count (see [Verdict.Excluded]).
	Prospective *Record
}

// ProspectiveID is the id a [Query.Prospective] record carries.
var ProspectiveID = ledger.ID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// An ArtifactFile is a file to be deployed and its SHA-256.
type ArtifactFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// A Verdict answers a [Query] and explains itself.
type Verdict struct {
	Approved bool      `json:"approved"`
	Subject  Subject   `json:"subject"`
	At       time.Time `json:"at"`
	Tier     string    `json:"tier,omitempty"`
	Change   string    `json:"change,omitempty"`
	// Path is how it was approved: "standard", or "emergency" while an
	// emergency is in force.
	Path    string   `json:"path,omitempty"`
	Reasons []string `json:"reasons"` // why not; empty when approved
	// Tampered says the verdict found evidence of tampering: the bundle
	// judged is not as sealed (its directory holds other bytes than its
	// digest names), or a governance signer the root in force counts
	// signed two histories.
	Tampered     bool                `json:"tampered,omitempty"`
	Root         *DocRef             `json:"root,omitempty"`
	Keyring      *DocRef             `json:"keyring,omitempty"`
	Policy       *DocRef             `json:"policy,omitempty"`
	Gates        []Result            `json:"gates"`
	Requirements []RequirementStatus `json:"requirements"`
	Requests     []Signer            `json:"requests"`
	// Decisions are the decisions that stand: each person's latest.
	Decisions []Decided `json:"decisions"`
	// Superseded counts the decisions a later one by the same person
	// replaced.
	Superseded int              `json:"superseded,omitempty"`
	Rejections []Decided        `json:"rejections,omitempty"`
	Emergency  *EmergencyStatus `json:"emergency,omitempty"`
	Restricted *Decided         `json:"restricted,omitempty"`
	Artifacts  []ArtifactCheck  `json:"artifacts,omitempty"`
	// Equivocations are forks in the feeds of signers whose entries
	// would count: the evidence of a signer who signed two histories.
	Equivocations []ForkEvidence `json:"equivocations,omitempty"`
	Warnings      []string       `json:"warnings"`
	Entries       int            `json:"entries"` // entries about the subject read

	excluded []Exclusion // every approval that did not count
	// settled says the sign-offs were weighed: the verdict got as far as
	// the quorum.
	settled bool
}

// Excluded returns why the approval in entry id does not count; false if
// it counts or is not an approval the verdict read.
func (v *Verdict) Excluded(id ledger.ID) (Exclusion, bool) {
	for _, x := range v.excluded {
		if x.Entry == id.String() {
			return x, true
		}
	}
	return Exclusion{}, false
}

// A DocRef names a governance document in force.
type DocRef struct {
	Version int       `json:"version"`
	Digest  string    `json:"digest"`
	Since   time.Time `json:"since"`
}

func ref(d *InForce) *DocRef {
	if d == nil {
		return nil
	}
	return &DocRef{Version: d.Version, Digest: d.Digest, Since: d.Since}
}

// RequirementStatus is one required sign-off: who met it, or what is
// missing and why people who might have met it do not count.
type RequirementStatus struct {
	Requirement string      `json:"requirement"` // "2 of {risk, compliance}"
	Roles       []string    `json:"roles"`
	Count       int         `json:"count"`
	Met         bool        `json:"met"`
	By          []Signer    `json:"by"`
	Missing     int         `json:"missing"`
	Excluded    []Exclusion `json:"excluded,omitempty"`
	// ExcludedMore counts the exclusions beyond the first 100 listed.
	ExcludedMore int    `json:"excluded_more,omitempty"`
	Explanation  string `json:"explanation"`
}

// An Exclusion is a signed approval that does not count, and why.
type Exclusion struct {
	Identity string `json:"identity"` // as the keyring names them, else as claimed
	Role     string `json:"role,omitempty"`
	Key      string `json:"key"` // the signing key's fingerprint
	Entry    string `json:"entry"`
	Why      string `json:"why"`
}

// Decided is a signed record with its signer, verdict and reason.
type Decided struct {
	Signer
	Verdict string `json:"verdict,omitempty"`
	Reason  string `json:"reason"`
	Ticket  string `json:"ticket,omitempty"`
}

// EmergencyStatus is the state of the emergency path for the subject.
type EmergencyStatus struct {
	Invoked  []Signer   `json:"invoked"`
	Needed   int        `json:"needed"`
	Start    *time.Time `json:"start,omitempty"`
	End      *time.Time `json:"end,omitempty"`
	Deadline *time.Time `json:"review_deadline,omitempty"`
	Active   bool       `json:"active"`
	Reviews  []Signer   `json:"reviews"`
	Overdue  bool       `json:"review_overdue"`
}

// ArtifactCheck says whether a file to be deployed is one of the bundle's
// artifacts.
type ArtifactCheck struct {
	ArtifactFile
	Artifact string `json:"artifact,omitempty"` // the manifest's path for it
	OK       bool   `json:"ok"`
}

// ForkEvidence is an equivocation, as entry ids.
type ForkEvidence struct {
	Identity string   `json:"identity"`
	Feed     string   `json:"feed"`
	Seq      uint64   `json:"seq"`
	Entries  []string `json:"entries"`
}

// GateDigest returns the digest of gate results, as a decision binds it.
func GateDigest(rs []Result) string {
	b, _ := json.Marshal(rs)
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Judge answers q from the entries in l alone. An entry it reads whose
// signature does not verify gives an error wrapping [ledger.ErrTampered];
// a bundle the ledger knows nothing of, [ErrUnknownSubject]. Everything
// else that stands in the way is a reason in a Verdict that is not
// approved.
//
// Each rule it applies is written once, in this package: which requests
// count ([Judge] and [OpenRequests] share it), whose signature counts
// ([Trust.Counts]), which decision of each person stands, whether an
// approval counts (restriction, expiry, separation of duties, the review
// record), who fills each required sign-off (a matching over people),
// and the emergency path's episodes.
func Judge(l *ledger.Ledger, q Query) (*Verdict, error) {
	v := NotApproved(Subject{Bundle: q.Bundle, To: q.To}, q.At)
	j := &judge{l: l, q: q, v: v}
	defer func() {
		if j.closeB != nil {
			j.closeB()
		}
	}()
	if err := j.run(); err != nil {
		return nil, err
	}
	v.Approved = len(v.Reasons) == 0
	if !v.Approved {
		v.Path = ""
	}
	return v, nil
}

type judge struct {
	l     *ledger.Ledger
	q     Query
	v     *Verdict
	trust *Trust
	recs  []*Record
	tr    *Transition
	m     *evidence.Manifest
	lock  *evidence.Lock
	// The signer of each record that counts, and why the others do not,
	// by entry id.
	who map[ledger.ID]*Member
	why map[ledger.ID]string
	// report is the bundle's evaluated evidence, when Query.Reports held
	// it.
	report *evidence.Report
	// b is the bundle rebuilt from the ledger's blobs, when no directory
	// was given; closeB removes it.
	b      *evidence.Bundle
	closeB func()
}

func (j *judge) fail(format string, args ...any) {
	j.v.Reasons = append(j.v.Reasons, fmt.Sprintf(format, args...))
}

func (j *judge) warn(format string, args ...any) {
	j.v.Warnings = append(j.v.Warnings, fmt.Sprintf(format, args...))
}

func (j *judge) run() error {
	q, v := j.q, j.v
	if err := ledger.CheckSubject(q.Bundle); err != nil || !IsDigest(q.Bundle) {
		return fmt.Errorf("%q is not a bundle digest (sha256:HEX)", q.Bundle)
	}
	if err := j.read(); err != nil {
		return err
	}
	if len(j.recs) == 0 && q.Dir == nil && !j.l.HasBlob(q.Bundle) {
		return fmt.Errorf("%w: %s", ErrUnknownSubject, q.Bundle)
	}

	// Governance, and whose signatures count.
	trust := q.Trust
	if trust == nil {
		var err error
		trust, err = LoadTrust(j.l, q.Anchor, q.At)
		if errors.Is(err, ledger.ErrTampered) {
			return err
		} else if err != nil {
			j.fail("%v", err)
			return nil
		}
	}
	j.trust = trust
	if err := j.standing(); err != nil {
		return err
	}

	// The bundle: the directory given, or the evidence the ledger carries.
	if err := j.openBundle(); err != nil {
		return err
	}
	if j.m == nil {
		return nil
	}
	m := j.m
	v.Subject = Subject{Model: m.Model, Version: m.Version, Bundle: q.Bundle, From: m.Transition.From, To: m.Transition.To}
	v.Tier, v.Change = m.RiskTier, m.Change
	if m.Transition.To != q.To {
		j.fail("this bundle asks for %s, not for %s", m.Transition, q.To)
	}
	if m.Change == evidence.ChangeExperiment && q.To == "production" {
		j.fail("an experiment never reaches production")
	}

	for _, c := range trust.ConflictAt(q.At) {
		j.fail("governance conflict: %d different %s documents of version %d were each adopted by the admins' threshold (%s); admins must adopt a version %d that supersedes them", len(c.Digests), c.Kind, c.Version, strings.Join(c.Digests, ", "), c.Version+1)
	}
	for _, u := range trust.UnsettledAt(q.At) {
		j.fail("governance unsettled: %s", u.Why)
	}
	for _, f := range trust.Forked {
		v.Tampered = true
		v.Equivocations = append(v.Equivocations, f)
		j.fail("equivocation by an admin: %s's key %s signed %d different entries as entry %d of its feed (%s); no verdict is given until admins adopt a root that revokes the key or no longer lists it", f.Identity, f.Feed, len(f.Entries), f.Seq, strings.Join(f.Entries, ", "))
	}
	v.Warnings = append(v.Warnings, trust.Warnings...)
	v.Root, v.Keyring = ref(trust.RootAt(q.At)), ref(trust.KeyringAt(q.At))
	pol := trust.PolicyAt(q.At)
	if pol == nil {
		j.fail("no policy is in force at %s: admins adopt one with signoff adopt policy.yaml", q.At.UTC().Format(time.RFC3339))
		return nil
	}
	v.Policy = ref(pol)
	var err error
	if j.tr, err = pol.Doc.Policy.TransitionFor(m.RiskTier, m.Transition.String()); err != nil {
		j.fail("%v", err)
		return nil
	}
	if err := j.equivocations(); err != nil {
		return err
	}

	// Gates, re-evaluated from the evidence.
	if err := j.gates(); err != nil {
		return err
	}
	j.artifacts()
	requesters := j.requests()
	restrictedAt, err := j.restricted()
	if err != nil {
		return err
	}
	emergency := j.emergency(restrictedAt)
	j.quorum(requesters, restrictedAt, emergency)
	if len(v.Reasons) == 0 {
		v.Path = "standard"
		if emergency {
			v.Path = "emergency"
		}
	}
	return nil
}

// read gathers every entry about the subject signed by the time judged,
// checked, and the prospective record, in signing order.
func (j *judge) read() error {
	err := j.l.Entries(ledger.Query{Subject: j.q.Bundle}, func(e *ledger.Entry) error {
		j.v.Entries++
		if e.Time.After(j.q.At) {
			return nil
		}
		if err := checkEntry(e); err != nil {
			return err
		}
		r, err := ReadRecord(e)
		if err != nil {
			j.warn("entry %s: %v; ignored", e.ID.Short(), err)
			return nil
		}
		j.recs = append(j.recs, r)
		return nil
	})
	if err != nil {
		return err
	}
	if p := j.q.Prospective; p != nil {
		j.recs = append(j.recs, p)
	}
	slices.SortFunc(j.recs, byTime)
	return nil
}

// standing settles whose signature on each record counts (see
// [Trust.Counts]).
func (j *judge) standing() error {
	j.who, j.why = map[ledger.ID]*Member{}, map[ledger.ID]string{}
	memo := requestMemo{}
	for _, r := range j.recs {
		m, why, err := j.trust.counts(j.l, r, j.q.At, memo)
		if err != nil {
			return err
		}
		if why != "" {
			j.why[r.Entry.ID] = why
			continue
		}
		j.who[r.Entry.ID] = m
	}
	return nil
}

func (j *judge) openBundle() error {
	q := j.q
	j.report = q.Reports.cached(q.Bundle)
	if q.Dir != nil {
		st := q.DirStatus
		if st == nil {
			var err error
			if st, err = q.Dir.Check(); err != nil {
				return err
			}
		}
		if !st.Intact() {
			j.v.Tampered = true
			j.fail("the bundle in %s is not as sealed: %s (see signoff bundle show %s)", q.Dir.Dir, strings.Join(st.Changed(), ", "), q.Dir.Dir)
			return nil
		}
		if st.Digest != q.Bundle {
			return fmt.Errorf("internal error: bundle %s judged as %s", st.Digest, q.Bundle)
		}
		lock, err := q.Dir.SealedLock()
		if err != nil {
			return err
		}
		j.m, j.lock = q.Dir.Manifest, lock
		return nil
	}
	if j.report != nil {
		// Evaluated before: the lock and the manifest are all it takes.
		sb, err := sealedFromLedger(j.l, q.Bundle)
		if errors.Is(err, ErrNoEvidence) {
			j.fail("%v", err)
			return nil
		} else if err != nil {
			return err
		}
		j.m, j.lock = sb.manifest, sb.lock
		return nil
	}
	b, lock, closeFn, err := OpenFromLedger(j.l, q.Bundle)
	if errors.Is(err, ErrNoEvidence) {
		j.fail("%v", err)
		return nil
	} else if err != nil {
		return err
	}
	// Kept open for the gates; Judge closes it.
	j.b, j.closeB = b, closeFn
	j.m, j.lock = b.Manifest, lock
	return nil
}

// about reports whether r concerns the transition judged.
func (j *judge) about(r *Record, kind string) bool {
	s := r.Body.Subject
	return r.Entry.Kind == kind && s.From == j.m.Transition.From && s.To == j.m.Transition.To
}

// signer names r's signer as the person the keyrings make them (see
// [Trust.Person]), or as the entry claims if they are in none.
func (j *judge) signer(r *Record, role string) Signer {
	s := Signer{Identity: r.Entry.Identity, Role: role, Time: r.Entry.Time.UTC(), Entry: r.Entry.ID.String()}
	if m := j.who[r.Entry.ID]; m != nil {
		s.Identity = j.trust.Person(m.Identity)
	}
	return s
}

func (j *judge) gates() error {
	report := j.report
	if report == nil {
		b := j.q.Dir
		if b == nil {
			b = j.b
		}
		var err error
		if report, err = j.q.Reports.Evaluate(b, j.q.Bundle); err != nil {
			j.fail("the gates cannot be evaluated: %v", err)
			return nil
		}
	}
	j.v.Gates = Evaluate(j.tr.Gates, j.m, report)
	j.gateReasons()
	return nil
}

func (j *judge) gateReasons() {
	for _, r := range j.v.Gates {
		if r.Status != Pass {
			j.fail("gate %s %s: %s", r.Name, map[string]string{Fail: "fails", Undefined: "is undefined"}[r.Status], r.Reason)
		}
	}
}

func (j *judge) artifacts() {
	for _, a := range j.q.Artifacts {
		c := ArtifactCheck{ArtifactFile: a}
		for _, f := range j.lock.Files {
			if lockedDigest(f) == a.SHA256 && j.m.IsArtifact(f.Path) {
				c.Artifact, c.OK = f.Path, true
				break
			}
		}
		if !c.OK {
			j.fail("%s (%s) is not an artifact of this bundle", a.Path, a.SHA256)
		}
		j.v.Artifacts = append(j.v.Artifacts, c)
	}
}

// restricted returns the time of the last restriction of this model
// version (of any of its bundles) whose signer counts.
func (j *judge) restricted() (time.Time, error) {
	var at time.Time
	var recs []*Record
	err := j.l.Entries(ledger.Query{Subject: VersionSubject(j.m.Model, j.m.Version), Kind: KindRestrict}, func(e *ledger.Entry) error {
		if e.Time.After(j.q.At) {
			return nil
		}
		if err := checkEntry(e); err != nil {
			return err
		}
		r, err := ReadRecord(e)
		if err != nil || r.Body.Subject.Model != j.m.Model || r.Body.Subject.Version != j.m.Version {
			return nil
		}
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		return at, err
	}
	slices.SortFunc(recs, byTime)
	for _, r := range recs {
		m, why, err := j.trust.Counts(j.l, r, j.q.At)
		if err != nil {
			return at, err
		}
		if why != "" {
			j.warn("restriction %s does not count: %s", r.Entry.ID.Short(), why)
			continue
		}
		at = r.Entry.Time
		s := Signer{Identity: j.trust.Person(m.Identity), Time: r.Entry.Time.UTC(), Entry: r.Entry.ID.String()}
		j.v.Restricted = &Decided{Signer: s, Reason: r.Body.Reason, Ticket: r.Body.Ticket}
	}
	return at, nil
}

// equivocations finds the signers in standing whose keys signed two
// histories: nothing such a key signs counts ([Trust.Counts]), and the
// verdict fails with the evidence while the keyring in force lists it.
func (j *judge) equivocations() error {
	seen := map[ledger.Feed]bool{}
	for _, r := range j.recs {
		f := r.Entry.Feed
		if seen[f] || r.Entry.ID == ProspectiveID {
			continue
		}
		m, _, why := j.trust.Standing(r.Entry, j.q.At)
		if why != "" {
			continue // a later record of the feed may be in standing
		}
		seen[f] = true
		forks, err := j.l.Forks(f)
		if err != nil {
			return err
		}
		for _, fk := range forks {
			ev := ForkEvidence{Identity: j.trust.Person(m.Identity), Feed: f.String(), Seq: fk.Seq}
			for _, id := range fk.IDs {
				ev.Entries = append(ev.Entries, id.String())
			}
			j.v.Equivocations = append(j.v.Equivocations, ev)
			msg := fmt.Sprintf("equivocation: %s's key %s signed %d different entries as entry %d of its feed (%s); nothing it signs counts", ev.Identity, f, len(fk.IDs), fk.Seq, strings.Join(ev.Entries, ", "))
			if _, still := j.trust.KeyringAt(j.q.At).Doc.Keyring.MemberOf(f); still {
				j.fail("%s, and the keyring in force still lists the key: replace it", msg)
			} else {
				j.warn("%s; the keyring in force no longer lists the key", msg)
			}
		}
	}
	return nil
}

// MustName holds v to the model version a caller asked about by name: a
// bundle found through its request whose own manifest names another
// version is not approved.
func (v *Verdict) MustName(model, version string) {
	if v.Subject.Model != model || v.Subject.Version != version {
		v.Approved = false
		v.Reasons = append(v.Reasons, fmt.Sprintf("the request for %s %s names a bundle whose manifest is %s %s", model, version, v.Subject.Model, v.Subject.Version))
	}
}
