// Package data is what the console reads from the ledger: the signer's
// standing, the queue of open requests with the verdict of each (as
// signoff status computes them: [policy.OpenRequests] and [policy.Judge]),
// and everything the review of one subject shows. It decides nothing
// itself: every rule is policy's.
package data

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/signoff-dev/signoff/evidence"
	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
)

// Me is the console's signer, as the keyring in force names them.
type Me struct {
	Feed     ledger.Feed
	Identity string   // from the keyring; the key's own claim if not in it
	Roles    []string // from the keyring
	Standing string   // why the keyring would not count them, or ""
}

// WhoAmI finds the signer of feed in the keyring in force at now.
func WhoAmI(trust *policy.Trust, feed ledger.Feed, claimed string, now time.Time) Me {
	me := Me{Feed: feed, Identity: claimed}
	probe := &ledger.Entry{Header: ledger.Header{Feed: feed, Time: now}}
	m, _, why := trust.Standing(probe, now)
	if m != nil {
		me.Identity, me.Roles = m.Identity, slices.Clone(m.Roles)
	}
	me.Standing = why
	return me
}

// Queue states, as a row shows them.
const (
	StateForYou   = "waiting for you"
	StatePartly   = "quorum partly met"
	StateWaiting  = "no sign-offs yet"
	StateGates    = "gates failing"
	StateApproved = "approved"
	StateBlocked  = "blocked"
)

// A Row is one open promotion request in the queue.
type Row struct {
	Subject   policy.Subject
	Tier      string
	Requested time.Time
	Requester string
	Pass      int // gates passing, re-evaluated
	Fail      int // gates failing or undefined
	Met       int // sign-offs counted
	Needed    int // sign-offs required
	Missing   string
	ForYou    bool
	State     string
	// Search is the lowercased text a filter matches.
	Search string
}

// LoadQueue reads every open request ([policy.OpenRequests], as signoff
// status does) and judges each by the verdict signoff verify gives,
// keeping the evaluated evidence in reports, sending rows in batches: the
// first batch goes as soon as it is judged, so the queue fills as it
// loads.
func LoadQueue(ctx context.Context, l *ledger.Ledger, trust *policy.Trust, reports *policy.Reports, me Me, now time.Time, batch func([]Row)) error {
	rows, sent := make([]Row, 0, 256), time.Now()
	err := policy.JudgeOpen(ctx, l, trust, reports, now, func(_ policy.OpenRequest, v *policy.Verdict, err error) error {
		if err != nil {
			return err
		}
		rows = append(rows, rowOf(v, me))
		if len(rows) == cap(rows) || time.Since(sent) > batchEvery {
			batch(rows)
			rows, sent = make([]Row, 0, 256), time.Now()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(rows) > 0 {
		batch(rows)
	}
	return nil
}

// batchEvery bounds how long judged rows wait to be shown.
const batchEvery = 100 * time.Millisecond

// rowOf summarises a verdict for the queue.
func rowOf(v *policy.Verdict, me Me) Row {
	r := Row{Subject: v.Subject, Tier: v.Tier}
	if len(v.Requests) > 0 {
		r.Requested, r.Requester = v.Requests[0].Time, v.Requests[0].Identity
	}
	for _, g := range v.Gates {
		if g.Status == policy.Pass {
			r.Pass++
		} else {
			r.Fail++
		}
	}
	var missing []string
	decided := false
	for _, q := range v.Requirements {
		r.Needed += q.Count
		r.Met += len(q.By)
		for _, s := range q.By {
			if s.Identity == me.Identity {
				decided = true
			}
		}
		if !q.Met {
			missing = append(missing, strings.TrimPrefix(q.Explanation, "needs "))
			if me.Standing == "" && slices.ContainsFunc(q.Roles, func(role string) bool { return slices.Contains(me.Roles, role) }) {
				r.ForYou = true
			}
		}
	}
	for _, rej := range v.Rejections {
		if rej.Identity == me.Identity {
			decided = true
		}
	}
	if decided || r.Requester == me.Identity {
		r.ForYou = false
	}
	if len(missing) > 0 {
		// The first clause of each: "1 more of {risk, compliance}".
		var short []string
		for _, m := range missing {
			first, _, _ := strings.Cut(m, ";")
			short = append(short, first)
		}
		r.Missing = strings.Join(short, ", ")
	}
	// The state follows the verdict (the same [policy.Judge] every surface
	// asks): approved when nothing stands in the way; blocked by a rejection that stands or a signer who
	// equivocated. A restriction blocks nothing by itself: it voids the
	// approvals before it, which the count of sign-offs shows.
	switch {
	case r.Fail > 0:
		r.State = StateGates
	case len(v.Reasons) == 0:
		r.State = StateApproved
	case len(v.Rejections) > 0 || len(v.Equivocations) > 0:
		r.State = StateBlocked
	case r.ForYou:
		r.State = StateForYou
	case r.Met > 0:
		r.State = StatePartly
	default:
		r.State = StateWaiting
	}
	r.Search = strings.ToLower(strings.Join([]string{v.Subject.Model, v.Subject.Version, v.Subject.From + "->" + v.Subject.To, v.Tier, r.State, r.Requester, v.Subject.Bundle}, " "))
	return r
}

// Sections of the review, in order: the policy's, whose names
// require_review_of uses.
var Sections = policy.Sections

var sectionTitles = map[string]string{
	"overview": "Overview", "card": "Model card", "metrics": "Metrics", "fairness": "Fairness", "evidence": "Evidence", "history": "History",
}

// SectionTitle is how the console names a section.
func SectionTitle(section string) string { return sectionTitles[section] }

// Review is what the review screen shows of one subject.
type Review struct {
	Verdict    *policy.Verdict
	Report     *evidence.Report
	Manifest   *evidence.Manifest
	Lock       *evidence.Lock
	Transition *policy.Transition
	History    []HistoryEntry
	Card       string // the card's text, for rendering
}

// A HistoryEntry is an entry about the subject, checked.
type HistoryEntry struct {
	Entry    *ledger.Entry
	Record   *policy.Record // nil if it does not read as one
	Signer   string         // as the keyring names them, or claimed
	Role     string
	Verified bool
	Why      string // why the keyring would not count it
}

// LoadReview reads everything the review screen shows of a subject: the
// full verdict (gates re-evaluated), the evidence from the ledger's blobs,
// and the signed history.
func LoadReview(l *ledger.Ledger, trust *policy.Trust, reports *policy.Reports, s policy.Subject, now time.Time) (*Review, error) {
	b, lock, closeFn, err := policy.OpenFromLedger(l, s.Bundle)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	report, err := reports.Evaluate(b, s.Bundle)
	if err != nil {
		return nil, err
	}
	v, err := policy.Judge(l, policy.Query{Bundle: s.Bundle, To: s.To, At: now, Anchor: trust.Anchor, Trust: trust, Reports: reports})
	if err != nil {
		return nil, err
	}
	rv := &Review{Verdict: v, Report: report, Manifest: b.Manifest, Lock: lock}
	if pol := trust.PolicyAt(now); pol != nil {
		rv.Transition, _ = pol.Doc.Policy.TransitionFor(b.Manifest.RiskTier, b.Manifest.Transition.String())
	}
	if b.Manifest.Card != "" {
		if data, err := b.ReadFile(b.Manifest.Card, evidence.MaxCard); err == nil {
			rv.Card = string(data)
		}
	}
	err = l.Entries(ledger.Query{Subject: s.Bundle}, func(e *ledger.Entry) error {
		h := HistoryEntry{Entry: e, Signer: e.Identity, Verified: e.Verify() == nil}
		if r, err := policy.ReadRecord(e); err == nil {
			h.Record, h.Role = r, r.Body.Role
		}
		if m, _, why := trust.Standing(e, now); m != nil {
			h.Signer, h.Why = m.Identity, why
		} else {
			h.Why = why
		}
		rv.History = append(rv.History, h)
		return nil
	})
	return rv, err
}
