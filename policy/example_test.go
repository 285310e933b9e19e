package policy_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/signoff-dev/signoff/evidence"
	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
)

// signer returns a signer whose key is derived from its identity, so the
// example's output is the same each run.
func signer(id string) ledger.Signer {
	sum := sha256.Sum256([]byte(id))
	s, _ := ssh.NewSignerFromKey(ed25519.NewKeyFromSeed(sum[:]))
	ls, _ := ledger.NewSigner(s, id)
	return ls
}

func keyLine(s ledger.Signer) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.PublicKey())))
}

// Governance is adopted, a bundle requested and approved; Judge says
// whether it may move, and why not until it may.
func ExampleJudge() {
	tmp, _ := os.MkdirTemp("", "policy")
	defer os.RemoveAll(tmp)
	l, _ := ledger.Open(filepath.Join(tmp, "ledger"))
	defer l.Close()
	admin, dev, owner, risk := signer("admin@example.com"), signer("dev@example.com"), signer("owner@example.com"), signer("risk@example.com")
	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	root := fmt.Sprintf("version: 1\nthreshold: 1\nadmins:\n  - {identity: admin@example.com, keys: [%q]}\n", keyLine(admin))
	keyring := fmt.Sprintf(`version: 1
members:
  - {identity: dev@example.com, roles: [engineer], keys: [%q]}
  - {identity: owner@example.com, roles: [model-owner], keys: [%q]}
  - {identity: risk@example.com, roles: [risk], keys: [%q]}
`, keyLine(dev), keyLine(owner), keyLine(risk))
	pol := `version: 1
tiers:
  high:
    transitions:
      staging->production:
        require:
          - {role: model-owner, count: 1}
          - {role: risk, count: 1}
        gates:
          - {name: auc, metric: roc_auc, min: 0.7}
`
	var anchor string
	for i, text := range []string{root, keyring, pol} {
		doc, _ := policy.ParseDocument("doc", []byte(text))
		policy.Adopt(l, admin, doc, nil, t0.Add(time.Duration(i)*time.Second))
		if i == 0 {
			anchor = doc.Digest
		}
	}

	dir := filepath.Join(tmp, "bundle")
	os.Mkdir(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "bundle.yaml"), []byte(`model: credit-risk
version: "7"
risk_tier: high
transition: {from: staging, to: production}
authors: [dev@example.com]
metrics: {candidate: metrics.json}
`), 0o644)
	os.WriteFile(filepath.Join(dir, "metrics.json"), []byte(`{"roc_auc": 0.81}`), 0o644)
	b, _ := evidence.Open(dir)
	defer b.Close()
	b.Seal()
	st, _ := b.Check()
	report, _ := b.Evaluate()
	req, err := policy.Request(l, dev, b, st, report, anchor, t0.Add(time.Hour))
	if err != nil {
		fmt.Println(err)
		return
	}
	approve := func(s ledger.Signer, role string, at time.Time) {
		d := policy.Decision{Subject: req.Subject, Verdict: policy.Approve, Role: role, Reason: "looks right", Gates: req.Results}
		if _, err := policy.Decide(l, s, d, anchor, at); err != nil {
			fmt.Println(err)
		}
	}
	judge := func(at time.Time) {
		v, err := policy.Judge(l, policy.Query{Bundle: req.Subject.Bundle, To: "production", At: at, Anchor: anchor})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(v.Approved, v.Reasons)
	}

	approve(owner, "model-owner", t0.Add(2*time.Hour))
	judge(t0.Add(3 * time.Hour))
	approve(risk, "risk", t0.Add(4*time.Hour))
	judge(t0.Add(5 * time.Hour))
	// The author's own approval would not count: Decide says so and signs
	// nothing.
	approve(dev, "engineer", t0.Add(6*time.Hour))
	// Output:
	// false [needs 1 more of {risk}]
	// true []
	// this approval would not count: dev@example.com is an author and cannot approve
}

// A policy's gates, evaluated over a bundle's evidence: a pure function.
func ExampleEvaluate() {
	p, err := policy.Parse("policy.yaml", []byte(`version: 1
tiers:
  low:
    transitions:
      staging->production:
        require: [{role: model-owner, count: 1}]
        gates:
          - {name: auc-floor, metric: roc_auc, min: 0.7}
          - {name: auc-vs-champion, metric: roc_auc, baseline: {max_drop: 0.01}}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	gates, _ := p.GatesFor("low", "staging->production")
	report := &evidence.Report{Metrics: evidence.Metrics{
		Candidate: map[string]evidence.Metric{"roc_auc": {Value: evidence.Value{V: 0.75}}},
		Baseline:  map[string]evidence.Metric{"roc_auc": {Value: evidence.Value{V: 0.78}}},
	}}
	for _, r := range policy.Evaluate(gates, &evidence.Manifest{}, report) {
		fmt.Println(r.Name, r.Status)
	}
	// Output:
	// auc-floor pass
	// auc-vs-champion fail
}
