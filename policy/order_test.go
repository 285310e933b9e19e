package policy

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/signoff-dev/signoff/ledger"
)

// The rules that order governance by what a signer cannot choose (see
// the package documentation), each attacked as an insider would.

// weakPolicy asks only for the model owner's approval.
func weakPolicy(version int) string {
	return fmt.Sprintf(`version: %d
tiers:
  high:
    transitions:
      staging->production:
        require:
          - {role: model-owner, count: 1}
        gates:
          - {name: card, evidence: card}
`, version)
}

// strictPolicy is the tests' policy at version.
func strictPolicy(version int) string {
	return strings.Replace(rulesPolicy(""), "version: 1\n", fmt.Sprintf("version: %d\n", version), 1)
}

// rootOf is a root of version whose admins are admins, with threshold.
func rootOf(version, threshold int, admins ...ledger.Signer) string {
	return strings.Replace(ttRoot(version, admins, ""), "threshold: 1\n", fmt.Sprintf("threshold: %d\n", threshold), 1)
}

// adoptNaming signs s's adoption of a root naming the documents in force.
func adoptNaming(t *testing.T, f *vtFeeds, s ledger.Signer, text string, at time.Time, inForce ...*Document) {
	t.Helper()
	d, err := ParseDocument("root", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	b := &Body{Version: d.Version, Digest: d.Digest, Document: text}
	for _, n := range inForce {
		b.InForce = append(b.InForce, n.Digest)
	}
	f.sign(s, KindRoot, "", b.Marshal(), at)
}

// TestFormerAdminAfterANewRoot: root v1's only admin A consents to root
// v2 (B and C, threshold 2) and then, alone, adopts a weak policy v2
// dated before root v2 came into force. Only the model owner approves.
func TestFormerAdminAfterANewRoot(t *testing.T) {
	for _, tc := range []struct {
		name     string
		steps    func(t *testing.T, st *ttSetup, a, b, c, d ledger.Signer)
		approved bool
		want     string
		policy   int // the policy version judged under, if the verdict got so far
	}{
		{"after their own root adoption, dated inside the window", func(t *testing.T, st *ttSetup, a, b, c, d ledger.Signer) {
			r2 := rootOf(2, 2, b, c)
			ttAdopt(t, st.f, a, r2, st.day(1))
			ttAdopt(t, st.f, b, r2, st.day(1.1))
			ttAdopt(t, st.f, a, weakPolicy(2), st.day(1.15)) // before c's adoption
			ttAdopt(t, st.f, c, r2, st.day(1.2))
		}, false, "needs 2 more of {risk, compliance}", 1},
		{"after their own root adoption, at the same time", func(t *testing.T, st *ttSetup, a, b, c, d ledger.Signer) {
			r2 := rootOf(2, 2, b, c)
			ttAdopt(t, st.f, b, r2, st.day(1.1))
			ttAdopt(t, st.f, c, r2, st.day(1.2))
			ttAdopt(t, st.f, a, r2, st.day(1.3))
			ttAdopt(t, st.f, a, weakPolicy(2), st.day(1.3))
		}, false, "needs 2 more of {risk, compliance}", 1},
		{"a former admin who never consented, back-dated: unsettled", func(t *testing.T, st *ttSetup, a, b, c, d ledger.Signer) {
			r2 := rootOf(2, 2, b, c)
			ttAdopt(t, st.f, d, r2, st.day(1)) // d, root v1's other admin, consents
			ttAdopt(t, st.f, b, r2, st.day(1.1))
			ttAdopt(t, st.f, c, r2, st.day(1.2))
			ttAdopt(t, st.f, a, weakPolicy(2), st.day(0.5))
		}, false, "governance unsettled: policy version 2", 2},
		{"the new root's adopters named the policy in force", func(t *testing.T, st *ttSetup, a, b, c, d ledger.Signer) {
			r2 := rootOf(2, 2, b, c)
			kr, pol := st.inForce(t, KindKeyring), st.inForce(t, KindPolicy)
			adoptNaming(t, st.f, d, r2, st.day(1), kr, pol)
			adoptNaming(t, st.f, b, r2, st.day(1.1), kr, pol)
			adoptNaming(t, st.f, c, r2, st.day(1.2), kr, pol)
			ttAdopt(t, st.f, a, weakPolicy(2), st.day(0.5))
		}, false, "needs 2 more of {risk, compliance}", 1},
		{"unsettled until the new root's admins adopt a successor", func(t *testing.T, st *ttSetup, a, b, c, d ledger.Signer) {
			r2 := rootOf(2, 2, b, c)
			ttAdopt(t, st.f, d, r2, st.day(1))
			ttAdopt(t, st.f, b, r2, st.day(1.1))
			ttAdopt(t, st.f, c, r2, st.day(1.2))
			ttAdopt(t, st.f, a, weakPolicy(2), st.day(0.5))
			ttAdopt(t, st.f, b, strictPolicy(3), st.day(1.5))
			ttAdopt(t, st.f, c, strictPolicy(3), st.day(1.6))
		}, false, "needs 2 more of {risk, compliance}", 3},
		{"a policy adopted before its signer consented to the new root stays in force", func(t *testing.T, st *ttSetup, a, b, c, d ledger.Signer) {
			r2 := rootOf(2, 2, b, c)
			ttAdopt(t, st.f, a, weakPolicy(2), st.day(0.5))
			ttAdopt(t, st.f, d, r2, st.day(1.05)) // after d's keyring v1
			ttAdopt(t, st.f, b, r2, st.day(1.1))
			ttAdopt(t, st.f, c, r2, st.day(1.2))
			ttAdopt(t, st.f, a, r2, st.day(1.3))
		}, true, "", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := vtSigner(t, "former-a", "a@example.com")
			b := vtSigner(t, "admin-b", "b@example.com")
			c := vtSigner(t, "admin-c", "c@example.com")
			st := newTTSetup(t, a)
			// The setup's admin is root v1's other admin, d; a adopts
			// root v1 too, so that a's feed has a place before the change.
			ttAdopt(t, st.f, a, ttRoot(1, []ledger.Signer{st.admin, a}, ""), st.day(0))
			tc.steps(t, st, a, b, c, st.admin)
			st.record(t, "mo@example.com", 0, KindDecision, Approve, "model-owner", st.day(3))
			v := st.judge(t, st.day(4))
			wantReason(t, v, tc.approved, tc.want)
			if v.Policy == nil || v.Policy.Version != tc.policy {
				t.Errorf("judged under policy %+v, want version %d", v.Policy, tc.policy)
			}
		})
	}
}

// inForce returns the document of kind in force in st's ledger now.
func (st *ttSetup) inForce(t *testing.T, kind string) *Document {
	t.Helper()
	l := st.w.ledgerOf(t, st.f, rand.New(rand.NewPCG(5, 6)))
	tr, err := LoadTrust(l, st.root.Digest, st.day(100))
	if err != nil {
		t.Fatal(err)
	}
	d := tr.InForceNow(kind)
	if d == nil {
		t.Fatalf("no %s in force", kind)
	}
	return &Document{Kind: kind, Version: d.Version, Digest: d.Digest}
}

// TestRevokedKeyAnswersALaterRequest: keyring v2 revokes one of r1's keys
// from a time; the request comes after it; r1 signs an approval dated
// before the revocation. It does not count when it names the request
// (which shows it is later) or names none (which shows nothing), nor
// when the revocation says where in the key's feed it takes effect.
func TestRevokedKeyAnswersALaterRequest(t *testing.T) {
	for _, tc := range []struct {
		name     string
		revoke   string // the keyring's revoked_keys entry, after the key
		ref      bool   // the approval names the request
		approved bool
		want     string
	}{
		{"names the later request", "revoked_at: %s", true, false, "signed no earlier than"},
		{"names no request", "revoked_at: %s", false, false, "names no request it answers"},
		{"not revoked: counts", "", true, true, ""},
		{"revoked after a seq of its feed", "after_seq: 0", false, false, "revoked for every entry of its feed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newRules(t, rulesPolicy(""))
			key := st.keys["r1@example.com"][0]
			extra := ""
			if tc.revoke != "" {
				where := strings.ReplaceAll(tc.revoke, "%s", st.day(0.5).Format(time.RFC3339))
				extra = fmt.Sprintf("revoked_keys:\n  - {key: %q, %s}\n", vtKeyLine(key), where)
			}
			ttAdopt(t, st.f, st.admin, ttKeyring(2, st.roles, st.keys, extra), st.day(0.6))
			req := st.f.sign(st.keys["owner@example.com"][0], KindRequest, indexOf(KindRequest, st.w.subj), (&Body{Subject: &st.w.subj, Tier: "high", Change: "standard", Authors: []string{"author@example.com"}}).Marshal(), st.day(1))
			st.decide(t, "mo@example.com", 0, Approve, "model-owner", st.day(2))
			st.decide(t, "c1@example.com", 0, Approve, "compliance", st.day(2))
			s := st.w.subj
			b := &Body{Subject: &s, Verdict: Approve, Role: "risk", Reason: "back-dated"}
			if tc.ref {
				b.Ref = req.ID.String()
			}
			st.f.sign(key, KindDecision, indexOf(KindDecision, s), b.Marshal(), st.day(0.4))
			wantReason(t, st.judge(t, st.day(3)), tc.approved, tc.want)
		})
	}
}

// TestDecisionNamesARequestThatCounts: a decision's ref must be a request
// for its subject whose signer counts: a request the approver signed
// with a key of no standing, dated early, does not lower the bound.
func TestDecisionNamesARequestThatCounts(t *testing.T) {
	st := newRules(t, rulesPolicy(""))
	st.note(t, "owner@example.com", KindRequest, "", st.day(0.1))
	st.approveAll(t, st.day(1))
	evil := st.keys["evil@example.com"][0]
	fake := st.f.sign(evil, KindRequest, indexOf(KindRequest, st.w.subj), (&Body{Subject: &st.w.subj, Tier: "high", Change: "standard"}).Marshal(), st.day(0.05))
	s := st.w.subj
	b := &Body{Subject: &s, Verdict: Approve, Role: "risk", Reason: "mine", Ref: fake.ID.String()}
	st.f.sign(st.keys["r2@example.com"][0], KindDecision, indexOf(KindDecision, s), b.Marshal(), st.day(1))
	v := st.judge(t, st.day(2))
	wantReason(t, v, true, "")
	x, ok := v.Excluded(st.f.heads[ledger.FeedOf(st.keys["r2@example.com"][0].PublicKey().Marshal())].ID)
	if !ok || !strings.Contains(x.Why, "which does not count") {
		t.Fatalf("r2's approval naming a stranger's request: excluded %v, %+v", ok, x)
	}
}

// TestAdminEquivocationFailsClosed: with threshold 2 of {admin, b, c},
// policy v2 (strict) is in force by admin and b over v1 (weak) by b and
// c. admin signs a second entry at an existing seq: the history does not
// roll back to v1, and every verdict fails as tampered until a root
// revokes the key.
func TestAdminEquivocationFailsClosed(t *testing.T) {
	for _, dealt := range []bool{false, true} {
		t.Run(fmt.Sprint("root revokes the key=", dealt), func(t *testing.T) {
			w := newVTWorld(t)
			b := vtSigner(t, "admin-b", "b@example.com")
			c := vtSigner(t, "admin-c", "c@example.com")
			st := &ttSetup{w: w, f: newVTFeeds(t), admin: w.admin, keys: map[string][]ledger.Signer{}, roles: map[string][]string{
				"owner@example.com": {"model-owner"}, "mo@example.com": {"model-owner"}, "r1@example.com": {"risk"}, "c1@example.com": {"compliance"},
			}}
			for id := range st.roles {
				st.keys[id] = []ledger.Signer{vtSigner(t, id+"/a", id)}
			}
			st.day = func(d float64) time.Time { return w.t0.Add(time.Duration(d * float64(24*time.Hour))) }
			r1 := rootOf(1, 2, st.admin, b, c)
			st.root = ttAdopt(t, st.f, st.admin, r1, st.day(0))
			ttAdopt(t, st.f, b, r1, st.day(0))
			kr := ttKeyring(1, st.roles, st.keys, "")
			ttAdopt(t, st.f, b, kr, st.day(0.1))
			ttAdopt(t, st.f, c, kr, st.day(0.1))
			ttAdopt(t, st.f, b, weakPolicy(1), st.day(0.2))
			ttAdopt(t, st.f, c, weakPolicy(1), st.day(0.2))
			ttAdopt(t, st.f, st.admin, strictPolicy(2), st.day(0.3))
			ttAdopt(t, st.f, b, strictPolicy(2), st.day(0.3))
			st.record(t, "owner@example.com", 0, KindRequest, "", "", st.day(1))
			st.record(t, "mo@example.com", 0, KindDecision, Approve, "model-owner", st.day(2))
			// admin forks their feed at the seq of their root adoption.
			feed := ledger.FeedOf(st.admin.PublicKey().Marshal())
			first := ledger.Header{Kind: "comment", Seq: 1, Time: st.day(0), Body: []byte(`{"text":"fork"}`)}
			e, err := ledger.SignEntry(st.admin, first)
			if err != nil {
				t.Fatal(err)
			}
			ls := st.f.lines[feed]
			st.f.lines[feed] = append([][]byte{ls[0], e.MarshalLine()}, ls[1:]...)
			if dealt {
				r2 := rootOf(2, 2, b, c) + fmt.Sprintf("revoked_keys:\n  - {key: %q, after_seq: 1}\n", vtKeyLine(st.admin))
				ttAdopt(t, st.f, b, r2, st.day(2.5))
				ttAdopt(t, st.f, c, r2, st.day(2.5))
			}
			v := st.judge(t, st.day(3))
			if dealt {
				// The root revokes the key after its fork: policy v2
				// never had its threshold, v1 is in force, and the
				// verdict is given under it.
				wantReason(t, v, true, "")
				if v.Tampered || v.Policy.Version != 1 {
					t.Fatalf("tampered %v, policy %+v", v.Tampered, v.Policy)
				}
				return
			}
			wantReason(t, v, false, "equivocation by an admin: admin@example.com's key")
			if !v.Tampered || v.Policy.Version != 2 {
				t.Fatalf("tampered %v, policy %+v; want tampered under version 2", v.Tampered, v.Policy)
			}
		})
	}
}
