package demo

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/signoff-dev/signoff/evidence"
	"github.com/signoff-dev/signoff/policy"
)

func digests(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, name := range Bundles {
		b, err := evidence.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		l, err := b.Seal()
		b.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l.Digest())
	}
	return out
}

// TestDemoIsSeeded: two runs write the same bundles, byte for byte.
func TestDemoIsSeeded(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	if err := Write(a); err != nil {
		t.Fatal(err)
	}
	Write(b)
	da, db := digests(t, a), digests(t, b)
	for i := range da {
		if da[i] != db[i] {
			t.Fatalf("%s: digests %s and %s differ", Bundles[i], da[i], db[i])
		}
	}
}

// TestDemoGates: the demo shows both paths: the credit and triage models
// pass every gate, the recommender fails its latency gate only.
func TestDemoGates(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, PolicyFile))
	pol, err := policy.Parse(PolicyFile, data)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]string{
		"credit-risk-v7":   {},
		"recommender-v12":  {"p95-latency": policy.Fail},
		"sepsis-triage-v3": {},
	}
	for _, name := range Bundles {
		b, err := evidence.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Seal(); err != nil {
			t.Fatal(err)
		}
		report, err := b.Evaluate()
		if err != nil {
			t.Fatal(err)
		}
		gates, err := pol.GatesFor(b.Manifest.RiskTier, b.Manifest.Transition.String())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range policy.Evaluate(gates, b.Manifest, report) {
			status := want[name][r.Name]
			if status == "" {
				status = policy.Pass
			}
			if r.Status != status {
				t.Errorf("%s: gate %s %s (%s), want %s", name, r.Name, r.Status, r.Reason, status)
			}
		}
		b.Close()
	}
}
