package policy

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signoff-dev/signoff/ledger"
)

// The verdict's rules, each in a table: every rule has a case that the
// verdict gets wrong when the rule's line is taken out.

// rulesPolicy is the determinism tests' policy with options: extra lines
// for the transition (separation_of_duties, require_review_of).
func rulesPolicy(extra string) string {
	return vtPolicy("720h") + "        emergency: {roles: [mlops], count: 1, valid_for: 24h, review_within: 48h}\n" + extra
}

// newRules is a world like newTTSetup's, with the policy given, more
// people (an author, a person holding two roles, a stranger) and the
// owner's request at day 0 + 1h.
func newRules(t *testing.T, policyText string) *ttSetup {
	t.Helper()
	w := newVTWorld(t)
	st := &ttSetup{w: w, f: newVTFeeds(t), admin: w.admin, keys: map[string][]ledger.Signer{}, roles: map[string][]string{
		"owner@example.com": {"model-owner"}, "mo@example.com": {"model-owner"}, "r1@example.com": {"risk"},
		"r2@example.com": {"risk"}, "c1@example.com": {"compliance"}, "ops@example.com": {"mlops"},
		"author@example.com": {"compliance"}, "both@example.com": {"model-owner", "risk"},
	}}
	for id := range st.roles {
		st.keys[id] = []ledger.Signer{vtSigner(t, id+"/a", id), vtSigner(t, id+"/b", id)}
	}
	st.keys["evil@example.com"] = []ledger.Signer{vtSigner(t, "evil/a", "evil@example.com")}
	st.day = func(d float64) time.Time { return w.t0.Add(time.Duration(d * float64(24*time.Hour))) }
	st.root = ttAdopt(t, st.f, st.admin, ttRoot(1, []ledger.Signer{st.admin}, ""), st.day(0))
	ttAdopt(t, st.f, st.admin, ttKeyring(1, st.roles, st.keys, ""), st.day(0).Add(time.Second))
	ttAdopt(t, st.f, st.admin, policyText, st.day(0).Add(2*time.Second))
	return st
}

// decide signs id's decision with their key k and the sections reviewed.
func (st *ttSetup) decide(t *testing.T, id string, k int, verdict, role string, at time.Time, reviewed ...Reviewed) {
	t.Helper()
	s := st.w.subj
	b := &Body{Subject: &s, Verdict: verdict, Role: role, Reason: "because", Reviewed: reviewed}
	st.f.sign(st.keys[id][k], KindDecision, indexOf(KindDecision, s), b.Marshal(), at)
}

// note signs a record of kind by id (request, restrict, promote,
// deprecate, emergency, incident-review).
func (st *ttSetup) note(t *testing.T, id, kind, role string, at time.Time) {
	t.Helper()
	st.record(t, id, 0, kind, "", role, at)
}

// fullReview is a review record that meets any policy of these tests.
var fullReview = []Reviewed{{"overview", 60}, {"card", 300}, {"metrics", 300}, {"fairness", 120}, {"evidence", 60}}

func TestRules(t *testing.T) {
	review := "        require_review_of: [card, {metrics: 2m}]\n"
	for _, tc := range []struct {
		name     string
		policy   string
		steps    func(t *testing.T, st *ttSetup)
		at       float64 // the day judged
		approved bool
		want     string // in a reason or warning
	}{
		{"all approve", "", func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.approveAll(t, st.day(1))
		}, 2, true, ""},
		{"no request: nothing to approve", "", func(t *testing.T, st *ttSetup) {
			st.approveAll(t, st.day(1))
		}, 2, false, "no one in the keyring has requested"},
		{"a stranger's request does not open it", "", func(t *testing.T, st *ttSetup) {
			st.note(t, "evil@example.com", KindRequest, "", st.day(0.1))
			st.approveAll(t, st.day(1))
		}, 2, false, "no one in the keyring has requested"},
		{"the latest decision stands: approve, then reject", "", func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.approveAll(t, st.day(1))
			st.decide(t, "r1@example.com", 0, Reject, "risk", st.day(1.5))
		}, 2, false, "rejection by r1@example.com (risk)"},
		{"the latest decision stands: reject, then approve", "", func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.decide(t, "r1@example.com", 0, Reject, "risk", st.day(0.5))
			st.approveAll(t, st.day(1))
		}, 2, true, ""},
		{"a person's two keys are one person", "", func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.decide(t, "mo@example.com", 0, Approve, "model-owner", st.day(1))
			st.decide(t, "r1@example.com", 0, Approve, "risk", st.day(1))
			st.decide(t, "r1@example.com", 1, Approve, "risk", st.day(1.1))
		}, 2, false, "needs 1 more of {risk, compliance}"},
		{"a rejection by a role not required does not block", "", func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.decide(t, "ops@example.com", 0, Reject, "mlops", st.day(0.5))
			st.approveAll(t, st.day(1))
		}, 2, true, ""},
		{"a rejection in a role not held does not block", "", func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.decide(t, "ops@example.com", 0, Reject, "risk", st.day(0.5))
			st.approveAll(t, st.day(1))
		}, 2, true, ""},
		{"an approval in a role not held does not count", "", func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.decide(t, "mo@example.com", 0, Approve, "model-owner", st.day(1))
			st.decide(t, "r1@example.com", 0, Approve, "risk", st.day(1))
			st.decide(t, "ops@example.com", 0, Approve, "compliance", st.day(1))
		}, 2, false, "a role the keyring does not give them"},
		{"a stranger's approval does not count", "", func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.decide(t, "mo@example.com", 0, Approve, "model-owner", st.day(1))
			st.decide(t, "r1@example.com", 0, Approve, "risk", st.day(1))
			st.decide(t, "evil@example.com", 0, Approve, "risk", st.day(1))
		}, 2, false, "not in keyring version 1"},
		{"one person fills one sign-off", "", func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.decide(t, "both@example.com", 0, Approve, "model-owner", st.day(1))
			st.decide(t, "both@example.com", 0, Approve, "risk", st.day(1.01))
			st.decide(t, "c1@example.com", 0, Approve, "compliance", st.day(1.1))
		}, 2, false, "needs 1 more of {risk, compliance}"},
		{"sign-offs are matched to people, not taken greedily", "", func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.decide(t, "both@example.com", 0, Approve, "model-owner", st.day(0.9))
			st.decide(t, "both@example.com", 0, Approve, "risk", st.day(0.91))
			st.decide(t, "mo@example.com", 0, Approve, "model-owner", st.day(1))
			st.decide(t, "c1@example.com", 0, Approve, "compliance", st.day(1.1))
		}, 2, true, ""},
		{"a restriction voids the approvals before it", "", func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.approveAll(t, st.day(1))
			st.note(t, "ops@example.com", KindRestrict, "", st.day(1.5))
		}, 2, false, "approved before the restriction"},
		{"approvals after a restriction count", "", func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.note(t, "ops@example.com", KindRestrict, "", st.day(0.5))
			st.approveAll(t, st.day(1))
		}, 2, true, ""},
		{"a stranger's restriction does not count", "", func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.approveAll(t, st.day(1))
			st.note(t, "evil@example.com", KindRestrict, "", st.day(1.5))
		}, 2, true, "restriction"},
		{"approvals expire", "", func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.approveAll(t, st.day(1))
		}, 31.1, false, "approval expired at"},
		{"an approval counts up to its expiry", "", func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.approveAll(t, st.day(1))
		}, 30.999, true, ""},
		{"an author may not approve", "", func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.decide(t, "mo@example.com", 0, Approve, "model-owner", st.day(1))
			st.decide(t, "r1@example.com", 0, Approve, "risk", st.day(1))
			st.decide(t, "author@example.com", 0, Approve, "compliance", st.day(1))
		}, 2, false, "author@example.com is an author and cannot approve"},
		{"an author may approve where the policy allows", "        separation_of_duties: {authors_may_approve: true}\n", func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.decide(t, "mo@example.com", 0, Approve, "model-owner", st.day(1))
			st.decide(t, "r1@example.com", 0, Approve, "risk", st.day(1))
			st.decide(t, "author@example.com", 0, Approve, "compliance", st.day(1))
		}, 2, true, ""},
		{"the requester may not approve", "", func(t *testing.T, st *ttSetup) {
			st.note(t, "mo@example.com", KindRequest, "", st.day(0.1))
			st.approveAll(t, st.day(1))
		}, 2, false, "mo@example.com requested this promotion and cannot approve it"},
		{"the requester may approve where the policy allows", "        separation_of_duties: {requester_may_approve: true}\n", func(t *testing.T, st *ttSetup) {
			st.note(t, "mo@example.com", KindRequest, "", st.day(0.1))
			st.approveAll(t, st.day(1))
		}, 2, true, ""},
		{"an approval without the review required does not count", review, func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.decide(t, "mo@example.com", 0, Approve, "model-owner", st.day(1), fullReview...)
			st.decide(t, "r1@example.com", 0, Approve, "risk", st.day(1))
			st.decide(t, "c1@example.com", 0, Approve, "compliance", st.day(1), fullReview...)
		}, 2, false, "r1@example.com approved without the review the policy requires (card not opened; metrics not opened)"},
		{"a section open less than its minimum was not reviewed", review, func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.decide(t, "mo@example.com", 0, Approve, "model-owner", st.day(1), fullReview...)
			st.decide(t, "r1@example.com", 0, Approve, "risk", st.day(1), Reviewed{"card", 30}, Reviewed{"metrics", 119})
			st.decide(t, "c1@example.com", 0, Approve, "compliance", st.day(1), fullReview...)
		}, 2, false, "metrics open 119s of the 2m0s required"},
		{"a section open for 0 seconds was not reviewed", review, func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.decide(t, "mo@example.com", 0, Approve, "model-owner", st.day(1), fullReview...)
			st.decide(t, "r1@example.com", 0, Approve, "risk", st.day(1), Reviewed{"card", 0}, Reviewed{"metrics", 200})
			st.decide(t, "c1@example.com", 0, Approve, "compliance", st.day(1), fullReview...)
		}, 2, false, "card open 0s of the 1s required"},
		{"approvals with the review required count", review, func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.decide(t, "mo@example.com", 0, Approve, "model-owner", st.day(1), Reviewed{"card", 1}, Reviewed{"metrics", 120})
			st.decide(t, "r1@example.com", 0, Approve, "risk", st.day(1), fullReview...)
			st.decide(t, "c1@example.com", 0, Approve, "compliance", st.day(1), fullReview...)
		}, 2, true, ""},
		{"a rejection blocks without a review", review, func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.decide(t, "mo@example.com", 0, Approve, "model-owner", st.day(1), fullReview...)
			st.decide(t, "r2@example.com", 0, Approve, "risk", st.day(1), fullReview...)
			st.decide(t, "c1@example.com", 0, Approve, "compliance", st.day(1), fullReview...)
			st.decide(t, "r1@example.com", 0, Reject, "risk", st.day(1.2))
		}, 2, false, "rejection by r1@example.com"},
		{"a rejection no longer blocks once its signer loses the role", "", func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.decide(t, "r2@example.com", 0, Reject, "risk", st.day(0.5))
			st.approveAll(t, st.day(1))
			roles := map[string][]string{}
			for id, rs := range st.roles {
				if id != "r2@example.com" {
					roles[id] = rs
				}
			}
			ttAdopt(t, st.f, st.admin, ttKeyring(2, roles, st.keys, ""), st.day(1.5))
		}, 2, true, "no longer blocks"},
		{"an emergency waives the sign-offs while it lasts", "", func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.note(t, "ops@example.com", KindEmergency, "mlops", st.day(1))
		}, 1.5, true, ""},
		{"an emergency ends", "", func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.note(t, "ops@example.com", KindEmergency, "mlops", st.day(1))
			st.note(t, "r1@example.com", KindIncidentReview, "", st.day(1.5))
		}, 2.1, false, "the usual sign-offs apply"},
		{"an emergency owes its incident review", "", func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.note(t, "ops@example.com", KindEmergency, "mlops", st.day(1))
			st.approveAll(t, st.day(2.5))
		}, 3.1, false, "incident review overdue"},
		{"an emergency by someone outside its roles does not count", "", func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.note(t, "r1@example.com", KindEmergency, "risk", st.day(1))
		}, 1.5, false, "needs 1 more of {model-owner}"},
		{"an emergency before a restriction does not count", "", func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.note(t, "ops@example.com", KindEmergency, "mlops", st.day(1))
			st.note(t, "r1@example.com", KindRestrict, "", st.day(1.2))
		}, 1.5, false, "predates the restriction"},
		{"an emergency needs the policy's count of people", "        emergency: {roles: [mlops, risk], count: 2, valid_for: 24h, review_within: 48h}\n", func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.note(t, "ops@example.com", KindEmergency, "mlops", st.day(1))
			st.record(t, "ops@example.com", 1, KindEmergency, "", "mlops", st.day(1.1))
		}, 1.5, false, "emergency invoked by 1 of the 2 it needs"},
		{"an emergency by the count of people", "        emergency: {roles: [mlops, risk], count: 2, valid_for: 24h, review_within: 48h}\n", func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.note(t, "ops@example.com", KindEmergency, "mlops", st.day(1))
			st.note(t, "r1@example.com", KindEmergency, "risk", st.day(1.1))
		}, 1.5, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pol := rulesPolicy(tc.policy)
			if strings.Contains(tc.policy, "emergency:") {
				pol = vtPolicy("720h") + tc.policy
			}
			st := newRules(t, pol)
			tc.steps(t, st)
			wantReason(t, st.judge(t, st.day(tc.at)), tc.approved, tc.want)
		})
	}
}

// TestForkedKeyCountsForNothing: a key that signed two entries at one
// place in its feed counts for nothing it signs, and while the keyring
// lists it the verdict fails with the evidence.
func TestForkedKeyCountsForNothing(t *testing.T) {
	st := newRules(t, rulesPolicy(""))
	st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
	st.approveAll(t, st.day(1))
	st.decide(t, "r2@example.com", 0, Approve, "risk", st.day(1))
	// r1 signs a second entry at the seq of their approval.
	k := st.keys["r1@example.com"][1]
	feed := ledger.FeedOf(k.PublicKey().Marshal())
	head := st.f.heads[feed]
	e, err := ledger.SignEntry(k, ledger.Header{Kind: "comment", Seq: head.Seq, Prev: head.Prev, Time: head.Time, Body: []byte(`{"text":"fork"}`)})
	if err != nil {
		t.Fatal(err)
	}
	st.f.lines[feed] = append(st.f.lines[feed], e.MarshalLine())
	v := st.judge(t, st.day(2))
	wantReason(t, v, false, "equivocation: r1@example.com's key")
	if len(v.Equivocations) != 1 {
		t.Fatalf("equivocations: %v", v.Equivocations)
	}
	for _, q := range v.Requirements {
		for _, by := range q.By {
			if by.Identity == "r1@example.com" {
				t.Fatalf("r1's approval counts from a forked key: %+v", q)
			}
		}
	}
}

// TestForkEvidenceAfterAnEarlierRecord: the fork evidence of a key in
// standing is found even when the first record its feed signed about the
// subject was not in standing (signed before the keyring listed it).
func TestForkEvidenceAfterAnEarlierRecord(t *testing.T) {
	st := newRules(t, rulesPolicy(""))
	st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
	st.decide(t, "r1@example.com", 1, Reject, "risk", st.day(-1)) // before any keyring
	st.approveAll(t, st.day(1))
	k := st.keys["r1@example.com"][1]
	feed := ledger.FeedOf(k.PublicKey().Marshal())
	head := st.f.heads[feed]
	e, err := ledger.SignEntry(k, ledger.Header{Kind: "comment", Seq: head.Seq, Prev: head.Prev, Time: head.Time, Body: []byte(`{"text":"fork"}`)})
	if err != nil {
		t.Fatal(err)
	}
	st.f.lines[feed] = append(st.f.lines[feed], e.MarshalLine())
	v := st.judge(t, st.day(2))
	wantReason(t, v, false, "equivocation: r1@example.com's key")
	if len(v.Equivocations) != 1 {
		t.Fatalf("equivocations: %v", v.Equivocations)
	}
}

func TestAssignQuorum(t *testing.T) {
	owner, either := Requirement{Role: "model-owner", Count: 1}, Requirement{AnyOf: []string{"risk", "compliance"}, Count: 2}
	c := func(id string, roles ...string) quorumCandidate { return quorumCandidate{identity: id, roles: roles} }
	for _, tc := range []struct {
		name  string
		reqs  []Requirement
		cands []quorumCandidate
		want  [][]string // per requirement, identity:role filled
	}{
		{"each to their role", []Requirement{owner, either}, []quorumCandidate{c("a", "model-owner"), c("b", "risk"), c("d", "compliance")},
			[][]string{{"a:model-owner"}, {"b:risk", "d:compliance"}}},
		{"one person fills one seat", []Requirement{owner, either}, []quorumCandidate{c("a", "model-owner", "risk"), c("b", "risk")},
			[][]string{{"a:model-owner"}, {"b:risk"}}},
		{"a maximum matching, not the first fit", []Requirement{owner, either}, []quorumCandidate{c("a", "model-owner", "risk"), c("b", "model-owner"), c("d", "compliance")},
			[][]string{{"b:model-owner"}, {"a:risk", "d:compliance"}}},
		{"earlier candidates are preferred", []Requirement{owner}, []quorumCandidate{c("a", "model-owner"), c("b", "model-owner")},
			[][]string{{"a:model-owner"}}},
		{"nobody", []Requirement{owner, either}, nil, [][]string{nil, nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seats := assignQuorum(tc.reqs, tc.cands)
			var got [][]string
			for _, ss := range seats {
				var row []string
				for _, s := range ss {
					row = append(row, tc.cands[s.cand].identity+":"+s.role)
				}
				slices.Sort(row)
				got = append(got, row)
			}
			for i := range tc.want {
				slices.Sort(tc.want[i])
			}
			if !slices.EqualFunc(got, tc.want, slices.Equal) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestEmergencyEpisodes(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := func(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Hour))) }
	one := &Emergency{Count: 1, ValidFor: Duration(24 * time.Hour), ReviewWithin: Duration(48 * time.Hour)}
	two := &Emergency{Count: 2, ValidFor: Duration(24 * time.Hour), ReviewWithin: Duration(48 * time.Hour)}
	for _, tc := range []struct {
		name      string
		e         *Emergency
		invs      []invocation
		starts    []float64
		gathering int
	}{
		{"one invocation, one episode", one, []invocation{{"a", h(1)}}, []float64{1}, 0},
		{"invoked again within it: still one", one, []invocation{{"a", h(1)}, {"b", h(5)}}, []float64{1}, 0},
		{"invoked again after it: two", one, []invocation{{"a", h(1)}, {"a", h(30)}}, []float64{1, 30}, 0},
		{"two people needed, one came", two, []invocation{{"a", h(1)}}, nil, 1},
		{"the same person twice is one", two, []invocation{{"a", h(1)}, {"a", h(2)}}, nil, 1},
		{"two people", two, []invocation{{"a", h(1)}, {"b", h(3)}}, []float64{3}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eps, gathering := emergencyEpisodes(tc.e, tc.invs)
			var starts []float64
			for _, ep := range eps {
				starts = append(starts, ep.start.Sub(t0).Hours())
				if ep.end.Sub(ep.start) != 24*time.Hour || ep.deadline.Sub(ep.start) != 48*time.Hour {
					t.Errorf("episode %v: end or deadline wrong", ep)
				}
			}
			if !slices.Equal(starts, tc.starts) || gathering != tc.gathering {
				t.Errorf("starts %v gathering %d, want %v %d", starts, gathering, tc.starts, tc.gathering)
			}
		})
	}
	ep := episode{h(1), h(25), h(49)}
	for _, tc := range []struct {
		name           string
		reviews        []time.Time
		reviewed, late bool
	}{
		{"none", nil, false, false},
		{"before the episode does not answer it", []time.Time{h(0.5)}, false, false},
		{"in time", []time.Time{h(10)}, true, false},
		{"late", []time.Time{h(50)}, true, true},
	} {
		if r, l := reviewOf(ep, tc.reviews); r != tc.reviewed || l != tc.late {
			t.Errorf("%s: reviewed %v late %v", tc.name, r, l)
		}
	}
}

func TestStandingOf(t *testing.T) {
	rec := func(id, verdict string) *Record {
		return &Record{Entry: &ledger.Entry{Header: ledger.Header{Identity: id}}, Body: &Body{Verdict: verdict}}
	}
	recs := []*Record{rec("a", Approve), rec("b", Reject), rec("a", Reject), rec("b", Approve), rec("b", Approve)}
	ps := standingOf(recs, func(r *Record) string { return r.Entry.Identity })
	if len(ps) != 2 || ps[0].identity != "a" || ps[1].identity != "b" {
		t.Fatalf("people: %+v", ps)
	}
	if ps[0].last().Body.Verdict != Reject || ps[1].last().Body.Verdict != Approve {
		t.Errorf("standing: a %s, b %s", ps[0].last().Body.Verdict, ps[1].last().Body.Verdict)
	}
	if n := len(ps[1].trailingApprovals()); n != 2 {
		t.Errorf("b's approvals since their rejection: %d, want 2", n)
	}
	if n := len(ps[0].trailingApprovals()); n != 0 {
		t.Errorf("a's approvals since their rejection: %d, want 0", n)
	}
}

func TestReviewShortfall(t *testing.T) {
	tr := &Transition{RequireReviewOf: []ReviewRequirement{{Section: "card"}, {Section: "metrics", Min: Duration(2 * time.Minute)}}}
	for _, tc := range []struct {
		reviewed []Reviewed
		want     string
	}{
		{nil, "card not opened; metrics not opened"},
		{[]Reviewed{{"card", 1}, {"metrics", 120}}, ""},
		{[]Reviewed{{"card", 0}, {"metrics", 120}}, "card open 0s of the 1s required"},
		{[]Reviewed{{"card", 5}, {"metrics", 60}, {"metrics", 60}}, ""},
		{[]Reviewed{{"card", 5}, {"metrics", 100}}, "metrics open 100s of the 2m0s required"},
		{[]Reviewed{{"history", 500}}, "card not opened; metrics not opened"},
	} {
		if got := strings.Join(tr.ReviewShortfall(tc.reviewed), "; "); got != tc.want {
			t.Errorf("ReviewShortfall(%v) = %q, want %q", tc.reviewed, got, tc.want)
		}
	}
	if (&Transition{}).RequiresReview() || len((&Transition{}).ReviewShortfall(nil)) > 0 {
		t.Error("a transition without require_review_of requires a review")
	}
}

func TestParseReviewRequirement(t *testing.T) {
	base := "version: 1\ntiers:\n  high:\n    transitions:\n      staging->production:\n        require: [{role: risk, count: 1}]\n"
	p, err := Parse("policy.yaml", []byte(base+"        require_review_of: [card, {metrics: 2m}, {fairness: 30s}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := p.TransitionFor("high", "staging->production")
	want := []ReviewRequirement{{"card", 0}, {"metrics", Duration(2 * time.Minute)}, {"fairness", Duration(30 * time.Second)}}
	if !slices.Equal(tr.RequireReviewOf, want) {
		t.Errorf("require_review_of = %v, want %v", tr.RequireReviewOf, want)
	}
	for _, bad := range []struct{ text, want string }{
		{"[{metrics: soon}]", `duration "soon"`},
		{"[{vibes: 2m}]", `"vibes" is not one of`},
		{"[card, card]", "card is named twice"},
		{"[[card]]", "write a section (card) or a section and its minimum time"},
	} {
		_, err := Parse("policy.yaml", []byte(base+"        require_review_of: "+bad.text+"\n"))
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("require_review_of: %s: error %v, want %q", bad.text, err, bad.want)
		}
	}
}

func TestNextVersion(t *testing.T) {
	for _, tc := range []struct {
		cur, version int
		want         string
	}{
		{0, 1, ""},
		{0, 2, "the first must be version 1, not 2"},
		{1, 2, ""},
		{3, 3, "versions only go up: the next must be version 4, not 3"},
		{3, 1, "versions only go up"},
		{3, 5, "versions go up by one: the next must be version 4, not 5"},
	} {
		got := NextVersion(tc.cur, KindKeyring, tc.version)
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("NextVersion(%d, keyring, %d) = %q, want %q", tc.cur, tc.version, got, tc.want)
		}
	}
}

func TestDeadDocuments(t *testing.T) {
	st := newRules(t, rulesPolicy(""))
	ttAdopt(t, st.f, st.admin, ttKeyring(3, st.roles, st.keys, ""), st.day(1))
	l := st.w.ledgerOf(t, st.f, rand.New(rand.NewPCG(1, 2)))
	tr, err := LoadTrust(l, st.root.Digest, st.day(2))
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Pending) != 0 || len(tr.Dead) != 1 || !strings.Contains(tr.Dead[0].Why, "the next must be version 2, not 3") {
		t.Fatalf("pending %v, never in force %v", tr.Pending, tr.Dead)
	}
	kr3, _ := ParseDocument("k", []byte(ttKeyring(3, st.roles, st.keys, "")))
	if err := tr.CheckAdoption(kr3); err == nil || !strings.Contains(err.Error(), "the next must be version 2, not 3") {
		t.Errorf("CheckAdoption(keyring v3) = %v", err)
	}
	kr1, _ := ParseDocument("k", []byte(ttKeyring(1, st.roles, st.keys, "")))
	if err := tr.CheckAdoption(kr1); err == nil || !strings.Contains(err.Error(), ErrAlreadyInForce.Error()) {
		t.Errorf("CheckAdoption(keyring v1 in force) = %v", err)
	}
	if err := (*Trust)(nil).CheckAdoption(kr1); err != nil {
		t.Errorf("CheckAdoption of a first keyring v1 before a root is in force = %v", err)
	}
	if err := (*Trust)(nil).CheckAdoption(kr3); err == nil || !strings.Contains(err.Error(), "the first must be version 1, not 3") {
		t.Errorf("CheckAdoption of a first keyring v3 = %v", err)
	}
	first2, _ := ParseDocument("r", []byte(ttRoot(2, []ledger.Signer{st.admin}, "")))
	if err := (*Trust)(nil).CheckAdoption(first2); err == nil || !strings.Contains(err.Error(), "the first must be version 1") {
		t.Errorf("CheckAdoption of a first root v2 = %v", err)
	}
}

func TestNearest(t *testing.T) {
	stages := []string{"staging", "production", "canary"}
	for in, want := range map[string]string{"prod": "production", "stagin": "staging", "Production": "production", "canry": "canary", "qa": "", "": ""} {
		if got := nearest(in, stages); got != want {
			t.Errorf("nearest(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOpenRequests(t *testing.T) {
	st := newRules(t, rulesPolicy(""))
	other := st.w.subj
	other.Bundle = "sha256:" + strings.Repeat("ab", 32)
	sign := func(id, kind string, s Subject, at time.Time) {
		b := &Body{Subject: &s, Reason: "because"}
		if kind == KindRequest {
			b.Reason, b.Tier, b.Change = "", "high", "standard"
		}
		if kind == KindDeprecate {
			s.From, s.To = "", ""
		}
		st.f.sign(st.keys[id][0], kind, indexOf(kind, s), b.Marshal(), at)
	}
	v8 := st.w.subj
	v8.Version, v8.Bundle = "8", "sha256:"+strings.Repeat("cd", 32)
	v9 := v8
	v9.Version, v9.Bundle = "9", "sha256:"+strings.Repeat("ef", 32)
	sign("owner@example.com", KindRequest, st.w.subj, st.day(0.1))
	sign("mo@example.com", KindRequest, st.w.subj, st.day(0.2)) // again
	sign("owner@example.com", KindRequest, other, st.day(0.3))
	sign("r1@example.com", KindPromote, other, st.day(0.4)) // closes other
	sign("owner@example.com", KindRequest, v8, st.day(0.5))
	sign("r1@example.com", KindDeprecate, v8, st.day(0.6)) // closes v8
	sign("evil@example.com", KindRequest, v9, st.day(0.7)) // a stranger's: never open
	sign("owner@example.com", KindRequest, v9, st.day(5))  // after the time judged
	l := st.w.ledgerOf(t, st.f, rand.New(rand.NewPCG(1, 2)))
	tr, err := LoadTrust(l, st.root.Digest, st.day(1))
	if err != nil {
		t.Fatal(err)
	}
	open, err := OpenRequests(l, tr, st.day(1))
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 || open[0].Subject != st.w.subj {
		t.Fatalf("open requests: %+v", open)
	}
	if o := open[0]; o.Requested.Identity != "owner@example.com" || len(o.Again) != 1 || o.Again[0].Identity != "mo@example.com" || o.Tier != "high" {
		t.Errorf("the open request: %+v", o)
	}

	// The registry: each version's stage follows from its records, and
	// says which.
	vs, err := Status(l, tr, st.day(1))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*VersionStatus{}
	for _, v := range vs {
		got[v.Version] = v
	}
	if len(vs) != 2 || got["9"] != nil {
		t.Fatalf("versions: %v (a stranger's version 9 must not show)", vs)
	}
	if v := got["7"]; v.Stage != "production" || !strings.Contains(v.StageWhy, "promoted to production by r1@example.com") || len(v.Pending) != 1 {
		t.Errorf("version 7: stage %q (%s), %d pending", v.Stage, v.StageWhy, len(v.Pending))
	}
	if v := got["8"]; v.Stage != "deprecated" || v.Deprecated == nil || len(v.Pending) != 0 {
		t.Errorf("version 8: stage %q, pending %v", v.Stage, v.Pending)
	}
}

func TestStatusStageAndStandingDecisions(t *testing.T) {
	st := newRules(t, rulesPolicy(""))
	st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
	st.decide(t, "r1@example.com", 0, Approve, "risk", st.day(0.5))
	st.decide(t, "r1@example.com", 1, Reject, "risk", st.day(0.6)) // the same person, their other key
	st.decide(t, "c1@example.com", 0, Approve, "compliance", st.day(0.7))
	l := st.w.ledgerOf(t, st.f, rand.New(rand.NewPCG(1, 2)))
	tr, err := LoadTrust(l, st.root.Digest, st.day(1))
	if err != nil {
		t.Fatal(err)
	}
	vs, err := Status(l, tr, st.day(1))
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || len(vs[0].Pending) != 1 {
		t.Fatalf("status: %+v", vs)
	}
	v, p := vs[0], vs[0].Pending[0]
	if v.Stage != "staging" || !strings.Contains(v.StageWhy, "no promotion is recorded; owner@example.com's request") {
		t.Errorf("stage %q: %s", v.Stage, v.StageWhy)
	}
	if p.Approvals != 1 || p.Rejections != 1 || p.Superseded != 1 || p.Approved {
		t.Errorf("approvals %d rejections %d superseded %d approved %v", p.Approvals, p.Rejections, p.Superseded, p.Approved)
	}
	if !slices.ContainsFunc(p.Reasons, func(r string) bool { return strings.Contains(r, "rejection by r1@example.com") }) {
		t.Errorf("reasons %q", p.Reasons)
	}
}

// TestSigningRefusesWhatWouldNotCount: the CLI and the console sign
// through Decide and Request, which ask the verdict's own rules first.
func TestSigningRefusesWhatWouldNotCount(t *testing.T) {
	st := newRules(t, rulesPolicy("        require_review_of: [card, {metrics: 2m}]\n"))
	st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
	l := st.w.ledgerOf(t, st.f, rand.New(rand.NewPCG(1, 2)))
	now := st.day(1)
	d := Decision{Subject: st.w.subj, Verdict: Approve, Role: "risk", Reason: "looks fine"}
	_, err := Decide(l, st.keys["r1@example.com"][0], d, st.root.Digest, now)
	if err == nil || !strings.Contains(err.Error(), "this approval would not count: r1@example.com approved without the review the policy requires (card not opened; metrics not opened)") {
		t.Fatalf("a rubber stamp: %v", err)
	}
	d.Reviewed = []Reviewed{{"card", 30}, {"metrics", 10}}
	if _, err := Decide(l, st.keys["r1@example.com"][0], d, st.root.Digest, now); err == nil || !strings.Contains(err.Error(), "metrics open 10s of the 2m0s required") {
		t.Fatalf("too short a review: %v", err)
	}
	d.Reviewed = fullReview
	if _, err := Decide(l, st.keys["r1@example.com"][0], d, st.root.Digest, now); err != nil {
		t.Fatalf("a reviewed approval: %v", err)
	}
	// An author's approval would not count, reviewed or not.
	d.Role = "compliance"
	if _, err := Decide(l, st.keys["author@example.com"][0], d, st.root.Digest, now); err == nil || !strings.Contains(err.Error(), "author@example.com is an author and cannot approve") {
		t.Fatalf("an author: %v", err)
	}
	// A rejection needs no review.
	d = Decision{Subject: st.w.subj, Verdict: Reject, Role: "compliance", Reason: "no"}
	if _, err := Decide(l, st.keys["c1@example.com"][0], d, st.root.Digest, now); err != nil {
		t.Fatalf("a rejection: %v", err)
	}
	// A second request for the open subject is refused.
	status, err := st.w.bundle.Check()
	if err != nil {
		t.Fatal(err)
	}
	report, err := st.w.bundle.Evaluate()
	if err != nil {
		t.Fatal(err)
	}
	_, err = Request(l, st.keys["mo@example.com"][0], st.w.bundle, status, report, st.root.Digest, now)
	if err == nil || !strings.Contains(err.Error(), "already requested: owner@example.com requested credit-risk 7") {
		t.Fatalf("a second request: %v", err)
	}
}

func TestSortCandidates(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cs := []quorumCandidate{{identity: "b", first: t0.Add(time.Hour)}, {identity: "c", first: t0}, {identity: "a", first: t0.Add(time.Hour)}}
	sortCandidates(cs)
	var got []string
	for _, c := range cs {
		got = append(got, c.identity)
	}
	if want := []string{"c", "a", "b"}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v: the earliest approval first, then by identity", got, want)
	}
}

// TestAdmitsGovernance: governance is admitted from admins of the
// history's roots, and of the next root an admin in force proposed; a
// rival root carried in by an admin admits no one.
func TestAdmitsGovernance(t *testing.T) {
	st := newRules(t, rulesPolicy(""))
	outsider, newAdmin := vtSigner(t, "outsider", "boss@other.example"), vtSigner(t, "new admin", "new@example.com")
	ttAdopt(t, st.f, st.admin, ttRoot(1, []ledger.Signer{outsider}, "# another organisation's\n"), st.day(1))
	ttAdopt(t, st.f, st.admin, ttRoot(2, []ledger.Signer{st.admin, newAdmin}, ""), st.day(2))
	l := st.w.ledgerOf(t, st.f, rand.New(rand.NewPCG(1, 2)))
	tr, err := LoadTrust(l, st.root.Digest, st.day(3))
	if err != nil {
		t.Fatal(err)
	}
	entry := func(s ledger.Signer) *ledger.Entry {
		return &ledger.Entry{Header: ledger.Header{Kind: KindKeyring, Feed: ledger.FeedOf(s.PublicKey().Marshal()), Time: st.day(3), Identity: s.Identity()}}
	}
	for _, tc := range []struct {
		who  ledger.Signer
		want string
	}{
		{st.admin, ""},
		{newAdmin, ""}, // an admin of the root v2 proposed, who must adopt it
		{outsider, "not an admin of any root in this history"},
	} {
		if got := Admits(tr, st.root.Digest, entry(tc.who), st.day(3)); tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("%s's adoption: %q, want %q", tc.who.Identity(), got, tc.want)
		}
	}
}

// TestRenamedMemberIsOnePerson: a keyring that renames a member who keeps
// their key makes them no new person: they fill one sign-off, their
// rejection still blocks, and an author or requester renamed is still one.
func TestRenamedMemberIsOnePerson(t *testing.T) {
	// rename adopts keyring v2 at day at, in which old is called new with
	// the same keys and roles.
	rename := func(t *testing.T, st *ttSetup, old, new string, at float64) {
		t.Helper()
		roles, keys := map[string][]string{}, map[string][]ledger.Signer{}
		for id, rs := range st.roles {
			roles[id], keys[id] = rs, st.keys[id]
		}
		roles[new], keys[new] = roles[old], []ledger.Signer{vtSigner(t, old+"/a", new), vtSigner(t, old+"/b", new)}
		delete(roles, old)
		delete(keys, old)
		st.keys[new] = keys[new]
		ttAdopt(t, st.f, st.admin, ttKeyring(2, roles, keys, ""), st.day(at))
	}
	for _, tc := range []struct {
		name     string
		steps    func(t *testing.T, st *ttSetup)
		approved bool
		want     string
	}{
		{"approvals before and after a rename fill one sign-off", func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.decide(t, "mo@example.com", 0, Approve, "model-owner", st.day(1))
			st.decide(t, "r1@example.com", 0, Approve, "risk", st.day(1))
			rename(t, st, "r1@example.com", "rita@example.com", 1.2)
			st.decide(t, "rita@example.com", 1, Approve, "risk", st.day(1.5))
		}, false, "needs 1 more of {risk, compliance}"},
		{"a rejection still blocks once its signer is renamed", func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.decide(t, "r1@example.com", 0, Reject, "risk", st.day(0.5))
			rename(t, st, "r1@example.com", "rita@example.com", 0.8)
			st.decide(t, "mo@example.com", 0, Approve, "model-owner", st.day(1))
			st.decide(t, "r2@example.com", 0, Approve, "risk", st.day(1))
			st.decide(t, "c1@example.com", 0, Approve, "compliance", st.day(1))
		}, false, "rejection by rita@example.com (risk)"},
		{"an author renamed is still an author", func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			rename(t, st, "author@example.com", "anna@example.com", 0.5)
			st.decide(t, "mo@example.com", 0, Approve, "model-owner", st.day(1))
			st.decide(t, "r1@example.com", 0, Approve, "risk", st.day(1))
			st.decide(t, "anna@example.com", 0, Approve, "compliance", st.day(1))
		}, false, "anna@example.com is an author and cannot approve"},
		{"a requester renamed is still the requester", func(t *testing.T, st *ttSetup) {
			st.note(t, "mo@example.com", KindRequest, "", st.day(0.1))
			rename(t, st, "mo@example.com", "olga@example.com", 0.5)
			st.decide(t, "olga@example.com", 0, Approve, "model-owner", st.day(1))
			st.decide(t, "r1@example.com", 0, Approve, "risk", st.day(1))
			st.decide(t, "c1@example.com", 0, Approve, "compliance", st.day(1))
		}, false, "olga@example.com requested this promotion and cannot approve it"},
		{"a renamed member's approvals still count", func(t *testing.T, st *ttSetup) {
			st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
			st.decide(t, "r1@example.com", 0, Approve, "risk", st.day(0.5))
			rename(t, st, "r1@example.com", "rita@example.com", 0.8)
			st.decide(t, "mo@example.com", 0, Approve, "model-owner", st.day(1))
			st.decide(t, "c1@example.com", 0, Approve, "compliance", st.day(1))
		}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newRules(t, rulesPolicy(""))
			tc.steps(t, st)
			wantReason(t, st.judge(t, st.day(2)), tc.approved, tc.want)
		})
	}
}

// TestDecideJudgesTheBundle: Decide weighs an approval by the bundle's
// own manifest and evidence, never by what a request claims of it: a
// forged request that omits the authors lets no author approve, and a
// bundle the verdict cannot read is refused with the reason, unless the
// directory itself is given.
func TestDecideJudgesTheBundle(t *testing.T) {
	st := newRules(t, rulesPolicy(""))
	s := st.w.subj
	forged := &Body{Subject: &s, Tier: "high", Change: "standard"} // no authors, no results
	st.f.sign(st.keys["owner@example.com"][0], KindRequest, indexOf(KindRequest, s), forged.Marshal(), st.day(0.1))
	now := st.day(1)
	d := Decision{Subject: s, Verdict: Approve, Role: "compliance", Reason: "mine is fine", Reviewed: fullReview}

	l := st.w.ledgerOf(t, st.f, rand.New(rand.NewPCG(1, 2)))
	if _, err := Decide(l, st.keys["author@example.com"][0], d, st.root.Digest, now); !errors.Is(err, ErrWouldNotCount) || !strings.Contains(err.Error(), "author@example.com is an author and cannot approve") {
		t.Fatalf("an author behind a request that omits them: %v", err)
	}

	// The same entries, without the evidence the request would carry.
	bare, err := ledger.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()
	var all bytes.Buffer
	for _, feed := range st.f.order {
		for _, line := range st.f.lines[feed] {
			all.Write(line)
			all.WriteByte('\n')
		}
	}
	if _, err := bare.Import(&all, ledger.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	d.Role = "risk"
	_, err = Decide(bare, st.keys["r1@example.com"][0], d, st.root.Digest, now)
	if !errors.Is(err, ErrWouldNotCount) || !strings.Contains(err.Error(), "the verdict cannot weigh an approval") || !strings.Contains(err.Error(), "is missing") {
		t.Fatalf("no evidence to judge by: %v", err)
	}
	status, err := st.w.bundle.Check()
	if err != nil {
		t.Fatal(err)
	}
	d.Dir, d.DirStatus = st.w.bundle, status
	if _, err := Decide(bare, st.keys["r1@example.com"][0], d, st.root.Digest, now); err != nil {
		t.Fatalf("with the bundle directory: %v", err)
	}
}

// TestRootNotYet: asked of a time before the anchor's adoption, LoadTrust
// says so (nothing was in force then); a root the ledger never adopted is
// unknown.
func TestRootNotYet(t *testing.T) {
	st := newRules(t, rulesPolicy(""))
	l := st.w.ledgerOf(t, st.f, rand.New(rand.NewPCG(1, 2)))
	if _, err := LoadTrust(l, st.root.Digest, st.day(-1)); !errors.Is(err, ErrRootNotYet) || errors.Is(err, ErrUnknownRoot) {
		t.Errorf("before the root: %v", err)
	}
	if _, err := LoadTrust(l, "sha256:"+strings.Repeat("0", 64), st.day(1)); !errors.Is(err, ErrUnknownRoot) {
		t.Errorf("a root never adopted: %v", err)
	}
	if _, err := LoadTrust(l, st.root.Digest, st.day(1)); err != nil {
		t.Errorf("after the root: %v", err)
	}
}
