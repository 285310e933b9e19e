package policy

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/signoff-dev/signoff/evidence"
)

// Gate outcomes.
const (
	Pass      = "pass"
	Fail      = "fail"
	Undefined = "undefined"
)

// A Result is one gate's outcome: pass, fail or undefined, the value
// observed, the bound and a sentence of reason.
type Result struct {
	Name     string         `json:"name"`
	Kind     string         `json:"kind"` // metric, baseline, fairness, evidence, expr
	Status   string         `json:"status"`
	Observed evidence.Value `json:"observed"`
	Bound    string         `json:"bound,omitempty"`
	Reason   string         `json:"reason"`
}

// GatesFor returns the gates of a tier's transition.
func (p *Policy) GatesFor(tier, transition string) ([]Gate, error) {
	tr, err := p.TransitionFor(tier, transition)
	if err != nil {
		return nil, err
	}
	return tr.Gates, nil
}

func keys[V any](m map[string]V) string {
	var ks []string
	for k := range m {
		ks = append(ks, fmt.Sprintf("%q", k))
	}
	sort.Strings(ks)
	if len(ks) == 0 {
		return "none"
	}
	return strings.Join(ks, ", ")
}

// Evaluate runs the gates over a bundle's manifest and evidence report.
func Evaluate(gates []Gate, m *evidence.Manifest, r *evidence.Report) []Result {
	var out []Result
	for i := range gates {
		out = append(out, gates[i].evaluate(m, r))
	}
	return out
}

// AllPass reports whether every result passed.
func AllPass(rs []Result) bool {
	for _, r := range rs {
		if r.Status != Pass {
			return false
		}
	}
	return true
}

func (g *Gate) evaluate(m *evidence.Manifest, r *evidence.Report) Result {
	switch {
	case g.Metric != "" && g.Baseline != nil:
		return g.baselineGate(r)
	case g.Metric != "":
		res := Result{Name: g.Name, Kind: "metric", Bound: bounds(g.Min, g.Max)}
		v, ok := r.Metrics.Candidate[g.Metric]
		if !ok {
			return undefinedResult(res, fmt.Sprintf("the bundle reports no %s", g.Metric))
		}
		res.Observed = v.Value
		if !v.Value.Defined() {
			return undefinedResult(res, fmt.Sprintf("%s is undefined: %s", g.Metric, v.Value.Undefined))
		}
		return within(res, g.Metric, v.Value.V, g.Min, g.Max)
	case g.Fairness != "":
		return g.fairnessGate(r)
	case g.Evidence != "":
		return g.evidenceGate(m)
	}
	return g.exprGate(m, r)
}

func undefinedResult(r Result, why string) Result {
	r.Status, r.Reason = Undefined, why
	if r.Observed.Defined() && r.Observed.V == 0 {
		r.Observed = evidence.Value{Undefined: why}
	}
	return r
}

func bounds(lo, hi *float64) string {
	var parts []string
	if lo != nil {
		parts = append(parts, fmt.Sprintf(">= %g", *lo))
	}
	if hi != nil {
		parts = append(parts, fmt.Sprintf("<= %g", *hi))
	}
	return strings.Join(parts, " and ")
}

func within(res Result, what string, v float64, lo, hi *float64) Result {
	res.Observed = evidence.Value{V: v}
	switch {
	case lo != nil && v < *lo:
		res.Status, res.Reason = Fail, fmt.Sprintf("%s is %.4g, below the minimum %g", what, v, *lo)
	case hi != nil && v > *hi:
		res.Status, res.Reason = Fail, fmt.Sprintf("%s is %.4g, above the maximum %g", what, v, *hi)
	default:
		res.Status, res.Reason = Pass, fmt.Sprintf("%s is %.4g, within %s", what, v, res.Bound)
	}
	return res
}

// baselineGate bounds the change against the baseline in the metric's
// better direction; with confidence 0.95 the bound must hold at the worse
// end of the interval: the paired interval of the difference when there
// is one, else the candidate's own interval against the baseline's value.
func (g *Gate) baselineGate(r *evidence.Report) Result {
	b := g.Baseline
	res := Result{Name: g.Name, Kind: "baseline"}
	var limit float64
	rel := b.MaxDropRel != nil || b.MinGainRel != nil
	switch {
	case b.MaxDrop != nil:
		limit, res.Bound = -*b.MaxDrop, fmt.Sprintf("worse by at most %g", *b.MaxDrop)
	case b.MaxDropRel != nil:
		limit, res.Bound = -*b.MaxDropRel, fmt.Sprintf("worse by at most %g%%", 100**b.MaxDropRel)
	case b.MinGain != nil:
		limit, res.Bound = *b.MinGain, fmt.Sprintf("better by at least %g", *b.MinGain)
	default:
		limit, res.Bound = *b.MinGainRel, fmt.Sprintf("better by at least %g%%", 100**b.MinGainRel)
	}
	if g.Confidence != 0 {
		res.Bound += " at the 95% bound"
	}
	cand, okC := r.Metrics.Candidate[g.Metric]
	base, okB := r.Metrics.Baseline[g.Metric]
	switch {
	case !okC:
		return undefinedResult(res, fmt.Sprintf("the bundle reports no candidate %s", g.Metric))
	case !okB:
		return undefinedResult(res, fmt.Sprintf("the bundle reports no baseline %s", g.Metric))
	case !cand.Value.Defined():
		return undefinedResult(res, fmt.Sprintf("candidate %s is undefined: %s", g.Metric, cand.Value.Undefined))
	case !base.Value.Defined():
		return undefinedResult(res, fmt.Sprintf("baseline %s is undefined: %s", g.Metric, base.Value.Undefined))
	}
	sign := 1.0
	if !evidence.HigherIsBetter(g.Metric) {
		sign = -1
	}
	gain := sign * (cand.Value.V - base.Value.V) // > 0: better
	how := "the change"
	if g.Confidence != 0 {
		d := r.Metrics.Diff[g.Metric]
		switch {
		case d.CI != nil:
			gain = math.Min(sign*d.CI[0], sign*d.CI[1])
			how = "the worse end of the paired 95% interval of the change"
		case cand.CI != nil:
			gain = math.Min(sign*(cand.CI[0]-base.Value.V), sign*(cand.CI[1]-base.Value.V))
			how = "the candidate's 95% interval against the baseline"
		default:
			return undefinedResult(res, fmt.Sprintf("no 95%% interval for %s to hold the bound at", g.Metric))
		}
	}
	observed := gain
	if rel {
		if base.Value.V == 0 {
			return undefinedResult(res, "a relative change from a baseline of 0 is undefined")
		}
		observed = gain / math.Abs(base.Value.V)
	}
	res.Observed = evidence.Value{V: observed}
	word := "better"
	if observed < 0 {
		word = "worse"
	}
	amount := fmt.Sprintf("%.4g", math.Abs(observed))
	if rel {
		amount = fmt.Sprintf("%.2f%%", 100*math.Abs(observed))
	}
	if observed >= limit {
		res.Status = Pass
	} else {
		res.Status = Fail
	}
	res.Reason = fmt.Sprintf("%s: %s is %s %s (candidate %.4g, baseline %.4g); allowed: %s", g.Metric, how, amount, word, cand.Value.V, base.Value.V, res.Bound)
	return res
}

var fairnessMetrics = map[string]func(evidence.FairnessJSON) evidence.Value{
	"demographic_parity_difference": func(f evidence.FairnessJSON) evidence.Value { return f.DemographicParityDifference },
	"demographic_parity_ratio":      func(f evidence.FairnessJSON) evidence.Value { return f.DemographicParityRatio },
	"equalized_odds_difference":     func(f evidence.FairnessJSON) evidence.Value { return f.EqualizedOddsDifference },
	"equal_opportunity_difference":  func(f evidence.FairnessJSON) evidence.Value { return f.EqualOpportunityDifference },
	"disparate_impact":              func(f evidence.FairnessJSON) evidence.Value { return f.DisparateImpact },
}

func (g *Gate) fairnessGate(r *evidence.Report) Result {
	res := Result{Name: g.Name, Kind: "fairness", Bound: bounds(g.Min, g.Max)}
	var reasons []string
	status := Pass
	worst := evidence.Value{}
	first := true
	for _, col := range g.Groups {
		f, ok := r.Fairness[col]
		if !ok {
			reasons = append(reasons, fmt.Sprintf("no fairness table for %q (the manifest's predictions list no such group column)", col))
			if status == Pass {
				status = Undefined
			}
			continue
		}
		v := fairnessMetrics[g.Fairness](f)
		if !v.Defined() {
			reasons = append(reasons, fmt.Sprintf("%s by %s is undefined: %s", g.Fairness, col, v.Undefined))
			if status == Pass {
				status = Undefined
			}
			continue
		}
		one := within(Result{Bound: res.Bound}, g.Fairness+" by "+col, v.V, g.Min, g.Max)
		reasons = append(reasons, one.Reason)
		if one.Status == Fail {
			status = Fail
		}
		if first || (g.Min != nil && v.V < worst.V) || (g.Min == nil && v.V > worst.V) {
			worst, first = v, false
		}
	}
	res.Status, res.Reason, res.Observed = status, strings.Join(reasons, "; "), worst
	if first {
		res.Observed = evidence.Value{Undefined: res.Reason}
	}
	return res
}

func (g *Gate) evidenceGate(m *evidence.Manifest) Result {
	res := Result{Name: g.Name, Kind: "evidence", Bound: g.Evidence + " present"}
	var missing []string
	need := func(ok bool, what string) {
		if !ok {
			missing = append(missing, what)
		}
	}
	rp := m.Reproducibility
	switch g.Evidence {
	case "card":
		need(m.Card != "", "a model card (card:)")
	case "metrics":
		need(m.Metrics.Candidate != "" || m.Predictions != nil, "candidate metrics (metrics.candidate or predictions)")
	case "predictions":
		need(m.Predictions != nil, "predictions")
	case "scans":
		need(len(m.Scans) > 0, "security and licence scans (scans:)")
	case "docs":
		need(m.Docs.Monitoring != "", "a monitoring plan (docs.monitoring)")
		need(m.Docs.Rollback != "", "a rollback plan (docs.rollback)")
	case "monitoring":
		need(m.Docs.Monitoring != "", "a monitoring plan (docs.monitoring)")
	case "rollback":
		need(m.Docs.Rollback != "", "a rollback plan (docs.rollback)")
	case "artifacts":
		need(len(m.Artifacts) > 0, "artifacts")
	case "reproducibility":
		need(rp.Code != "", "reproducibility.code")
		need(rp.DataSnapshot != "", "reproducibility.data_snapshot")
		need(rp.Config != "", "reproducibility.config")
		need(rp.Seed != nil, "reproducibility.seed")
	}
	if len(missing) > 0 {
		res.Status, res.Reason = Fail, "missing: "+strings.Join(missing, ", ")
		res.Observed = evidence.Value{Undefined: "missing"}
		return res
	}
	res.Status, res.Reason, res.Observed = Pass, g.Evidence+" present", evidence.Value{V: 1}
	return res
}

func (g *Gate) exprGate(m *evidence.Manifest, r *evidence.Report) Result {
	res := Result{Name: g.Name, Kind: "expr", Bound: g.Expr}
	out, _, err := g.prg.Eval(activation(m, r))
	if err != nil {
		return undefinedResult(Result{Name: g.Name, Kind: "expr", Bound: g.Expr, Observed: evidence.Value{Undefined: "not evaluated"}}, fmt.Sprintf("the expression could not be evaluated: %v (an undefined metric is absent)", err))
	}
	b, ok := out.Value().(bool)
	if !ok {
		return undefinedResult(Result{Name: g.Name, Kind: "expr", Bound: g.Expr, Observed: evidence.Value{Undefined: "not a condition"}}, fmt.Sprintf("the expression gave %v, not true or false", out.Value()))
	}
	if b {
		res.Status, res.Reason, res.Observed = Pass, "the expression holds", evidence.Value{V: 1}
	} else {
		res.Status, res.Reason, res.Observed = Fail, "the expression does not hold", evidence.Value{V: 0}
	}
	return res
}

// activation is what expressions see: metrics.candidate/baseline/diff,
// fairness by column, and the manifest. Undefined values are left out, so
// an expression that uses one fails to evaluate instead of reading 0.
func activation(m *evidence.Manifest, r *evidence.Report) map[string]any {
	values := func(ms map[string]evidence.Metric) map[string]any {
		out := map[string]any{}
		for k, v := range ms {
			if v.Value.Defined() {
				out[k] = v.Value.V
			}
		}
		return out
	}
	diff := map[string]any{}
	for k, d := range r.Metrics.Diff {
		e := map[string]any{}
		if d.Abs.Defined() {
			e["abs"] = d.Abs.V
		}
		if d.Rel.Defined() {
			e["rel"] = d.Rel.V
		}
		diff[k] = e
	}
	fair := map[string]any{}
	for col, f := range r.Fairness {
		e := map[string]any{}
		for name, get := range fairnessMetrics {
			if v := get(f); v.Defined() {
				e[name] = v.V
			}
		}
		groups := map[string]any{}
		for gv, s := range f.Groups {
			ge := map[string]any{"n": float64(s.N)}
			for name, v := range map[string]evidence.Value{"selection_rate": s.SelectionRate, "tpr": s.TPR, "fpr": s.FPR} {
				if v.Defined() {
					ge[name] = v.V
				}
			}
			groups[gv] = ge
		}
		e["groups"] = groups
		fair[col] = e
	}
	authors := []any{}
	for _, a := range m.Authors {
		authors = append(authors, a)
	}
	return map[string]any{
		"metrics":  map[string]any{"candidate": values(r.Metrics.Candidate), "baseline": values(r.Metrics.Baseline), "diff": diff},
		"fairness": fair,
		"manifest": map[string]any{
			"model": m.Model, "version": m.Version, "risk_tier": m.RiskTier, "change": m.Change,
			"transition": map[string]any{"from": m.Transition.From, "to": m.Transition.To},
			"authors":    authors,
		},
	}
}
