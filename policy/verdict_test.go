package policy

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/signoff-dev/signoff/evidence"
	"github.com/signoff-dev/signoff/ledger"
)

// vtPerson is a signer with two keys, so that a test can spread their
// records over both feeds.
type vtPerson struct {
	identity string
	roles    []string
	keys     [2]ledger.Signer
	inRing   bool
}

func vtSigner(t testing.TB, seed string, identity string) ledger.Signer {
	t.Helper()
	sum := sha256.Sum256([]byte(seed))
	s, err := ssh.NewSignerFromKey(ed25519.NewKeyFromSeed(sum[:]))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := ledger.NewSigner(s, identity)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func vtKeyLine(s ledger.Signer) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.PublicKey())))
}

// vtFeeds signs entries with chosen times, keeping each feed's seq and
// prev, and collects them as export lines.
type vtFeeds struct {
	t     testing.TB
	heads map[ledger.Feed]*ledger.Entry
	lines map[ledger.Feed][][]byte
	order []ledger.Feed
}

func newVTFeeds(t testing.TB) *vtFeeds {
	return &vtFeeds{t: t, heads: map[ledger.Feed]*ledger.Entry{}, lines: map[ledger.Feed][][]byte{}}
}

func (f *vtFeeds) sign(s ledger.Signer, kind, subject string, body []byte, at time.Time) *ledger.Entry {
	f.t.Helper()
	feed := ledger.FeedOf(s.PublicKey().Marshal())
	h := ledger.Header{Kind: kind, Seq: 1, Time: at, Subject: subject, Body: body}
	if prev := f.heads[feed]; prev != nil {
		h.Seq, h.Prev = prev.Seq+1, prev.ID
	} else {
		f.order = append(f.order, feed)
	}
	e, err := ledger.SignEntry(s, h)
	if err != nil {
		f.t.Fatal(err)
	}
	f.heads[feed] = e
	f.lines[feed] = append(f.lines[feed], e.MarshalLine())
	return e
}

// vtWorld is a governance set-up, a sealed bundle and the people.
type vtWorld struct {
	admin  ledger.Signer
	people []*vtPerson
	bundle *evidence.Bundle
	lock   *evidence.Lock
	digest string
	subj   Subject
	root   string
	t0     time.Time
}

func vtPolicy(validFor string) string {
	return `version: 1
tiers:
  high:
    transitions:
      staging->production:
        require:
          - {role: model-owner, count: 1}
          - {any_of: [risk, compliance], count: 2}
        approval_valid_for: ` + validFor + `
        gates:
          - {name: card, evidence: card}
          - {name: auc, metric: roc_auc, min: 0.7}
`
}

func newVTWorld(t testing.TB) *vtWorld {
	t.Helper()
	w := &vtWorld{admin: vtSigner(t, "admin", "admin@example.com"), t0: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	for _, p := range []struct {
		id     string
		roles  []string
		inRing bool
	}{
		{"owner@example.com", []string{"model-owner"}, true},
		{"mo@example.com", []string{"model-owner"}, true},
		{"r1@example.com", []string{"risk"}, true},
		{"r2@example.com", []string{"risk"}, true},
		{"c1@example.com", []string{"compliance"}, true},
		{"both@example.com", []string{"model-owner", "risk"}, true},
		{"author@example.com", []string{"model-owner", "compliance"}, true},
		{"outsider@example.com", []string{"risk"}, false},
	} {
		w.people = append(w.people, &vtPerson{identity: p.id, roles: p.roles, inRing: p.inRing,
			keys: [2]ledger.Signer{vtSigner(t, p.id+"/1", p.id), vtSigner(t, p.id+"/2", p.id)}})
	}
	dir := t.TempDir()
	for name, text := range map[string]string{
		"bundle.yaml": `model: credit-risk
version: "7"
risk_tier: high
transition: {from: staging, to: production}
authors: [author@example.com]
artifacts: [{path: model.bin}]
card: card.md
metrics: {candidate: metrics.json}
`,
		"card.md":      "# credit-risk 7\n",
		"metrics.json": `{"roc_auc": 0.81}`,
		"model.bin":    "weights",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := evidence.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if w.lock, err = b.Seal(); err != nil {
		t.Fatal(err)
	}
	w.bundle, w.digest = b, w.lock.Digest()
	w.subj = Subject{Model: "credit-risk", Version: "7", Bundle: w.digest, From: "staging", To: "production"}
	return w
}

// governance signs the root, keyring and policy, adopted at t0.
func (w *vtWorld) governance(t testing.TB, f *vtFeeds, validFor string) {
	root := fmt.Sprintf("version: 1\nthreshold: 1\nadmins:\n  - identity: admin@example.com\n    keys: [%q]\n", vtKeyLine(w.admin))
	var kr strings.Builder
	kr.WriteString("version: 1\nmembers:\n")
	for _, p := range w.people {
		if p.inRing {
			fmt.Fprintf(&kr, "  - identity: %s\n    roles: [%s]\n    keys: [%q, %q]\n", p.identity, strings.Join(p.roles, ", "), vtKeyLine(p.keys[0]), vtKeyLine(p.keys[1]))
		}
	}
	for i, text := range []string{root, kr.String(), vtPolicy(validFor)} {
		d, err := ParseDocument("doc", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			w.root = d.Digest
		}
		f.sign(w.admin, d.Kind, "", (&Body{Version: d.Version, Digest: d.Digest, Document: text}).Marshal(), w.t0.Add(time.Duration(i)*time.Second))
	}
}

// vtRecord is one generated record: who, what, when, and which of their
// keys signs it.
type vtRecord struct {
	person  *vtPerson
	kind    string
	verdict string
	role    string
	at      time.Time
}

func (w *vtWorld) body(r vtRecord) []byte {
	s := w.subj
	b := &Body{Subject: &s}
	switch r.kind {
	case KindRequest:
		b.Tier, b.Change, b.Authors = "high", "standard", []string{"author@example.com"}
	case KindDecision:
		b.Verdict, b.Role, b.Reason = r.verdict, r.role, "because"
	case KindRestrict:
		s.From, s.To = "", ""
		b.Reason = "drift"
	}
	return b.Marshal()
}

// ledgerOf imports the lines into a new ledger, carrying the bundle's
// evidence, in batches that keep each feed in seq order but interleave
// feeds and cut batches at random.
func (w *vtWorld) ledgerOf(t testing.TB, f *vtFeeds, rng *rand.Rand) *ledger.Ledger {
	t.Helper()
	l, err := ledger.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if _, err := CarryEvidence(l, w.bundle, w.lock); err != nil {
		t.Fatal(err)
	}
	next := map[ledger.Feed]int{}
	remaining := 0
	for _, lines := range f.lines {
		remaining += len(lines)
	}
	for remaining > 0 {
		var batch bytes.Buffer
		n := 1 + rng.IntN(remaining)
		for range n {
			var open []ledger.Feed
			for _, feed := range f.order {
				if next[feed] < len(f.lines[feed]) {
					open = append(open, feed)
				}
			}
			feed := open[rng.IntN(len(open))]
			batch.Write(f.lines[feed][next[feed]])
			batch.WriteByte('\n')
			next[feed]++
			remaining--
		}
		if _, err := l.Import(&batch, ledger.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// vtNormal is a verdict with what depends on which key signed (entry
// ids) removed.
func vtNormal(t testing.TB, v *Verdict) string {
	c := *v
	c.Requests = nil
	c.Entries = 0
	c.Warnings = nil
	c.Requirements = slices.Clone(v.Requirements)
	for i := range c.Requirements {
		r := &c.Requirements[i]
		r.By = slices.Clone(r.By)
		for j := range r.By {
			r.By[j].Entry = ""
		}
		r.Excluded = slices.Clone(r.Excluded)
		for j := range r.Excluded {
			r.Excluded[j].Entry, r.Excluded[j].Key = "", ""
		}
	}
	c.Rejections = slices.Clone(v.Rejections)
	for i := range c.Rejections {
		c.Rejections[i].Entry = ""
	}
	c.Decisions = slices.Clone(v.Decisions)
	for i := range c.Decisions {
		c.Decisions[i].Entry = ""
	}
	if c.Restricted != nil {
		r := *c.Restricted
		r.Entry = ""
		c.Restricted = &r
	}
	var reasons []string
	for _, r := range c.Reasons {
		if !strings.Contains(r, "sha256:") {
			reasons = append(reasons, r)
		}
	}
	c.Reasons = reasons
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return vtKeyRE.ReplaceAllString(string(b), "KEY")
}

var vtKeyRE = regexp.MustCompile(`SHA256:[A-Za-z0-9+/]{43}`)

// vtOracle decides, by brute force over every assignment, whether the
// records meet the policy: the slow definition Judge must agree with.
func vtOracle(recs []vtRecord, at time.Time, validFor time.Duration) bool {
	var restricted time.Time
	for _, r := range recs {
		if r.kind == KindRestrict && r.person.inRing {
			restricted = r.at
		}
	}
	// Each person's last decision stands; approvals since their last
	// other decision may count.
	last := map[string]vtRecord{}
	for _, r := range recs {
		if r.kind == KindDecision && r.person.inRing && slices.Contains(r.person.roles, r.role) {
			last[r.person.identity] = r
		}
	}
	blocked := false
	eligible := map[string][]string{} // identity -> roles approved in
	for id, l := range last {
		if l.verdict != Approve {
			blocked = true
			continue
		}
		if id == "owner@example.com" || id == "author@example.com" {
			continue
		}
		// Walk back over this person's approvals since their last other decision.
		for i := len(recs) - 1; i >= 0; i-- {
			r := recs[i]
			if r.kind != KindDecision || r.person.identity != id || !slices.Contains(r.person.roles, r.role) {
				continue
			}
			if r.verdict != Approve {
				break
			}
			if r.at.Before(restricted) || at.Sub(r.at) > validFor {
				continue
			}
			if !slices.Contains(eligible[id], r.role) {
				eligible[id] = append(eligible[id], r.role)
			}
		}
	}
	ids := make([]string, 0, len(eligible))
	for id := range eligible {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	// Slot 0 wants model-owner; slots 1 and 2 want risk or compliance.
	wants := [][]string{{"model-owner"}, {"risk", "compliance"}, {"risk", "compliance"}}
	full := false
	var rec func(i int, filled [3]bool)
	rec = func(i int, filled [3]bool) {
		if filled[0] && filled[1] && filled[2] {
			full = true
		}
		if i == len(ids) || full {
			return
		}
		rec(i+1, filled)
		for s, roles := range wants {
			if filled[s] || !slices.ContainsFunc(roles, func(r string) bool { return slices.Contains(eligible[ids[i]], r) }) {
				continue
			}
			f := filled
			f[s] = true
			rec(i+1, f)
		}
	}
	rec(0, [3]bool{})
	return full && !blocked
}

// TestVerdictDeterminism generates random reviews and checks that the
// verdict does not depend on the order entries arrive in, on which of a
// person's keys signed each record, and agrees with a brute-force
// reading of the rules.
func TestVerdictDeterminism(t *testing.T) {
	w := newVTWorld(t)
	cases := 30
	if testing.Short() {
		cases = 8
	}
	const validFor = 100 * time.Hour
	approvedSeen, rejectedSeen := 0, 0
	for c := range cases {
		rng := rand.New(rand.NewPCG(uint64(c), 7))
		owner := w.people[0]
		recs := []vtRecord{{person: owner, kind: KindRequest, at: w.t0.Add(time.Hour)}}
		at := w.t0.Add(2 * time.Hour)
		for range 4 + rng.IntN(14) {
			at = at.Add(time.Duration(1+rng.IntN(8)) * time.Hour)
			p := w.people[rng.IntN(len(w.people))]
			kind, verdict := KindDecision, Approve
			switch x := rng.IntN(100); {
			case x < 3:
				kind = KindRestrict
			case x < 9:
				verdict = Reject
			case x < 13:
				verdict = RequestChanges
			}
			role := p.roles[rng.IntN(len(p.roles))]
			if rng.IntN(8) == 0 {
				role = []string{"model-owner", "risk", "compliance"}[rng.IntN(3)]
			}
			recs = append(recs, vtRecord{person: p, kind: kind, verdict: verdict, role: role, at: at})
		}
		judgeAt := at.Add(time.Duration(rng.IntN(60)) * time.Hour)

		var normals []string
		var first *Verdict
		for variant := range 3 {
			f := newVTFeeds(t)
			w.governance(t, f, validFor.String())
			for _, r := range recs {
				key := r.person.keys[0]
				if variant == 2 {
					key = r.person.keys[rng.IntN(2)]
				}
				f.sign(key, r.kind, indexOf(r.kind, w.subj), w.body(r), r.at)
			}
			l := w.ledgerOf(t, f, rng)
			v, err := Judge(l, Query{Bundle: w.digest, To: "production", At: judgeAt, Anchor: w.root})
			if err != nil {
				t.Fatalf("case %d: %v", c, err)
			}
			if first == nil {
				first = v
				// A queue's verdict, evaluating into a cache of reports
				// and then judging from it, is the same verdict.
				var reports Reports
				for range 2 {
					qv, err := Judge(l, Query{Bundle: w.digest, To: "production", At: judgeAt, Anchor: w.root, Reports: &reports})
					if err != nil {
						t.Fatal(err)
					}
					if a, b := vtNormal(t, v), vtNormal(t, qv); a != b {
						t.Fatalf("case %d: the verdict with cached reports differs:\n%s\n%s", c, a, b)
					}
				}
				if reports.cached(w.digest) == nil {
					t.Fatalf("case %d: the report was not kept", c)
				}
			}
			normals = append(normals, vtNormal(t, v))
		}
		for i := 1; i < len(normals); i++ {
			if normals[i] != normals[0] {
				t.Fatalf("case %d: variant %d judges differently:\n%s\nvs\n%s", c, i, normals[0], normals[i])
			}
		}
		want := vtOracle(recs, judgeAt, validFor)
		if first.Approved != want {
			t.Fatalf("case %d: Judge says approved=%v, the brute-force reading %v; reasons %q", c, first.Approved, want, first.Reasons)
		}
		if first.Approved {
			approvedSeen++
		} else {
			rejectedSeen++
		}
	}
	t.Logf("%d approved, %d not approved", approvedSeen, rejectedSeen)
	if approvedSeen == 0 || rejectedSeen == 0 {
		t.Errorf("the generator gave %d approved and %d not approved cases: it must give both", approvedSeen, rejectedSeen)
	}
}
