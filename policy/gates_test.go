package policy

import (
	"strings"
	"testing"

	"github.com/signoff-dev/signoff/evidence"
)

func f(x float64) *float64 { return &x }

func report(metric string, cand, base float64, candCI, diffCI *[2]float64) *evidence.Report {
	r := &evidence.Report{Metrics: evidence.Metrics{
		Candidate: map[string]evidence.Metric{metric: {Value: evidence.Value{V: cand}, CI: candCI}},
		Baseline:  map[string]evidence.Metric{metric: {Value: evidence.Value{V: base}}},
		Diff:      map[string]evidence.Diff{metric: {CI: diffCI}},
	}}
	return r
}

func run(t *testing.T, g Gate, r *evidence.Report) Result {
	t.Helper()
	if err := g.check(); err != nil {
		t.Fatal(err)
	}
	return g.evaluate(&evidence.Manifest{}, r)
}

func TestBaselineGate(t *testing.T) {
	drop := &Baseline{MaxDrop: f(0.01)}
	for _, tc := range []struct {
		name   string
		gate   Gate
		r      *evidence.Report
		status string
		reason string
	}{
		{"auc within drop", Gate{Name: "g", Metric: "roc_auc", Baseline: drop}, report("roc_auc", 0.825, 0.83, nil, nil), Pass, "is 0.005 worse"},
		{"auc beyond drop", Gate{Name: "g", Metric: "roc_auc", Baseline: drop}, report("roc_auc", 0.81, 0.83, nil, nil), Fail, "is 0.02 worse"},
		// The point change passes but the paired interval's worse end
		// (-0.03) does not.
		{"at the bound, paired", Gate{Name: "g", Metric: "roc_auc", Baseline: drop, Confidence: 0.95}, report("roc_auc", 0.83, 0.83, nil, &[2]float64{-0.03, 0.02}), Fail, "paired 95% interval"},
		{"at the bound, candidate interval", Gate{Name: "g", Metric: "roc_auc", Baseline: drop, Confidence: 0.95}, report("roc_auc", 0.84, 0.83, &[2]float64{0.825, 0.85}, nil), Pass, "candidate's 95% interval"},
		{"no interval", Gate{Name: "g", Metric: "roc_auc", Baseline: drop, Confidence: 0.95}, report("roc_auc", 0.84, 0.83, nil, nil), Undefined, "no 95% interval"},
		// Lower is better for log_loss: a rise is a drop.
		{"log_loss rises", Gate{Name: "g", Metric: "log_loss", Baseline: drop}, report("log_loss", 0.35, 0.30, nil, nil), Fail, "worse"},
		{"log_loss falls", Gate{Name: "g", Metric: "log_loss", Baseline: drop}, report("log_loss", 0.25, 0.30, nil, nil), Pass, "better"},
		// CTR up by at least 2%: 0.102 over 0.100 is exactly 2%.
		{"ctr gain", Gate{Name: "g", Metric: "ctr", Baseline: &Baseline{MinGainRel: f(0.02)}}, report("ctr", 0.1025, 0.100, nil, nil), Pass, "2.50% better"},
		{"ctr short", Gate{Name: "g", Metric: "ctr", Baseline: &Baseline{MinGainRel: f(0.02)}}, report("ctr", 0.101, 0.100, nil, nil), Fail, "1.00% better"},
		{"relative from 0", Gate{Name: "g", Metric: "ctr", Baseline: &Baseline{MinGainRel: f(0.02)}}, report("ctr", 0.1, 0, nil, nil), Undefined, "baseline of 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := run(t, tc.gate, tc.r)
			if got.Status != tc.status || !strings.Contains(got.Reason, tc.reason) {
				t.Fatalf("%s: %q, want %s with %q", got.Status, got.Reason, tc.status, tc.reason)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	head := "version: 1\ntiers:\n  high:\n    transitions:\n      staging->production:\n        gates:\n"
	for _, tc := range []struct{ gates, want string }{
		{"          - {metric: auc, min: 1}", "every gate needs a name"},
		{"          - {name: a, metric: auc}", "a metric gate has min and/or max, or a baseline bound"},
		{"          - {name: a, metric: auc, min: 0.1, confidence: 0.95}", "confidence 0.95"},
		{"          - {name: a, metric: auc, baseline: {max_drop: 0.1, min_gain: 0.1}}", "one of max_drop"},
		{"          - {name: a, fairness: parity, groups: [sex], min: 0.8}", `fairness metric "parity" is not one of`},
		{"          - {name: a, fairness: disparate_impact, min: 0.8}", "names its group columns"},
		{"          - {name: a, evidence: vibes}", `evidence "vibes" is not one of`},
		{"          - {name: a, expr: \"1 + 1\"}", "want a condition"},
		{"          - {name: a, evidence: card}\n          - {name: a, evidence: scans}", `two gates named "a"`},
		{"          - {name: a, evidence: card, colour: red}", "field colour not found"},
	} {
		_, err := Parse("p.yaml", []byte(head+tc.gates+"\n"))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "p.yaml: line ") {
			t.Errorf("%s: %v, want a line and %q", tc.gates, err, tc.want)
		}
	}
	if _, err := Parse("p.yaml", []byte("version: 1\ntiers: {high: {transitions: {staging: {gates: []}}}}\n")); err == nil || !strings.Contains(err.Error(), "is not FROM->TO") {
		t.Errorf("bad transition: %v", err)
	}
}

// TestExpressionCost: an expression that would run long is stopped by the
// cost limit, and the gate is undefined rather than hanging.
func TestExpressionCost(t *testing.T) {
	g := Gate{Name: "g", Expr: "[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, [1,2,3,4,5,6,7,8,9,10].all(d, [1,2,3,4,5,6,7,8,9,10].all(e, [1,2,3,4,5,6,7,8,9,10].all(f, a+b+c+d+e+f > 0))))))"}
	got := run(t, g, report("x", 1, 1, nil, nil))
	if got.Status != Undefined || !strings.Contains(got.Reason, "cost") {
		t.Fatalf("%s: %s", got.Status, got.Reason)
	}
}

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte("version: 1\ntiers:\n  high:\n    transitions:\n      staging->production:\n        gates:\n          - {name: a, metric: roc_auc, min: 0.7}\n          - {name: b, expr: \"metrics.candidate.recall >= 0.6\"}\n          - {name: c, fairness: disparate_impact, groups: [sex], min: 0.8}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("p.yaml", data)
		if err != nil {
			return
		}
		// A policy that parses evaluates without panicking on empty evidence.
		empty := &evidence.Report{Metrics: evidence.Metrics{Candidate: map[string]evidence.Metric{}, Baseline: map[string]evidence.Metric{}, Diff: map[string]evidence.Diff{}}, Fairness: map[string]evidence.FairnessJSON{}}
		for _, tier := range p.Tiers {
			for _, tr := range tier.Transitions {
				for _, r := range Evaluate(tr.Gates, &evidence.Manifest{}, empty) {
					if r.Status == Pass && r.Kind != "expr" && r.Kind != "evidence" {
						t.Fatalf("gate %s passed on no evidence", r.Name)
					}
				}
			}
		}
	})
}
