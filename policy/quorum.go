package policy

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// A quorumCandidate is one person whose approvals may count: the roles
// they hold an approval in that counts, and when the first of those was
// signed.
type quorumCandidate struct {
	identity string
	first    time.Time
	roles    []string
}

// A quorumSeat is one sign-off a requirement got: which candidate, in
// which role.
type quorumSeat struct {
	cand int // index in the candidates given
	role string
}

// assignQuorum fills the requirements' sign-offs with distinct people:
// each requirement wants Count people holding an approval in one of its
// roles, and one person fills at most one sign-off in all, whatever their
// roles and keys. It finds as many sign-offs as any assignment can (a
// maximum matching of people to sign-offs); among those, earlier
// approvers are preferred, in the order candidates are given. It is a
// pure function: it returns, per requirement, the seats filled.
func assignQuorum(reqs []Requirement, cands []quorumCandidate) [][]quorumSeat {
	type slot struct{ req int }
	var slots []slot
	for i, r := range reqs {
		for range r.Count {
			slots = append(slots, slot{i})
		}
	}
	accepts := func(s slot, c quorumCandidate) string {
		for _, role := range reqs[s.req].Roles() {
			if slices.Contains(c.roles, role) {
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
	out := make([][]quorumSeat, len(reqs))
	for si, s := range slots {
		if owner[si] == 0 {
			continue
		}
		ci := owner[si] - 1
		out[s.req] = append(out[s.req], quorumSeat{cand: ci, role: accepts(s, cands[ci])})
	}
	return out
}

// sortCandidates orders candidates as [assignQuorum] prefers them: the
// earliest first approval first, then by identity.
func sortCandidates(cs []quorumCandidate) {
	slices.SortFunc(cs, func(a, b quorumCandidate) int {
		return cmp.Or(a.first.Compare(b.first), strings.Compare(a.identity, b.identity))
	})
}
