package policy

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/signoff-dev/signoff/ledger"
)

// ttAdopt signs s's adoption of the document text at time at.
func ttAdopt(t *testing.T, f *vtFeeds, s ledger.Signer, text string, at time.Time) *Document {
	t.Helper()
	d, err := ParseDocument("doc", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	f.sign(s, d.Kind, "", (&Body{Version: d.Version, Digest: d.Digest, Document: text}).Marshal(), at)
	return d
}

func ttRoot(version int, admins []ledger.Signer, extra string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: %d\nthreshold: 1\nadmins:\n", version)
	for _, a := range admins {
		fmt.Fprintf(&b, "  - identity: %s\n    keys: [%q]\n", a.Identity(), vtKeyLine(a))
	}
	return b.String() + extra
}

func ttKeyring(version int, members map[string][]string, keys map[string][]ledger.Signer, extra string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: %d\nmembers:\n", version)
	for _, id := range []string{"owner@example.com", "mo@example.com", "r1@example.com", "r2@example.com", "c1@example.com", "ops@example.com", "author@example.com", "both@example.com", "evil@example.com", "rita@example.com", "anna@example.com", "olga@example.com"} {
		roles, ok := members[id]
		if !ok {
			continue
		}
		var ks []string
		for _, k := range keys[id] {
			ks = append(ks, fmt.Sprintf("%q", vtKeyLine(k)))
		}
		fmt.Fprintf(&b, "  - identity: %s\n    roles: [%s]\n    keys: [%s]\n", id, strings.Join(roles, ", "), strings.Join(ks, ", "))
	}
	return b.String() + extra
}

// ttSetup is a world where owner requested the bundle at day 0 + 1h under
// root v1 (admin), the given keyring v1 and the determinism tests' policy.
type ttSetup struct {
	w     *vtWorld
	f     *vtFeeds
	admin ledger.Signer
	keys  map[string][]ledger.Signer
	roles map[string][]string
	root  *Document
	day   func(d float64) time.Time
}

func newTTSetup(t *testing.T, rootAdmins ...ledger.Signer) *ttSetup {
	w := newVTWorld(t)
	st := &ttSetup{w: w, f: newVTFeeds(t), admin: w.admin, keys: map[string][]ledger.Signer{}, roles: map[string][]string{
		"owner@example.com": {"model-owner"}, "mo@example.com": {"model-owner"}, "r1@example.com": {"risk"},
		"r2@example.com": {"risk"}, "c1@example.com": {"compliance"}, "ops@example.com": {"mlops"},
	}}
	for id := range st.roles {
		st.keys[id] = []ledger.Signer{vtSigner(t, id+"/a", id), vtSigner(t, id+"/b", id)}
	}
	st.day = func(d float64) time.Time { return w.t0.Add(time.Duration(d * float64(24*time.Hour))) }
	st.root = ttAdopt(t, st.f, st.admin, ttRoot(1, append([]ledger.Signer{st.admin}, rootAdmins...), ""), st.day(0))
	ttAdopt(t, st.f, st.admin, ttKeyring(1, st.roles, st.keys, ""), st.day(0).Add(time.Second))
	ttAdopt(t, st.f, st.admin, vtPolicy("720h")+"        emergency: {roles: [mlops], count: 1, valid_for: 24h, review_within: 48h}\n", st.day(0).Add(2*time.Second))
	st.record(t, "owner@example.com", 0, KindRequest, "", "", st.day(0).Add(time.Hour))
	return st
}

// record signs a record by id's key k.
func (st *ttSetup) record(t *testing.T, id string, k int, kind, verdict, role string, at time.Time) {
	t.Helper()
	s := st.w.subj
	b := &Body{Subject: &s, Reason: "because"}
	switch kind {
	case KindRequest:
		b.Reason, b.Tier, b.Change, b.Authors = "", "high", "standard", []string{"author@example.com"}
	case KindDecision:
		b.Verdict, b.Role = verdict, role
	case KindEmergency:
		b.Role = role
	case KindRestrict:
		s.From, s.To = "", ""
	}
	st.f.sign(st.keys[id][k], kind, indexOf(kind, s), b.Marshal(), at)
}

func (st *ttSetup) approveAll(t *testing.T, at time.Time) {
	st.record(t, "mo@example.com", 0, KindDecision, Approve, "model-owner", at)
	st.record(t, "r1@example.com", 1, KindDecision, Approve, "risk", at.Add(time.Minute))
	st.record(t, "c1@example.com", 0, KindDecision, Approve, "compliance", at.Add(2*time.Minute))
}

func (st *ttSetup) judge(t *testing.T, at time.Time) *Verdict {
	t.Helper()
	l := st.w.ledgerOf(t, st.f, rand.New(rand.NewPCG(1, 2)))
	v, err := Judge(l, Query{Bundle: st.w.digest, To: "production", At: at, Anchor: st.root.Digest})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func wantReason(t *testing.T, v *Verdict, approved bool, substr string) {
	t.Helper()
	if v.Approved != approved {
		t.Fatalf("approved = %v, want %v; reasons %q; warnings %q", v.Approved, approved, v.Reasons, v.Warnings)
	}
	if substr == "" {
		return
	}
	for _, r := range append(v.Reasons, v.Warnings...) {
		if strings.Contains(r, substr) {
			return
		}
	}
	t.Fatalf("no reason or warning says %q: reasons %q; warnings %q", substr, v.Reasons, v.Warnings)
}

// TestBackdatedAdoptionByRemovedAdmin: an admin removed from the root
// dates an adoption before their removal. It can at most make a conflict
// that fails closed; a root that revokes their key from before, or a
// version that skips ahead, takes even that away.
func TestBackdatedAdoptionByRemovedAdmin(t *testing.T) {
	evil := vtSigner(t, "evil", "evil@example.com")
	for _, tc := range []struct {
		name      string
		revoke    bool // root v2 revokes evil's key from day 3
		version   int  // the version of evil's keyring
		approved  bool
		substring string
	}{
		{"conflict", false, 2, false, "governance conflict: 2 different keyring documents of version 2"},
		{"revoked", true, 2, true, ""},
		{"skips a version", false, 1000, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newTTSetup(t, evil)
			extra := ""
			if tc.revoke {
				extra = fmt.Sprintf("revoked_keys:\n  - {key: %q, revoked_at: %s}\n", vtKeyLine(evil), st.day(3).Format(time.RFC3339))
			}
			ttAdopt(t, st.f, st.admin, ttRoot(2, []ledger.Signer{st.admin}, extra), st.day(10))
			// Signed on day 20, dated day 5: evil's keyring makes evil a
			// risk officer and compliance officer.
			roles := map[string][]string{"evil@example.com": {"model-owner", "risk", "compliance"}}
			keys := map[string][]ledger.Signer{"evil@example.com": {evil}}
			ttAdopt(t, st.f, evil, ttKeyring(tc.version, roles, keys, ""), st.day(5))
			ttAdopt(t, st.f, st.admin, ttKeyring(2, st.roles, st.keys, ""), st.day(30))
			st.approveAll(t, st.day(31))
			wantReason(t, st.judge(t, st.day(32)), tc.approved, tc.substring)
		})
	}
}

// TestStolenKeyRevoked: a thief holding one of r1's keys dates an
// approval between r1's rejection and the keyring that revokes that key
// from before: it does not lift the rejection.
func TestStolenKeyRevoked(t *testing.T) {
	for _, revoke := range []bool{false, true} {
		t.Run(fmt.Sprint("revoked=", revoke), func(t *testing.T) {
			st := newTTSetup(t)
			st.approveAll(t, st.day(0.5))
			st.record(t, "r1@example.com", 1, KindDecision, Reject, "risk", st.day(1))
			extra := ""
			if revoke {
				extra = fmt.Sprintf("revoked_keys:\n  - {key: %q, revoked_at: %s}\n", vtKeyLine(st.keys["r1@example.com"][0]), st.day(0.25).Format(time.RFC3339))
			}
			kr := ttKeyring(2, st.roles, map[string][]ledger.Signer{
				"owner@example.com": st.keys["owner@example.com"], "mo@example.com": st.keys["mo@example.com"],
				"r1@example.com": st.keys["r1@example.com"][1:], "r2@example.com": st.keys["r2@example.com"],
				"c1@example.com": st.keys["c1@example.com"], "ops@example.com": st.keys["ops@example.com"],
			}, extra)
			ttAdopt(t, st.f, st.admin, kr, st.day(2))
			// The thief, on day 3, dates an approval at day 1.2.
			st.record(t, "r1@example.com", 0, KindDecision, Approve, "risk", st.day(1.2))
			v := st.judge(t, st.day(3))
			if revoke {
				wantReason(t, v, false, "rejection by r1@example.com (risk)")
			} else {
				// Without the revocation the backdated approval is
				// believed: what revoked_keys is for.
				wantReason(t, v, true, "")
			}
		})
	}
}

// TestRestrictKeepsReviewOwed: a restriction after an emergency does not
// erase the incident review the emergency owes.
func TestRestrictKeepsReviewOwed(t *testing.T) {
	st := newTTSetup(t)
	st.record(t, "ops@example.com", 0, KindEmergency, "", "mlops", st.day(1))
	if v := st.judge(t, st.day(1.5)); !v.Approved || v.Path != "emergency" {
		t.Fatalf("within the emergency: approved %v path %q, reasons %q", v.Approved, v.Path, v.Reasons)
	}
	st.record(t, "ops@example.com", 0, KindRestrict, "", "", st.day(2))
	st.approveAll(t, st.day(2.5))
	wantReason(t, st.judge(t, st.day(4)), false, "incident review overdue")
	st.record(t, "r2@example.com", 0, KindIncidentReview, "", "", st.day(4.5))
	wantReason(t, st.judge(t, st.day(5)), true, "came after its deadline")
}

// TestAdoptionFloodIsLinear: many documents adopted by a key that is no
// admin are neither parsed nor re-checked one against another.
func TestAdoptionFloodIsLinear(t *testing.T) {
	st := newTTSetup(t)
	stranger := vtSigner(t, "stranger", "stranger@example.com")
	n := 3000
	if testing.Short() {
		n = 500
	}
	for i := range n {
		ttAdopt(t, st.f, stranger, fmt.Sprintf("version: %d\nmembers: []\n", 2+i%3), st.day(1).Add(time.Duration(i)*time.Second))
	}
	l := st.w.ledgerOf(t, st.f, rand.New(rand.NewPCG(3, 4)))
	start := time.Now()
	tr, err := LoadTrust(l, st.root.Digest, st.day(2))
	if err != nil {
		t.Fatal(err)
	}
	parsed := 0
	for _, d := range tr.docs {
		if d.Doc != nil || d.bad {
			parsed++
		}
	}
	if parsed != 3 {
		t.Errorf("%d documents parsed, want the 3 an admin adopted", parsed)
	}
	if len(tr.Keyrings) != 1 || tr.Keyrings[0].Version != 1 {
		t.Errorf("keyrings in force: %v", tr.Keyrings)
	}
	t.Logf("LoadTrust over %d adoptions by a stranger: %v", n, time.Since(start))
}

// TestLowerVersionIgnored: an adoption of a version below the one in
// force, signed by an admin anyway, changes nothing and says so.
func TestLowerVersionIgnored(t *testing.T) {
	st := newTTSetup(t)
	ttAdopt(t, st.f, st.admin, ttKeyring(2, st.roles, st.keys, ""), st.day(1))
	low := map[string][]string{"owner@example.com": {"model-owner", "risk", "compliance"}}
	ttAdopt(t, st.f, st.admin, ttKeyring(1, low, st.keys, "# another\n"), st.day(2))
	st.approveAll(t, st.day(3))
	v := st.judge(t, st.day(4))
	wantReason(t, v, true, "keyring version 1 (sha256:")
	wantReason(t, v, true, "never comes into force: keyring version 2 is in force, and versions only go up")
	if v.Keyring.Version != 2 {
		t.Errorf("keyring in force: version %d, want 2", v.Keyring.Version)
	}
}
