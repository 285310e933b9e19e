package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/signoff-dev/signoff/inert"
)

// A personsDecisions is one identity's decisions about a subject, in
// signing order: the last of them stands.
type personsDecisions struct {
	identity string
	records  []*Record
}

// standingOf groups decisions by the identity that signed them (one
// person with several keys is one identity), in the order each identity
// first decided. The last decision of each stands; the others are
// superseded. A pure function of records already in signing order.
func standingOf(recs []*Record, identity func(*Record) string) []personsDecisions {
	var out []personsDecisions
	at := map[string]int{}
	for _, r := range recs {
		id := identity(r)
		i, ok := at[id]
		if !ok {
			i = len(out)
			at[id] = i
			out = append(out, personsDecisions{identity: id})
		}
		out[i].records = append(out[i].records, r)
	}
	return out
}

// last is the decision that stands.
func (p personsDecisions) last() *Record { return p.records[len(p.records)-1] }

// trailingApprovals returns the approvals since the identity's last
// decision of another kind, newest first: those are the approvals that
// may count.
func (p personsDecisions) trailingApprovals() []*Record {
	var out []*Record
	for i := len(p.records) - 1; i >= 0 && p.records[i].Body.Verdict == Approve; i-- {
		out = append(out, p.records[i])
	}
	return out
}

// expiresAt returns when an approval signed at signed stops counting, and
// whether the transition lets approvals expire at all.
func (t *Transition) expiresAt(signed time.Time) (time.Time, bool) {
	if t.ApprovalValidFor <= 0 {
		return time.Time{}, false
	}
	return signed.Add(time.Duration(t.ApprovalValidFor)), true
}

// isAuthor reports whether identity is one of a bundle's authors; the
// manifest's spelling of an address may differ in case.
func isAuthor(authors []string, identity string) bool {
	return slices.ContainsFunc(authors, func(a string) bool { return strings.EqualFold(a, identity) })
}

// approvalWhyNot says why an approval by identity does not count, or ""
// if it does: signed before the version's latest restriction, expired,
// by an author or the requester where separation of duties forbids it,
// or without the review the policy requires. Each rule is one case.
func (j *judge) approvalWhyNot(r *Record, identity string, restrictedAt time.Time, requesters []string) string {
	tr, sod, signed := j.tr, j.tr.SoD(), r.Entry.Time
	expires, expiring := tr.expiresAt(signed)
	switch {
	case signed.Before(restrictedAt):
		return "approved before the restriction of " + restrictedAt.UTC().Format(time.RFC3339)
	case expiring && j.q.At.After(expires):
		return fmt.Sprintf("approval expired at %s (valid for %s)", expires.UTC().Format(time.RFC3339), time.Duration(tr.ApprovalValidFor))
	case !sod.AuthorsMayApprove && slices.ContainsFunc(j.trust.Aliases(identity), func(a string) bool { return isAuthor(j.m.Authors, a) }):
		return "is an author and cannot approve"
	case !sod.RequesterMayApprove && slices.Contains(requesters, identity):
		return "requested this promotion and cannot approve it"
	}
	if short := tr.ReviewShortfall(r.Body.Reviewed); len(short) > 0 {
		return "approved without the review the policy requires (" + strings.Join(short, "; ") + "): approve in the console (signoff review), which records what was opened and for how long"
	}
	return ""
}

// quorum settles the required sign-offs, unless an emergency waives them:
// each identity's standing decision, the rejections that block, the
// approvals that count, and who fills each requirement.
func (j *judge) quorum(requesters []string, restrictedAt time.Time, emergency bool) {
	tr := j.tr
	required := tr.RequiredRoles()
	var excluded []Exclusion
	exclude := func(r *Record, id, why string) {
		excluded = append(excluded, Exclusion{Identity: id, Role: r.Body.Role, Key: r.Entry.Feed.String(), Entry: r.Entry.ID.String(), Why: why})
	}
	var decisions []*Record
	for _, r := range j.recs {
		if !j.about(r, KindDecision) {
			continue
		}
		mem := j.who[r.Entry.ID]
		switch {
		case mem == nil:
			exclude(r, r.Entry.Identity, "not counted: "+j.why[r.Entry.ID])
		case !mem.HasRole(r.Body.Role):
			exclude(r, j.trust.Person(mem.Identity), fmt.Sprintf("signed as %s, a role the keyring does not give them (they hold %s)", r.Body.Role, strings.Join(mem.Roles, ", ")))
		default:
			decisions = append(decisions, r)
		}
	}
	var cands []quorumCandidate
	approvals := map[string]map[string]*Record{} // identity -> role -> the approval that counts
	for _, p := range standingOf(decisions, func(r *Record) string { return j.trust.Person(j.who[r.Entry.ID].Identity) }) {
		id, last := p.identity, p.last()
		j.v.Superseded += len(p.records) - 1
		j.v.Decisions = append(j.v.Decisions, Decided{Signer: j.signer(last, last.Body.Role), Verdict: last.Body.Verdict, Reason: last.Body.Reason, Ticket: last.Body.Ticket})
		if last.Body.Verdict != Approve {
			if !slices.Contains(required, last.Body.Role) {
				continue
			}
			if why := j.stillHolds(id, last.Body.Role); why != "" {
				j.warn("the %s by %s no longer blocks: %s", verdictNoun(last.Body.Verdict), id, why)
				continue
			}
			j.v.Rejections = append(j.v.Rejections, Decided{Signer: j.signer(last, last.Body.Role), Verdict: last.Body.Verdict, Reason: last.Body.Reason, Ticket: last.Body.Ticket})
			if !emergency {
				j.fail("%s by %s (%s) at %s blocks until they approve: %s", verdictNoun(last.Body.Verdict), id, last.Body.Role, last.Entry.Time.UTC().Format(time.RFC3339), inert.Cut(inert.Line(last.Body.Reason), 200))
			}
			continue
		}
		c := quorumCandidate{identity: id}
		roles := map[string]*Record{}
		for _, r := range p.trailingApprovals() {
			if why := j.approvalWhyNot(r, id, restrictedAt, requesters); why != "" {
				exclude(r, id, why)
				continue
			}
			if _, ok := roles[r.Body.Role]; !ok {
				roles[r.Body.Role] = r
				c.roles = append(c.roles, r.Body.Role)
			}
			if c.first.IsZero() || r.Entry.Time.Before(c.first) {
				c.first = r.Entry.Time
			}
		}
		if len(c.roles) > 0 {
			cands = append(cands, c)
			approvals[id] = roles
		}
	}
	sortCandidates(cands)
	seats := assignQuorum(tr.Require, cands)
	assigned := map[string]bool{}
	for i, req := range tr.Require {
		rs := RequirementStatus{Requirement: req.String(), Roles: req.Roles(), Count: req.Count, By: []Signer{}}
		for _, seat := range seats[i] {
			c := cands[seat.cand]
			r := approvals[c.identity][seat.role]
			rs.By = append(rs.By, j.signer(r, seat.role))
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
		rs.Explanation = j.explain(req, rs, cands, assigned)
		if len(rs.Excluded) > maxExcluded {
			rs.ExcludedMore = len(rs.Excluded) - maxExcluded
			rs.Excluded = rs.Excluded[:maxExcluded]
		}
		j.v.Requirements = append(j.v.Requirements, rs)
		if !rs.Met && !emergency {
			j.fail("%s", rs.Explanation)
		}
	}
	j.v.excluded, j.v.settled = excluded, true
}

func (j *judge) explain(req Requirement, rs RequirementStatus, cands []quorumCandidate, assigned map[string]bool) string {
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
		if !assigned[c.identity] || slices.ContainsFunc(rs.By, func(s Signer) bool { return s.Identity == c.identity }) {
			continue
		}
		if slices.ContainsFunc(req.Roles(), func(role string) bool { return slices.Contains(c.roles, role) }) {
			fmt.Fprintf(&b, "; %s already counts for another requirement (one person counts once)", c.identity)
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

// verdictNoun names a decision that is not an approval.
func verdictNoun(v string) string {
	if v == Reject {
		return "rejection"
	}
	return "request for changes"
}

// stillHolds says why person no longer holds role by the keyring in force
// at the time judged, under any of their names, or "" if they do: a
// rejection blocks only while its signer could also lift it.
func (j *judge) stillHolds(person, role string) string {
	k := j.trust.KeyringAt(j.q.At)
	why := fmt.Sprintf("keyring version %d no longer lists them", k.Version)
	for _, id := range j.trust.Aliases(person) {
		m, ok := k.Doc.Keyring.Member(id)
		switch {
		case !ok:
		case !m.HasRole(role):
			why = fmt.Sprintf("keyring version %d no longer gives them the role %s", k.Version, role)
		case m.RevokedAt != nil && !j.q.At.Before(*m.RevokedAt):
			why = fmt.Sprintf("keyring version %d revoked them at %s", k.Version, m.RevokedAt.UTC().Format(time.RFC3339))
		default:
			return "" // an expired membership does not lift a rejection
		}
	}
	return why
}
