package policy

import (
	"slices"
	"strings"
	"time"
)

// An invocation is one counted invocation of the emergency path: who, and
// when they signed it.
type invocation struct {
	identity string
	at       time.Time
}

// An episode is one use of the emergency path: from when enough people had
// invoked it, until it lapses, and the deadline of the incident review it
// owes.
type episode struct {
	start, end, deadline time.Time
}

// emergencyEpisodes forms episodes from invocations in signing order: an
// episode starts when e.Count distinct people have invoked the path since
// the last episode began, and lasts e.ValidFor; invocations within an
// episode under way add nothing. It also returns how many distinct people
// are gathering towards an episode not yet formed. A pure function.
func emergencyEpisodes(e *Emergency, invs []invocation) (eps []episode, gathering int) {
	var ids []string
	for _, inv := range invs {
		if n := len(eps); n > 0 && inv.at.Before(eps[n-1].end) && len(ids) == e.Count {
			continue // within the episode under way
		}
		if len(ids) == e.Count {
			ids = nil // the last episode ended: count afresh
		}
		if !slices.Contains(ids, inv.identity) {
			ids = append(ids, inv.identity)
		}
		if len(ids) == e.Count {
			start := inv.at.UTC()
			eps = append(eps, episode{start, start.Add(time.Duration(e.ValidFor)), start.Add(time.Duration(e.ReviewWithin))})
		}
	}
	if len(ids) < e.Count {
		gathering = len(ids)
	}
	return eps, gathering
}

// reviewOf finds the incident review that answers ep: the first signed
// at or after its start (reviews are in signing order). It reports
// whether there is one, and whether it came after the deadline.
func reviewOf(ep episode, reviews []time.Time) (reviewed, late bool) {
	for _, rt := range reviews {
		if !rt.Before(ep.start) {
			return true, rt.After(ep.deadline)
		}
	}
	return false, false
}

// emergency settles the emergency path and reports whether it lets the
// subject through now. Every episode's review is owed, even if a
// restriction has since voided the emergency itself.
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
	var invs []invocation
	for _, r := range invoked {
		m := j.who[r.Entry.ID]
		switch {
		case m == nil:
			j.warn("emergency %s does not count: %s", r.Entry.ID.Short(), j.why[r.Entry.ID])
			continue
		case !slices.Contains(e.Roles, r.Body.Role) || !m.HasRole(r.Body.Role):
			j.warn("emergency %s by %s does not count: it needs one of {%s}, held by the signer", r.Entry.ID.Short(), m.Identity, strings.Join(e.Roles, ", "))
			continue
		}
		st.Invoked = append(st.Invoked, j.signer(r, r.Body.Role))
		invs = append(invs, invocation{j.trust.Person(m.Identity), r.Entry.Time})
	}
	eps, gathering := emergencyEpisodes(e, invs)
	if len(eps) == 0 {
		j.warn("emergency invoked by %d of the %d it needs", gathering, e.Count)
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
		if m == nil || !slices.ContainsFunc(reviewRoles, m.HasRole) {
			j.warn("incident review %s does not count: it needs a signer in good standing holding one of {%s}", r.Entry.ID.Short(), strings.Join(reviewRoles, ", "))
			continue
		}
		reviews = append(reviews, r.Entry.Time)
		st.Reviews = append(st.Reviews, j.signer(r, ""))
	}
	for _, ep := range eps {
		reviewed, late := reviewOf(ep, reviews)
		if late {
			j.warn("the incident review of the emergency of %s came after its deadline %s", ep.start.Format(time.RFC3339), ep.deadline.Format(time.RFC3339))
		}
		if !reviewed && j.q.At.After(ep.deadline) {
			st.Overdue = true
			j.fail("not approved, incident review overdue: the emergency of %s owed a signed incident review by %s", ep.start.Format(time.RFC3339), ep.deadline.Format(time.RFC3339))
		}
	}
	last := eps[len(eps)-1]
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
