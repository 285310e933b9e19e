package policy

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/signoff-dev/signoff/ledger"
)

// VersionStatus is one model version in the registry view: the stage it
// is at and why, and the requests still open.
type VersionStatus struct {
	Model   string `json:"model"`
	Version string `json:"version"`
	Stage   string `json:"stage"`
	// StageWhy says which record the stage follows from.
	StageWhy   string           `json:"stage_why"`
	Bundle     string           `json:"bundle,omitempty"` // the bundle promoted last
	Since      *time.Time       `json:"since,omitempty"`
	Deprecated *Decided         `json:"deprecated,omitempty"`
	Restricted *Decided         `json:"restricted,omitempty"`
	Pending    []PendingRequest `json:"pending"`
}

// PendingRequest is an open request (see [OpenRequests]) with the
// verdict [Judge] gives it: signoff verify says the same of it.
type PendingRequest struct {
	Subject   Subject  `json:"subject"`
	Requested Signer   `json:"requested"`
	Again     []Signer `json:"again,omitempty"`
	// The decisions that stand (each person's latest), and how many of
	// each verdict they give.
	Decisions  []Decided `json:"decisions"`
	Approvals  int       `json:"approvals"`
	Rejections int       `json:"rejections"`
	Changes    int       `json:"changes_requested"`
	Superseded int       `json:"superseded,omitempty"`
	// Approved is the verdict's: the gates, re-evaluated, pass and every
	// sign-off the policy requires is in. Reasons say what stands in the
	// way otherwise.
	Approved bool     `json:"approved"`
	Reasons  []string `json:"reasons"`
	// Gates are the gate results, re-evaluated from the evidence.
	Gates []Result `json:"gates"`
}

// Status derives the registry view at at from the records whose signers
// count (see [Trust.Counts]): promotions, deprecations and restrictions
// give each version its stage, and [OpenRequests] its pending requests,
// each judged by [Judge].
func Status(l *ledger.Ledger, t *Trust, at time.Time) ([]*VersionStatus, error) {
	versions := map[[2]string]*VersionStatus{}
	get := func(s *Subject) *VersionStatus {
		k := [2]string{s.Model, s.Version}
		v := versions[k]
		if v == nil {
			v = &VersionStatus{Model: s.Model, Version: s.Version, Pending: []PendingRequest{}}
			versions[k] = v
		}
		return v
	}
	var events []counted
	for _, kind := range []string{KindPromote, KindRestrict, KindDeprecate} {
		recs, err := t.records(l, ledger.Query{Kind: kind}, at)
		if err != nil {
			return nil, err
		}
		events = append(events, recs...)
	}
	slices.SortFunc(events, func(a, b counted) int { return byTime(a.r, b.r) })
	byVersion := map[[2]string][]counted{}
	for _, c := range events {
		s := c.r.Body.Subject
		get(s)
		byVersion[[2]string{s.Model, s.Version}] = append(byVersion[[2]string{s.Model, s.Version}], c)
	}
	requested := map[[2]string][]OpenRequest{}
	err := JudgeOpen(context.Background(), l, t, nil, at, func(o OpenRequest, v *Verdict, err error) error {
		if err != nil {
			return err
		}
		k := [2]string{o.Subject.Model, o.Subject.Version}
		requested[k] = append(requested[k], o)
		vs := get(&o.Subject)
		vs.Pending = append(vs.Pending, pending(o, v))
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]*VersionStatus, 0, len(versions))
	for k, v := range versions {
		stageOf(v, byVersion[k], requested[k])
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b *VersionStatus) int {
		return cmp.Or(strings.Compare(a.Model, b.Model), strings.Compare(a.Version, b.Version))
	})
	return out, nil
}

// pending is an open request for the registry, with its verdict.
func pending(o OpenRequest, v *Verdict) PendingRequest {
	p := PendingRequest{Subject: o.Subject, Requested: o.Requested, Again: o.Again}
	p.Decisions, p.Superseded, p.Reasons, p.Approved, p.Gates = v.Decisions, v.Superseded, v.Reasons, v.Approved, v.Gates
	for _, d := range v.Decisions {
		switch d.Verdict {
		case Approve:
			p.Approvals++
		case Reject:
			p.Rejections++
		default:
			p.Changes++
		}
	}
	return p
}

// stageOf sets v's stage, and says why, from the version's promotions,
// restrictions and deprecation in signing order, and its open requests:
// the last promotion's stage; deprecated once deprecated; with no
// promotion, the stage its open request says it moves from; else draft.
func stageOf(v *VersionStatus, events []counted, open []OpenRequest) {
	v.Stage, v.StageWhy = "draft", "no promotion or request is recorded"
	promoted := false
	for _, c := range events {
		r := c.r
		d := &Decided{Signer: c.signer(r, r.Body.Role), Reason: r.Body.Reason, Ticket: r.Body.Ticket}
		switch r.Entry.Kind {
		case KindPromote:
			t := r.Entry.Time.UTC()
			v.Stage, v.Bundle, v.Since, v.Restricted, promoted = r.Body.Subject.To, r.Body.Subject.Bundle, &t, nil, true
			v.StageWhy = fmt.Sprintf("promoted to %s by %s at %s (entry %s)", v.Stage, d.Identity, t.Format(time.RFC3339), r.Entry.ID.Short())
		case KindRestrict:
			v.Restricted = d
		case KindDeprecate:
			v.Deprecated, v.Stage = d, "deprecated"
			v.StageWhy = fmt.Sprintf("deprecated by %s at %s (entry %s)", d.Identity, d.Time.Format(time.RFC3339), r.Entry.ID.Short())
		}
	}
	if promoted || v.Deprecated != nil || len(open) == 0 {
		return
	}
	o := open[0]
	v.Stage = o.Subject.From
	v.StageWhy = fmt.Sprintf("no promotion is recorded; %s's request of %s (entry %s) moves it from %s", o.Requested.Identity, o.Requested.Time.Format(time.RFC3339), shortEntry(o.Requested.Entry), o.Subject.From)
}

// shortEntry shortens an entry id as signoff log prints it.
func shortEntry(id string) string {
	if e, err := ledger.ParseID(id); err == nil {
		return e.Short()
	}
	return id
}
