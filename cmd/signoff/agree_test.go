package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/signoff-dev/signoff/evidence"
	"github.com/signoff-dev/signoff/home"
	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
	ssync "github.com/signoff-dev/signoff/sync"
	"github.com/signoff-dev/signoff/tui/data"
)

// TestSurfacesAgree builds random ledgers (a request, perhaps after a
// member's forged one that omits the authors and claims every gate
// passes, decisions that supersede earlier ones, approvals with and
// without the review the policy asks for, by authors and strangers,
// restrictions, a policy adopted midway whose gate the bundle fails) and
// judges each
// at a random moment (approvals expire) on every surface: signoff verify
// --json, signoff status --json, the console's queue and serve's GET
// /v1/verdict. They must give the same answer, and the generator must
// give both answers.
func TestSurfacesAgree(t *testing.T) {
	w := newAgreeWorld(t)
	cases := 24
	if testing.Short() {
		cases = 8
	}
	approved, refused, seen := 0, 0, map[string]int{}
	for c := range cases {
		rng := rand.New(rand.NewPCG(uint64(c), 11))
		dir, at, kinds := w.scenario(t, rng)
		for k := range kinds {
			seen[k]++
		}
		got := w.surfaces(t, dir, at)
		if got.verify.Approved {
			approved++
		} else {
			refused++
		}
		if !reflect.DeepEqual(got.verifyJSON, got.serveJSON) {
			t.Fatalf("case %d: verify --json and GET /v1/verdict differ:\n%s\n%s", c, got.verifyRaw, got.serveRaw)
		}
		p := got.pending
		if p.Approved != got.verify.Approved || !slices.Equal(p.Reasons, got.verify.Reasons) {
			t.Fatalf("case %d: status says approved %v, reasons %q; verify says approved %v, reasons %q", c, p.Approved, p.Reasons, got.verify.Approved, got.verify.Reasons)
		}
		if !reflect.DeepEqual(p.Gates, got.verify.Gates) {
			t.Fatalf("case %d: status gives the gates %+v; verify %+v", c, p.Gates, got.verify.Gates)
		}
		pass := 0
		for _, g := range got.verify.Gates {
			if g.Status == policy.Pass {
				pass++
			}
		}
		if got.row.Pass != pass || got.row.Fail != len(got.verify.Gates)-pass {
			t.Fatalf("case %d: the queue shows %d gates passing, %d not; verify %d of %d", c, got.row.Pass, got.row.Fail, pass, len(got.verify.Gates))
		}
		if (got.row.State == data.StateApproved) != got.verify.Approved {
			t.Fatalf("case %d: the queue shows %q; verify says approved %v, reasons %q", c, got.row.State, got.verify.Approved, got.verify.Reasons)
		}
		met, needed := 0, 0
		for _, r := range got.verify.Requirements {
			met, needed = met+len(r.By), needed+r.Count
		}
		if got.row.Met != met || got.row.Needed != needed {
			t.Fatalf("case %d: the queue shows %d of %d sign-offs; verify %d of %d", c, got.row.Met, got.row.Needed, met, needed)
		}
		var decided int
		for _, d := range got.verify.Decisions {
			if d.Verdict == policy.Approve {
				decided++
			}
		}
		if p.Approvals != decided || len(p.Decisions) != len(got.verify.Decisions) {
			t.Fatalf("case %d: status counts %d approvals of %d standing decisions; verify %d of %d", c, p.Approvals, len(p.Decisions), decided, len(got.verify.Decisions))
		}
	}
	t.Logf("%d approved, %d not; cases with %v", approved, refused, seen)
	if approved == 0 || refused == 0 {
		t.Errorf("the generator gave %d approved and %d not approved: it must give both", approved, refused)
	}
	for _, k := range []string{"forged request", "stricter policy"} {
		if seen[k] == 0 {
			t.Errorf("the generator gave no case with a %s", k)
		}
	}
}

// agreeWorld is the governance, the people and a sealed bundle.
type agreeWorld struct {
	admin  ledger.Signer
	people map[string]ledger.Signer // by identity
	roles  map[string][]string
	root   string
	gov    []*policy.Document
	// stricter is a policy v2 whose auc gate the bundle fails.
	stricter *policy.Document
	bundle   string // the bundle directory
	t0       time.Time
}

func agreeSigner(t *testing.T, id string) ledger.Signer {
	sum := sha256.Sum256([]byte("agree " + id))
	s, err := ssh.NewSignerFromKey(ed25519.NewKeyFromSeed(sum[:]))
	if err != nil {
		t.Fatal(err)
	}
	ls, err := ledger.NewSigner(s, id)
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

func newAgreeWorld(t *testing.T) *agreeWorld {
	w := &agreeWorld{admin: agreeSigner(t, "admin@example.com"), people: map[string]ledger.Signer{}, t0: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC),
		roles: map[string][]string{
			"dev@example.com": {"engineer"}, "owner@example.com": {"model-owner"}, "mo@example.com": {"model-owner"},
			"r1@example.com": {"risk"}, "r2@example.com": {"risk"}, "c1@example.com": {"compliance"},
			"author@example.com": {"compliance"}, "ops@example.com": {"mlops"},
		}}
	key := func(s ledger.Signer) string {
		return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.PublicKey())))
	}
	var kr strings.Builder
	kr.WriteString("version: 1\nmembers:\n")
	for _, id := range slices.Sorted(func(yield func(string) bool) {
		for id := range w.roles {
			if !yield(id) {
				return
			}
		}
	}) {
		w.people[id] = agreeSigner(t, id)
		fmt.Fprintf(&kr, "  - {identity: %s, roles: [%s], keys: [%q]}\n", id, strings.Join(w.roles[id], ", "), key(w.people[id]))
	}
	w.people["stranger@example.com"] = agreeSigner(t, "stranger@example.com")
	root := fmt.Sprintf("version: 1\nthreshold: 1\nadmins:\n  - {identity: admin@example.com, keys: [%q]}\n", key(w.admin))
	pol := `version: 1
tiers:
  high:
    transitions:
      staging->production:
        require:
          - {role: model-owner, count: 1}
          - {any_of: [risk, compliance], count: 2}
        approval_valid_for: 72h
        require_review_of: [card, {metrics: 30s}]
        gates:
          - {name: auc, metric: roc_auc, min: 0.7}
          - {name: card, evidence: card}
`
	for _, text := range []string{root, kr.String(), pol} {
		d, err := policy.ParseDocument("doc", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		w.gov = append(w.gov, d)
	}
	w.root = w.gov[0].Digest
	var err error
	if w.stricter, err = policy.ParseDocument("doc", []byte(strings.Replace(strings.Replace(pol, "version: 1", "version: 2", 1), "min: 0.7", "min: 0.9", 1))); err != nil {
		t.Fatal(err)
	}
	w.bundle = t.TempDir()
	for name, text := range map[string]string{
		"bundle.yaml": `model: credit-risk
version: "7"
risk_tier: high
change: standard
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
		if err := os.WriteFile(filepath.Join(w.bundle, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := evidence.Open(w.bundle)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err = b.Seal(); err != nil {
		t.Fatal(err)
	}
	return w
}

// scenario builds a home holding the governance, dev's request (or a
// forged one) and random records, and returns it, the moment to judge at
// and the kinds of attack or change it holds.
func (w *agreeWorld) scenario(t *testing.T, rng *rand.Rand) (string, time.Time, map[string]bool) {
	kinds := map[string]bool{}
	dir := t.TempDir()
	h, err := home.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.SetPin(w.root); err != nil {
		t.Fatal(err)
	}
	l, err := h.Ledger()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	at := w.t0
	next := func() time.Time {
		at = at.Add(time.Duration(1+rng.IntN(6)) * time.Hour)
		return at
	}
	for i, d := range w.gov {
		if _, err := policy.Adopt(l, w.admin, d, nil, w.t0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	b, err := evidence.Open(w.bundle)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	st, err := b.Check()
	if err != nil {
		t.Fatal(err)
	}
	report, err := b.Evaluate()
	if err != nil {
		t.Fatal(err)
	}
	subj := policy.Subject{Model: "credit-risk", Version: "7", Bundle: st.Digest, From: "staging", To: "production"}
	index := subj.Bundle + "," + policy.VersionSubject(subj.Model, subj.Version)
	if rng.IntN(3) == 0 {
		// A member's forged request, alone: no authors, every gate passed,
		// with the evidence in the ledger.
		lock, err := b.SealedLock()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := policy.CarryEvidence(l, b, lock); err != nil {
			t.Fatal(err)
		}
		forged := &policy.Body{Subject: &subj, Tier: "high", Change: "standard",
			Results: []policy.Result{{Name: "auc", Kind: "metric", Status: policy.Pass}, {Name: "card", Kind: "evidence", Status: policy.Pass}}}
		if _, err := l.AppendSubject(w.people["ops@example.com"], policy.KindRequest, index, forged.Marshal(), next()); err != nil {
			t.Fatal(err)
		}
		kinds["forged request"] = true
	} else {
		req, err := policy.Request(l, w.people["dev@example.com"], b, st, report, w.root, next())
		if err != nil {
			t.Fatal(err)
		}
		if req.Subject != subj {
			t.Fatalf("the request's subject %+v, want %+v", req.Subject, subj)
		}
	}
	stricter := -1
	if rng.IntN(3) == 0 {
		stricter = rng.IntN(8)
	}
	ids := slices.Sorted(func(yield func(string) bool) {
		for id := range w.people {
			if !yield(id) {
				return
			}
		}
	})
	reviewed := []policy.Reviewed{{Section: "card", Seconds: 40}, {Section: "metrics", Seconds: 90}}
	approvers := []string{"owner@example.com", "mo@example.com", "r1@example.com", "r2@example.com", "c1@example.com"}
	for i := range 4 + rng.IntN(10) {
		if i == stricter {
			if _, err := policy.Adopt(l, w.admin, w.stricter, nil, next()); err != nil {
				t.Fatal(err)
			}
			kinds["stricter policy"] = true
		}
		id := ids[rng.IntN(len(ids))]
		if rng.IntN(10) < 7 {
			id = approvers[rng.IntN(len(approvers))]
		}
		s := w.people[id]
		roles := slices.Clone(w.roles[id])
		if len(roles) == 0 || rng.IntN(6) == 0 {
			roles = append(roles, "risk") // a role the keyring may not give them
		}
		body := &policy.Body{Subject: &subj, Reason: "because"}
		kind, index := policy.KindDecision, subj.Bundle
		switch x := rng.IntN(100); {
		case x < 7:
			kind, index = policy.KindRestrict, subj.Bundle+","+policy.VersionSubject(subj.Model, subj.Version)
			rs := subj
			rs.From, rs.To = "", ""
			body.Subject = &rs
		case x < 14:
			body.Verdict, body.Role = policy.Reject, roles[rng.IntN(len(roles))]
		case x < 19:
			body.Verdict, body.Role = policy.RequestChanges, roles[rng.IntN(len(roles))]
		default:
			body.Verdict, body.Role = policy.Approve, roles[rng.IntN(len(roles))]
			if rng.IntN(7) > 0 {
				body.Reviewed = reviewed
			}
		}
		if _, err := l.AppendSubject(s, kind, index, body.Marshal(), next()); err != nil {
			t.Fatal(err)
		}
	}
	return dir, at.Add(time.Duration(rng.IntN(60)) * time.Hour).Truncate(time.Second), kinds
}

// agreed is what each surface said.
type agreed struct {
	verify                *policy.Verdict
	verifyRaw, serveRaw   []byte
	verifyJSON, serveJSON any
	pending               policy.PendingRequest
	row                   data.Row
}

func (w *agreeWorld) surfaces(t *testing.T, dir string, at time.Time) agreed {
	var got agreed
	when := at.Format(time.RFC3339)
	runJSON := func(args ...string) []byte {
		var out, errs bytes.Buffer
		code := run(append([]string{"--home", dir}, args...), strings.NewReader(""), &out, &errs)
		if code > 1 {
			t.Fatalf("signoff %s: exit %d: %s", strings.Join(args, " "), code, errs.String())
		}
		return out.Bytes()
	}
	got.verifyRaw = runJSON("verify", "--model", "credit-risk", "--version", "7", "--to", "production", "--at", when, "--json")
	got.verify = &policy.Verdict{}
	if err := json.Unmarshal(got.verifyRaw, got.verify); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got.verifyRaw, &got.verifyJSON); err != nil {
		t.Fatal(err)
	}
	var st struct {
		Versions []policy.VersionStatus `json:"versions"`
	}
	if err := json.Unmarshal(runJSON("status", "--at", when, "--json"), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Versions) != 1 || len(st.Versions[0].Pending) != 1 {
		t.Fatalf("status: %+v", st)
	}
	got.pending = st.Versions[0].Pending[0]

	l, err := ledger.Open(filepath.Join(dir, home.LedgerDir))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	trust, err := policy.LoadTrust(l, w.root, at)
	if err != nil {
		t.Fatal(err)
	}
	me := data.WhoAmI(trust, ledger.FeedOf(w.people["r1@example.com"].PublicKey().Marshal()), "r1@example.com", at)
	var rows []data.Row
	if err := data.LoadQueue(context.Background(), l, trust, &policy.Reports{}, me, at, func(rs []data.Row) { rows = append(rows, rs...) }); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("the queue holds %d rows, want 1", len(rows))
	}
	got.row = rows[0]

	srv, err := ssync.NewServer(context.Background(), ssync.ServerOptions{Ledger: l, Anchor: w.root, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/v1/verdict?model=credit-risk&version=7&to=production&at="+when, nil))
	if rec.Code != 200 {
		t.Fatalf("GET /v1/verdict: %d %s", rec.Code, rec.Body)
	}
	got.serveRaw = rec.Body.Bytes()
	if err := json.Unmarshal(got.serveRaw, &got.serveJSON); err != nil {
		t.Fatal(err)
	}
	return got
}
