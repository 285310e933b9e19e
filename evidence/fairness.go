package evidence

import (
	"fmt"
	"math"
)

// GroupStats are one group's rates.
type GroupStats struct {
	Value         string `json:"value"`
	N             int    `json:"n"`
	SelectionRate Value  `json:"selection_rate"`
	TPR           Value  `json:"tpr"`
	FPR           Value  `json:"fpr"`
}

// Fairness is the fairness table of one group column: each group's rates
// and the disparities between groups, as Fairlearn computes them with
// method "between_groups" (largest minus smallest, smallest over largest).
type Fairness struct {
	Column string       `json:"column"`
	Groups []GroupStats `json:"groups"` // in order of first appearance

	DemographicParityDifference Value `json:"demographic_parity_difference"` // selection rate: max - min
	DemographicParityRatio      Value `json:"demographic_parity_ratio"`      // selection rate: min / max
	EqualizedOddsDifference     Value `json:"equalized_odds_difference"`     // the larger of the TPR and FPR gaps
	EqualOpportunityDifference  Value `json:"equal_opportunity_difference"`  // TPR: max - min
	DisparateImpact             Value `json:"disparate_impact"`              // selection rate: min / max
	// FourFifths reports whether disparate impact is at least 0.8, the
	// four-fifths rule; false when it is undefined.
	FourFifths bool `json:"four_fifths"`
}

// FairnessTables computes the table of every group column of rows.
func FairnessTables(rows *Rows) []Fairness {
	var out []Fairness
	for _, g := range rows.Groups {
		out = append(out, fairnessOf(g, rows.Labels, rows.Preds))
	}
	return out
}

func fairnessOf(g GroupColumn, labels, preds []bool) Fairness {
	type counts struct{ n, sel, tp, fn, fp, tn int }
	c := make([]counts, len(g.Values))
	for i, v := range g.Of {
		k := &c[v]
		k.n++
		switch y, p := labels[i], preds[i]; {
		case p && y:
			k.sel++
			k.tp++
		case p && !y:
			k.sel++
			k.fp++
		case !p && y:
			k.fn++
		default:
			k.tn++
		}
	}
	f := Fairness{Column: g.Name}
	for i, v := range g.Values {
		k := c[i]
		f.Groups = append(f.Groups, GroupStats{
			Value:         v,
			N:             k.n,
			SelectionRate: ratio(float64(k.sel), float64(k.n), fmt.Sprintf("group %q is empty", v)),
			TPR:           ratio(float64(k.tp), float64(k.tp+k.fn), fmt.Sprintf("group %q has no positive labels", v)),
			FPR:           ratio(float64(k.fp), float64(k.fp+k.tn), fmt.Sprintf("group %q has no negative labels", v)),
		})
	}
	sel := spread(f.Groups, func(s GroupStats) Value { return s.SelectionRate })
	tpr := spread(f.Groups, func(s GroupStats) Value { return s.TPR })
	fpr := spread(f.Groups, func(s GroupStats) Value { return s.FPR })
	f.DemographicParityDifference = sel.diff
	f.DemographicParityRatio = sel.ratio
	f.DisparateImpact = sel.ratio
	f.FourFifths = sel.ratio.Defined() && sel.ratio.V >= 0.8
	f.EqualOpportunityDifference = tpr.diff
	switch {
	case !tpr.diff.Defined():
		f.EqualizedOddsDifference = tpr.diff
	case !fpr.diff.Defined():
		f.EqualizedOddsDifference = fpr.diff
	default:
		f.EqualizedOddsDifference = defined(math.Max(tpr.diff.V, fpr.diff.V))
	}
	return f
}

type between struct{ diff, ratio Value }

// spread is the largest minus the smallest of a rate over the groups, and
// the smallest over the largest. A group where the rate is undefined makes
// both undefined, with its reason: it is never counted as 0.
func spread(groups []GroupStats, rate func(GroupStats) Value) between {
	if len(groups) < 2 {
		why := "fewer than two groups"
		return between{undefined(why), undefined(why)}
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, g := range groups {
		v := rate(g)
		if !v.Defined() {
			return between{v, v}
		}
		lo, hi = math.Min(lo, v.V), math.Max(hi, v.V)
	}
	return between{defined(hi - lo), ratio(lo, hi, "every group's rate is 0")}
}
