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
	"github.com/signoff-dev/signoff/inert"
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
	// from the ledger's blobs.
	Dir *evidence.Bundle
	// Artifacts are files about to be deployed: each must be an artifact
	// of the bundle.
	Artifacts []ArtifactFile
	// Trust, if set, is the history LoadTrust gave for Anchor and At, to
	// save reading it again.
	Trust *Trust
	// Report, if set, is the bundle's evaluated evidence (Bundle.Evaluate
	// with this digest), to save evaluating it again.
	Report *evidence.Report
	// Quick judges the sign-offs alone, for a queue: the subject comes
	// from its request rather than the bundle, and the gates are the
	// results the request recorded, not re-evaluated (GatesRecorded).
	// A quick verdict is never Approved.
	Quick bool
}

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
	Root    *DocRef  `json:"root,omitempty"`
	Keyring *DocRef  `json:"keyring,omitempty"`
	Policy  *DocRef  `json:"policy,omitempty"`
	Gates   []Result `json:"gates"`
	// GatesRecorded says the gates are as the request recorded them, not
	// re-evaluated (a quick verdict).
	GatesRecorded bool                `json:"gates_recorded,omitempty"`
	Requirements  []RequirementStatus `json:"requirements"`
	Requests      []Signer            `json:"requests"`
	Rejections    []Decided           `json:"rejections,omitempty"`
	Emergency     *EmergencyStatus    `json:"emergency,omitempty"`
	Restricted    *Decided            `json:"restricted,omitempty"`
	Artifacts     []ArtifactCheck     `json:"artifacts,omitempty"`
	// Equivocations are forks in the feeds of signers whose entries
	// would count: the evidence of a signer who signed two histories.
	Equivocations []ForkEvidence `json:"equivocations,omitempty"`
	Warnings      []string       `json:"warnings"`
	Entries       int            `json:"entries"` // entries about the subject read
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
func Judge(l *ledger.Ledger, q Query) (*Verdict, error) {
	v := &Verdict{At: q.At.UTC(), Subject: Subject{Bundle: q.Bundle, To: q.To}, Reasons: []string{}, Warnings: []string{}, Gates: []Result{}, Requirements: []RequirementStatus{}, Requests: []Signer{}}
	j := &judge{l: l, q: q, v: v}
	defer func() {
		if j.closeB != nil {
			j.closeB()
		}
	}()
	if err := j.run(); err != nil {
		return nil, err
	}
	v.Approved = len(v.Reasons) == 0 && !q.Quick
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
	// standing of each record's signer, by entry id
	who map[ledger.ID]*Member
	why map[ledger.ID]string
	// forked holds the feeds of signers in standing that equivocated.
	forked map[ledger.Feed]bool
	// recorded holds the gate results the request recorded (quick).
	recorded []Result
	// b is the bundle rebuilt from the ledger's blobs, when no directory
	// was given; closeB removes it.
	b      *evidence.Bundle
	closeB func()
}

// fromRequest takes the subject from the latest request for the
// transition asked, for a quick verdict.
func (j *judge) fromRequest() {
	for i := len(j.recs) - 1; i >= 0; i-- {
		r := j.recs[i]
		s := r.Body.Subject
		if r.Entry.Kind != KindRequest || s.To != j.q.To {
			continue
		}
		j.m = &evidence.Manifest{Model: s.Model, Version: s.Version, RiskTier: r.Body.Tier, Change: r.Body.Change,
			Transition: evidence.Transition{From: s.From, To: s.To}, Authors: r.Body.Authors}
		j.recorded = r.Body.Results
		if j.recorded == nil {
			j.recorded = []Result{}
		}
		return
	}
	j.fail("no request for this bundle to %s", j.q.To)
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
	// Every entry about the subject, checked.
	err := j.l.Entries(ledger.Query{Subject: q.Bundle}, func(e *ledger.Entry) error {
		v.Entries++
		if e.Time.After(q.At) {
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
	slices.SortFunc(j.recs, byTime)

	// The bundle: the directory given, or the evidence the ledger carries;
	// for a quick verdict, what the request says of it.
	if q.Quick {
		j.fromRequest()
	} else if err := j.openBundle(); err != nil {
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

	// Governance.
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
	for _, c := range trust.ConflictAt(q.At) {
		j.fail("governance conflict: %d different %s documents of version %d were each adopted by the admins' threshold (%s); admins must adopt a version %d that supersedes them", len(c.Digests), c.Kind, c.Version, strings.Join(c.Digests, ", "), c.Version+1)
	}
	v.Warnings = append(v.Warnings, trust.Warnings...)
	v.Root, v.Keyring = ref(trust.RootAt(q.At)), ref(trust.KeyringAt(q.At))
	pol := trust.PolicyAt(q.At)
	if pol == nil {
		j.fail("no policy is in force at %s: admins adopt one with signoff adopt policy.yaml", q.At.UTC().Format(time.RFC3339))
		return nil
	}
	v.Policy = ref(pol)
	if j.tr, err = pol.Doc.Policy.TransitionFor(m.RiskTier, m.Transition.String()); err != nil {
		j.fail("%v", err)
		return nil
	}
	j.standing()
	if err := j.equivocations(); err != nil {
		return err
	}

	// Gates, re-evaluated from the evidence.
	if q.Quick {
		j.v.Gates, j.v.GatesRecorded = j.recorded, true
	} else if err := j.gates(); err != nil {
		return err
	} else {
		j.artifacts()
	}
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

func (j *judge) openBundle() error {
	q := j.q
	if q.Dir != nil {
		st, err := q.Dir.Check()
		if err != nil {
			return err
		}
		if !st.Intact() {
			j.fail("the bundle in %s is not as sealed (run signoff bundle show %s)", q.Dir.Dir, q.Dir.Dir)
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
	if len(j.recs) == 0 && !j.l.HasBlob(q.Bundle) {
		return fmt.Errorf("%w: %s", ErrUnknownSubject, q.Bundle)
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

// standing settles who signed each record, by the keyring in force when
// it was signed.
func (j *judge) standing() {
	j.who, j.why = map[ledger.ID]*Member{}, map[ledger.ID]string{}
	for _, r := range j.recs {
		m, _, why := j.trust.Standing(r.Entry, j.q.At)
		if why != "" {
			j.why[r.Entry.ID] = why
			continue
		}
		j.who[r.Entry.ID] = m
	}
}

// about reports whether r concerns the transition judged.
func (j *judge) about(r *Record, kind string) bool {
	s := r.Body.Subject
	return r.Entry.Kind == kind && s.From == j.m.Transition.From && s.To == j.m.Transition.To
}

func (j *judge) signer(r *Record, role string) Signer {
	s := Signer{Identity: r.Entry.Identity, Role: role, Time: r.Entry.Time.UTC(), Entry: r.Entry.ID.String()}
	if m := j.who[r.Entry.ID]; m != nil {
		s.Identity = m.Identity
	}
	return s
}

func (j *judge) gates() error {
	if j.q.Report != nil {
		j.v.Gates = Evaluate(j.tr.Gates, j.m, j.q.Report)
		j.gateReasons()
		return nil
	}
	b := j.q.Dir
	if b == nil {
		b = j.b
	}
	report, err := b.Evaluate(j.q.Bundle)
	if err != nil {
		j.fail("the gates cannot be evaluated: %v", err)
		return nil
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

// requests finds the promotion requests and returns their signers.
func (j *judge) requests() []string {
	var ids []string
	for _, r := range j.recs {
		if !j.about(r, KindRequest) {
			continue
		}
		if why := j.why[r.Entry.ID]; why != "" {
			j.warn("request %s does not count: %s", r.Entry.ID.Short(), why)
			continue
		}
		if j.forked[r.Entry.Feed] {
			j.warn("request %s does not count: its signer equivocated", r.Entry.ID.Short())
			continue
		}
		s := j.signer(r, "")
		j.v.Requests = append(j.v.Requests, s)
		if !slices.Contains(ids, s.Identity) {
			ids = append(ids, s.Identity)
		}
	}
	if len(j.v.Requests) == 0 {
		j.fail("no one in the keyring has requested %s for this bundle (signoff request)", j.m.Transition)
	}
	return ids
}

// restricted returns the time of the last restriction of this model
// version (of any of its bundles) by a keyring member in good standing.
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
		if _, _, why := j.trust.Standing(r.Entry, j.q.At); why != "" {
			j.warn("restriction %s does not count: %s", r.Entry.ID.Short(), why)
			continue
		}
		if forks, err := j.l.Forks(r.Entry.Feed); err != nil {
			return at, err
		} else if len(forks) > 0 {
			j.warn("restriction %s does not count: its key signed two histories", r.Entry.ID.Short())
			continue
		}
		at = r.Entry.Time
		s := Signer{Identity: r.Entry.Identity, Time: r.Entry.Time.UTC(), Entry: r.Entry.ID.String()}
		if m, _, _ := j.trust.Standing(r.Entry, j.q.At); m != nil {
			s.Identity = m.Identity
		}
		j.v.Restricted = &Decided{Signer: s, Reason: r.Body.Reason, Ticket: r.Body.Ticket}
	}
	return at, nil
}

// emergency settles the emergency path and reports whether it lets the
// subject through now. Invocations form episodes: one starts when the
// policy's count of people have invoked it, lasts valid_for, and owes a
// signed incident review within review_within. Every episode's review is
// owed, even if a restriction has since voided the emergency itself.
func (j *judge) emergency(restrictedAt time.Time) bool {
	e := j.tr.Emergency
	var invoked []*Record
	for _, r := range j.recs {
		if j.about(r, KindEmergency) {
			invoked = append(invoked, r)
		}
	}
	if len(invoked) == 0 {
		return false
	}
	if e == nil {
		j.warn("an emergency was invoked, but this transition has no emergency path: ignored")
		return false
	}
	st := &EmergencyStatus{Needed: e.Count, Invoked: []Signer{}, Reviews: []Signer{}}
	j.v.Emergency = st
	type episode struct{ start, end, deadline time.Time }
	var episodes []episode
	var ids []string
	for _, r := range invoked {
		m := j.who[r.Entry.ID]
		switch {
		case m == nil:
			j.warn("emergency %s does not count: %s", r.Entry.ID.Short(), j.why[r.Entry.ID])
			continue
		case !slices.Contains(e.Roles, r.Body.Role) || !m.HasRole(r.Body.Role):
			j.warn("emergency %s by %s does not count: it needs one of {%s}, held by the signer", r.Entry.ID.Short(), m.Identity, strings.Join(e.Roles, ", "))
			continue
		case j.forked[r.Entry.Feed]:
			j.warn("emergency %s by %s does not count: their key equivocated", r.Entry.ID.Short(), m.Identity)
			continue
		}
		st.Invoked = append(st.Invoked, j.signer(r, r.Body.Role))
		if n := len(episodes); n > 0 && r.Entry.Time.Before(episodes[n-1].end) && len(ids) == e.Count {
			continue // within the episode under way
		}
		if len(ids) == e.Count {
			ids = nil // the last episode ended: count afresh
		}
		if !slices.Contains(ids, m.Identity) {
			ids = append(ids, m.Identity)
		}
		if len(ids) == e.Count {
			start := r.Entry.Time.UTC()
			episodes = append(episodes, episode{start, start.Add(time.Duration(e.ValidFor)), start.Add(time.Duration(e.ReviewWithin))})
		}
	}
	if len(episodes) == 0 {
		j.warn("emergency invoked by %d of the %d it needs", len(ids), e.Count)
		return false
	}
	reviewRoles := e.ReviewRoles
	if len(reviewRoles) == 0 {
		reviewRoles = j.tr.RequiredRoles()
	}
	var reviews []time.Time
	for _, r := range j.recs {
		if !j.about(r, KindIncidentReview) {
			continue
		}
		m := j.who[r.Entry.ID]
		if m == nil || !slices.ContainsFunc(reviewRoles, m.HasRole) || j.forked[r.Entry.Feed] {
			j.warn("incident review %s does not count: it needs a signer in good standing holding one of {%s}", r.Entry.ID.Short(), strings.Join(reviewRoles, ", "))
			continue
		}
		reviews = append(reviews, r.Entry.Time)
		st.Reviews = append(st.Reviews, j.signer(r, ""))
	}
	for _, ep := range episodes {
		reviewed := false
		for _, rt := range reviews {
			if !rt.Before(ep.start) {
				reviewed = true
				if rt.After(ep.deadline) {
					j.warn("the incident review of the emergency of %s came after its deadline %s", ep.start.Format(time.RFC3339), ep.deadline.Format(time.RFC3339))
				}
				break
			}
		}
		if !reviewed && j.q.At.After(ep.deadline) {
			st.Overdue = true
			j.fail("not approved, incident review overdue: the emergency of %s owed a signed incident review by %s", ep.start.Format(time.RFC3339), ep.deadline.Format(time.RFC3339))
		}
	}
	last := episodes[len(episodes)-1]
	st.Start, st.End, st.Deadline = &last.start, &last.end, &last.deadline
	switch {
	case st.Overdue:
		return false
	case last.start.Before(restrictedAt):
		j.warn("the emergency of %s predates the restriction of %s and does not count", last.start.Format(time.RFC3339), restrictedAt.UTC().Format(time.RFC3339))
		return false
	case !j.q.At.Before(last.end):
		j.warn("the emergency of %s ended at %s; the usual sign-offs apply", last.start.Format(time.RFC3339), last.end.Format(time.RFC3339))
		return false
	}
	st.Active = true
	return true
}

// candidate is one person's approvals that may count.
type candidate struct {
	identity string
	first    time.Time
	roles    map[string]*Record // role -> the latest approval in it
}

// quorum settles the required sign-offs, unless an emergency waives them.
func (j *judge) quorum(requesters []string, restrictedAt time.Time, emergency bool) {
	tr, m := j.tr, j.m
	sod := tr.SoD()
	required := tr.RequiredRoles()
	var excluded []Exclusion
	exclude := func(r *Record, id, why string) {
		excluded = append(excluded, Exclusion{Identity: id, Role: r.Body.Role, Key: r.Entry.Feed.String(), Entry: r.Entry.ID.String(), Why: why})
	}
	// Each person's decisions in order; the last decision stands.
	byPerson := map[string][]*Record{}
	var people []string
	for _, r := range j.recs {
		if !j.about(r, KindDecision) {
			continue
		}
		mem := j.who[r.Entry.ID]
		if mem == nil {
			exclude(r, r.Entry.Identity, "not counted: "+j.why[r.Entry.ID])
			continue
		}
		if !mem.HasRole(r.Body.Role) {
			exclude(r, mem.Identity, fmt.Sprintf("signed as %s, a role the keyring does not give them (they hold %s)", r.Body.Role, strings.Join(mem.Roles, ", ")))
			continue
		}
		if j.forked[r.Entry.Feed] {
			exclude(r, mem.Identity, "signed with a key that signed two histories (equivocation): nothing it signs counts")
			continue
		}
		if _, ok := byPerson[mem.Identity]; !ok {
			people = append(people, mem.Identity)
		}
		byPerson[mem.Identity] = append(byPerson[mem.Identity], r)
	}
	var cands []*candidate
	for _, id := range people {
		ds := byPerson[id]
		last := ds[len(ds)-1]
		if last.Body.Verdict != Approve {
			if slices.Contains(required, last.Body.Role) {
				if why := j.stillHolds(id, last.Body.Role); why != "" {
					j.warn("the %s by %s no longer blocks: %s", verdictNoun(last.Body.Verdict), id, why)
					continue
				}
				d := Decided{Signer: j.signer(last, last.Body.Role), Verdict: last.Body.Verdict, Reason: last.Body.Reason, Ticket: last.Body.Ticket}
				j.v.Rejections = append(j.v.Rejections, d)
				if !emergency {
					j.fail("%s by %s (%s) at %s blocks until they approve: %s", verdictNoun(last.Body.Verdict), id, last.Body.Role, last.Entry.Time.UTC().Format(time.RFC3339), inert.Cut(inert.Line(last.Body.Reason), 200))
				}
			}
			continue
		}
		// Approvals since their last other decision.
		c := &candidate{identity: id, roles: map[string]*Record{}}
		for i := len(ds) - 1; i >= 0 && ds[i].Body.Verdict == Approve; i-- {
			r := ds[i]
			switch {
			case r.Entry.Time.Before(restrictedAt):
				exclude(r, id, "approved before the restriction of "+restrictedAt.UTC().Format(time.RFC3339))
			case tr.ApprovalValidFor > 0 && j.q.At.Sub(r.Entry.Time) > time.Duration(tr.ApprovalValidFor):
				exclude(r, id, fmt.Sprintf("approval expired at %s (valid for %s)", r.Entry.Time.Add(time.Duration(tr.ApprovalValidFor)).UTC().Format(time.RFC3339), time.Duration(tr.ApprovalValidFor)))
			case !sod.AuthorsMayApprove && slices.ContainsFunc(m.Authors, func(a string) bool { return strings.EqualFold(a, id) }):
				exclude(r, id, "is an author and cannot approve")
			case !sod.RequesterMayApprove && slices.Contains(requesters, id):
				exclude(r, id, "requested this promotion and cannot approve it")
			default:
				if _, ok := c.roles[r.Body.Role]; !ok {
					c.roles[r.Body.Role] = r
				}
				if c.first.IsZero() || r.Entry.Time.Before(c.first) {
					c.first = r.Entry.Time
				}
			}
		}
		if len(c.roles) > 0 {
			cands = append(cands, c)
		}
	}
	slices.SortFunc(cands, func(a, b *candidate) int {
		if c := a.first.Compare(b.first); c != 0 {
			return c
		}
		return strings.Compare(a.identity, b.identity)
	})
	// Slots: one per sign-off required. Each person fills at most one.
	type slot struct{ req int }
	var slots []slot
	for i, r := range tr.Require {
		for range r.Count {
			slots = append(slots, slot{i})
		}
	}
	accepts := func(s slot, c *candidate) string {
		for _, role := range tr.Require[s.req].Roles() {
			if _, ok := c.roles[role]; ok {
				return role
			}
		}
		return ""
	}
	owner := make([]int, len(slots)) // slot -> candidate index + 1
	var try func(ci int, seen []bool) bool
	try = func(ci int, seen []bool) bool {
		for si := range slots {
			if seen[si] || accepts(slots[si], cands[ci]) == "" {
				continue
			}
			seen[si] = true
			if owner[si] == 0 || try(owner[si]-1, seen) {
				owner[si] = ci + 1
				return true
			}
		}
		return false
	}
	for ci := range cands {
		try(ci, make([]bool, len(slots)))
	}
	assigned := map[string]bool{}
	for i, req := range tr.Require {
		rs := RequirementStatus{Requirement: req.String(), Roles: req.Roles(), Count: req.Count, By: []Signer{}}
		for si, s := range slots {
			if s.req != i || owner[si] == 0 {
				continue
			}
			c := cands[owner[si]-1]
			role := accepts(s, c)
			r := c.roles[role]
			rs.By = append(rs.By, j.signer(r, role))
			assigned[c.identity] = true
			if r.Body.Gates != "" && r.Body.Gates != GateDigest(j.v.Gates) {
				j.warn("%s approved having seen other gate results than these (signed %s): the policy or the evaluation changed since", c.identity, inert.Digest(r.Body.Gates))
			}
		}
		slices.SortFunc(rs.By, func(a, b Signer) int { return a.Time.Compare(b.Time) })
		rs.Missing = req.Count - len(rs.By)
		rs.Met = rs.Missing == 0
		for _, x := range excluded {
			if slices.Contains(req.Roles(), x.Role) {
				rs.Excluded = append(rs.Excluded, x)
			}
		}
		explanation := j.explain(req, rs, cands, assigned)
		if len(rs.Excluded) > maxExcluded {
			rs.ExcludedMore = len(rs.Excluded) - maxExcluded
			rs.Excluded = rs.Excluded[:maxExcluded]
		}
		rs.Explanation = explanation
		j.v.Requirements = append(j.v.Requirements, rs)
		if !rs.Met && !emergency {
			j.fail("%s", rs.Explanation)
		}
	}
}

func (j *judge) explain(req Requirement, rs RequirementStatus, cands []*candidate, assigned map[string]bool) string {
	if rs.Met {
		var who []string
		for _, s := range rs.By {
			who = append(who, s.Identity+" ("+s.Role+")")
		}
		return fmt.Sprintf("%s: met by %s", req, strings.Join(who, ", "))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "needs %d more of {%s}", rs.Missing, strings.Join(req.Roles(), ", "))
	seen := map[string]bool{}
	more := 0
	for _, x := range rs.Excluded {
		key := x.Identity + x.Why
		if seen[key] {
			continue
		}
		seen[key] = true
		if len(seen) > maxExplained {
			more++
			continue
		}
		fmt.Fprintf(&b, "; %s %s", x.Identity, x.Why)
	}
	if more > 0 {
		fmt.Fprintf(&b, "; and %d more approvals that do not count (see --json)", more)
	}
	for _, c := range cands {
		for _, role := range req.Roles() {
			if _, ok := c.roles[role]; ok && assigned[c.identity] && !slices.ContainsFunc(rs.By, func(s Signer) bool { return s.Identity == c.identity }) {
				fmt.Fprintf(&b, "; %s already counts for another requirement (one person counts once)", c.identity)
			}
		}
	}
	return b.String()
}

// maxExplained bounds the approvals that do not count an explanation
// names one by one; maxExcluded, those a requirement lists.
const (
	maxExplained = 8
	maxExcluded  = 100
)

func verdictNoun(v string) string {
	if v == Reject {
		return "rejection"
	}
	return "request for changes"
}

// equivocations finds the signers in standing whose keys signed two
// histories: nothing such a key signs counts, and the verdict fails with
// the evidence.
func (j *judge) equivocations() error {
	j.forked = map[ledger.Feed]bool{}
	seen := map[ledger.Feed]bool{}
	for _, r := range j.recs {
		f := r.Entry.Feed
		if seen[f] || j.who[r.Entry.ID] == nil {
			continue
		}
		seen[f] = true
		forks, err := j.l.Forks(f)
		if err != nil {
			return err
		}
		for _, fk := range forks {
			j.forked[f] = true
			ev := ForkEvidence{Identity: j.signer(r, "").Identity, Feed: f.String(), Seq: fk.Seq}
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

// stillHolds says why identity no longer holds role by the keyring in
// force at the time judged, or "" if they do.
func (j *judge) stillHolds(identity, role string) string {
	k := j.trust.KeyringAt(j.q.At)
	m, ok := k.Doc.Keyring.Member(identity)
	switch {
	case !ok:
		return fmt.Sprintf("keyring version %d no longer lists them", k.Version)
	case !m.HasRole(role):
		return fmt.Sprintf("keyring version %d no longer gives them the role %s", k.Version, role)
	case m.RevokedAt != nil && !j.q.At.Before(*m.RevokedAt):
		return fmt.Sprintf("keyring version %d revoked them at %s", k.Version, m.RevokedAt.UTC().Format(time.RFC3339))
	}
	return "" // an expired membership does not lift a rejection
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
