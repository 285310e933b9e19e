package policy

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/signoff-dev/signoff/ledger"
)

// VersionStatus is one model version in the registry view: its current
// stage and the requests still open.
type VersionStatus struct {
	Model      string           `json:"model"`
	Version    string           `json:"version"`
	Stage      string           `json:"stage"` // the last stage promoted to; "draft" if none
	Bundle     string           `json:"bundle,omitempty"`
	Since      *time.Time       `json:"since,omitempty"`
	Deprecated *Decided         `json:"deprecated,omitempty"`
	Restricted *Decided         `json:"restricted,omitempty"`
	Pending    []PendingRequest `json:"pending"`
}

// PendingRequest is a promotion requested and not yet recorded, with the
// decisions signed about it so far.
type PendingRequest struct {
	Subject   Subject   `json:"subject"`
	Requested Signer    `json:"requested"`
	Approvals int       `json:"approvals"`
	Rejection int       `json:"rejections"`
	Changes   int       `json:"changes_requested"`
	Decisions []Decided `json:"decisions"`
}

// Status derives the registry view from the ledger's requests, decisions,
// promotions, restrictions and deprecations. It shows what is signed; it
// does not judge quorum or gates (see [Judge]).
func Status(l *ledger.Ledger) ([]*VersionStatus, error) {
	versions := map[[2]string]*VersionStatus{}
	get := func(s *Subject) *VersionStatus {
		k := [2]string{s.Model, s.Version}
		v := versions[k]
		if v == nil {
			v = &VersionStatus{Model: s.Model, Version: s.Version, Stage: "draft", Pending: []PendingRequest{}}
			versions[k] = v
		}
		return v
	}
	read := func(kind string) ([]*Record, error) {
		var out []*Record
		err := l.Entries(ledger.Query{Kind: kind}, func(e *ledger.Entry) error {
			if r, err := ReadRecord(e); err == nil {
				out = append(out, r)
			}
			return nil
		})
		slices.SortFunc(out, byTime)
		return out, err
	}
	signer := func(r *Record, role string) Signer {
		return Signer{Identity: r.Entry.Identity, Role: role, Time: r.Entry.Time.UTC(), Entry: r.Entry.ID.String()}
	}
	// Promotions, restrictions and deprecations, in the order signed.
	promoted := map[Subject]bool{}
	var events []*Record
	for _, kind := range []string{KindPromote, KindRestrict, KindDeprecate} {
		recs, err := read(kind)
		if err != nil {
			return nil, err
		}
		events = append(events, recs...)
	}
	slices.SortFunc(events, byTime)
	for _, r := range events {
		s := r.Body.Subject
		v := get(s)
		d := &Decided{Signer: signer(r, r.Body.Role), Reason: r.Body.Reason, Ticket: r.Body.Ticket}
		switch r.Entry.Kind {
		case KindPromote:
			promoted[*s] = true
			t := r.Entry.Time.UTC()
			v.Stage, v.Bundle, v.Since, v.Restricted = s.To, s.Bundle, &t, nil
		case KindRestrict:
			v.Restricted = d
		case KindDeprecate:
			v.Deprecated, v.Stage = d, "deprecated"
		}
	}
	requests, err := read(KindRequest)
	if err != nil {
		return nil, err
	}
	for _, r := range requests {
		s := *r.Body.Subject
		v := get(&s)
		if promoted[s] || v.Deprecated != nil || slices.ContainsFunc(v.Pending, func(p PendingRequest) bool { return p.Subject == s }) {
			continue
		}
		p := PendingRequest{Subject: s, Requested: signer(r, ""), Decisions: []Decided{}}
		err := l.Entries(ledger.Query{Subject: s.Bundle, Kind: KindDecision}, func(e *ledger.Entry) error {
			d, err := ReadRecord(e)
			if err != nil || *d.Body.Subject != s {
				return nil
			}
			p.Decisions = append(p.Decisions, Decided{Signer: signer(d, d.Body.Role), Verdict: d.Body.Verdict, Reason: d.Body.Reason, Ticket: d.Body.Ticket})
			switch d.Body.Verdict {
			case Approve:
				p.Approvals++
			case Reject:
				p.Rejection++
			default:
				p.Changes++
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		slices.SortFunc(p.Decisions, func(a, b Decided) int { return a.Time.Compare(b.Time) })
		v.Pending = append(v.Pending, p)
	}
	out := make([]*VersionStatus, 0, len(versions))
	for _, v := range versions {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b *VersionStatus) int {
		return cmp.Or(strings.Compare(a.Model, b.Model), strings.Compare(a.Version, b.Version))
	})
	return out, nil
}
