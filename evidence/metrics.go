package evidence

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// A Value is a metric's value, or why it has none: a metric that is not
// defined for the data (a class absent, a constant score) says so instead
// of printing a number.
type Value struct {
	V         float64
	Undefined string // the reason, when the metric is undefined
}

// Defined reports whether v holds a number.
func (v Value) Defined() bool { return v.Undefined == "" }

// MarshalJSON writes a defined value as a number and an undefined one as
// {"undefined": reason}: never a number, and not a null a script could
// mistake for zero.
func (v Value) MarshalJSON() ([]byte, error) {
	if !v.Defined() {
		return json.Marshal(struct {
			Undefined string `json:"undefined"`
		}{v.Undefined})
	}
	if math.IsNaN(v.V) || math.IsInf(v.V, 0) {
		return json.Marshal(struct {
			Undefined string `json:"undefined"`
		}{"not a finite number"})
	}
	return json.Marshal(v.V)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (v *Value) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '{' {
		var u struct {
			Undefined string `json:"undefined"`
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&u); err != nil || u.Undefined == "" {
			return errors.New(`a value is a number or {"undefined": reason}`)
		}
		*v = Value{Undefined: u.Undefined}
		return nil
	}
	var x float64
	if err := json.Unmarshal(b, &x); err != nil {
		return errors.New(`a value is a number or {"undefined": reason}`)
	}
	*v = Value{V: x}
	return nil
}

func (v Value) String() string {
	if !v.Defined() {
		return "undefined (" + v.Undefined + ")"
	}
	return fmt.Sprintf("%.4g", v.V)
}

func defined(x float64) Value    { return Value{V: x} }
func undefined(why string) Value { return Value{Undefined: why} }
func ratio(num, den float64, why string) Value {
	if den == 0 {
		return undefined(why)
	}
	return defined(num / den)
}

// HigherIsBetter reports whether a larger value of the named metric is
// better, as diffs and gates against a baseline need to know.
func HigherIsBetter(metric string) bool {
	switch metric {
	case "log_loss", "brier", "rmse", "mae":
		return false
	}
	return true
}

// Binary holds the rows of a binary classifier: labels 0 or 1, scores, and
// the predictions at a threshold (score >= threshold is positive).
type Binary struct {
	Labels []bool
	Scores []float64
	Preds  []bool

	prep *prepared // computed once, for the metrics and every resample
}

// prepared lays the rows out in descending score order with what each row
// adds to every metric, so that computing the metrics under any weighting
// of the rows (a bootstrap resample) is one sequential pass with no
// logarithms.
type prepared struct {
	cell   []uint8   // confusion cell: cellTP, cellFP, cellTN, cellFN
	pos    []bool    // label
	tieEnd []bool    // the last row of its group of equal scores
	ll     []float64 // log-loss term; nil when scores are not probabilities
	br     []float64 // squared error of the probability
	why    string    // why log_loss and brier are undefined, if they are
	scores bool
	rank   []int32 // rank[i] is row i's position in score order
}

const (
	cellTP = iota
	cellFP
	cellTN
	cellFN
)

func (b *Binary) prepare() *prepared {
	if b.prep != nil {
		return b.prep
	}
	n := len(b.Labels)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	p := &prepared{cell: make([]uint8, n), pos: make([]bool, n), tieEnd: make([]bool, n), scores: b.Scores != nil, rank: make([]int32, n)}
	if p.scores {
		sort.SliceStable(order, func(x, y int) bool { return b.Scores[order[x]] > b.Scores[order[y]] })
		if p.why = notProbabilities(b.Scores); p.why == "" {
			p.ll, p.br = make([]float64, n), make([]float64, n)
		}
	}
	const eps = 2.220446049250313e-16
	for k, i := range order {
		p.rank[i] = int32(k)
		y, pr := b.Labels[i], b.Preds[i]
		p.pos[k] = y
		switch {
		case pr && y:
			p.cell[k] = cellTP
		case pr && !y:
			p.cell[k] = cellFP
		case !pr && !y:
			p.cell[k] = cellTN
		default:
			p.cell[k] = cellFN
		}
		p.tieEnd[k] = !p.scores || k == n-1 || b.Scores[order[k+1]] != b.Scores[i]
		if p.ll != nil {
			q := min(max(b.Scores[i], eps), 1-eps)
			d := b.Scores[i]
			if y {
				p.ll[k], d = -math.Log(q), d-1
			} else {
				p.ll[k] = -math.Log(1 - q)
			}
			p.br[k] = d * d
		}
	}
	b.prep = p
	return p
}

// BinaryMetrics computes every binary metric, named as in scikit-learn:
// accuracy, precision, recall, f1, roc_auc, pr_auc (average precision),
// log_loss, brier and ks.
func BinaryMetrics(b *Binary) map[string]Value { return b.prepare().metrics(nil) }

// metrics computes the metrics with the row at each sorted position k
// counted w[k] times (once each when w is nil). Counts are small (a
// bootstrap draws a row about once), and small counts keep a resample's
// random increments within the cache.
func (p *prepared) metrics(w []uint16) map[string]Value {
	// Two sequential passes: the totals, then down the scores tie group
	// by tie group for the AUC (ties count half, as in scikit-learn's
	// trapezoidal AUC), average precision (the sum over thresholds of
	// (R_n - R_{n-1}) P_n) and KS (the largest |TPR - FPR|).
	var cells [4]float64
	var ll, br float64
	for k, c := range p.cell {
		wk := 1.0
		if w != nil {
			wk = float64(w[k])
		}
		cells[c] += wk
		if p.ll != nil {
			ll += wk * p.ll[k]
			br += wk * p.br[k]
		}
	}
	tp, fp, tn, fn := cells[cellTP], cells[cellFP], cells[cellTN], cells[cellFN]
	pos, neg := tp+fn, fp+tn
	m := map[string]Value{
		"accuracy":  ratio(tp+tn, pos+neg, "no rows"),
		"precision": ratio(tp, tp+fp, "no positive predictions"),
		"recall":    ratio(tp, pos, "no positive labels"),
		// Specificity is scikit-learn's recall of the negative class.
		"specificity": ratio(tn, neg, "no negative labels"),
		// scikit-learn's form, which is 0 (not undefined) when there are
		// no true positives but some false ones.
		"f1": ratio(2*tp, 2*tp+fp+fn, "no positive labels and no positive predictions"),
	}
	if !p.scores {
		return m
	}
	both := ""
	switch {
	case pos == 0 && neg == 0:
		both = "no rows"
	case pos == 0:
		both = "no positive labels"
	case neg == 0:
		both = "no negative labels"
	}
	var area, ctp, cfp, apSum, ksMax, gp, gn float64
	for k, y := range p.pos {
		wk := 1.0
		if w != nil {
			wk = float64(w[k])
		}
		if y {
			gp += wk
		} else {
			gn += wk
		}
		if !p.tieEnd[k] || gp == 0 && gn == 0 {
			continue
		}
		// Negatives in this group rank below every positive above it and
		// tie with the group's positives.
		area += gn * (ctp + gp/2)
		ctp, cfp = ctp+gp, cfp+gn
		apSum += gp * ctp / (ctp + cfp)
		if pos > 0 && neg > 0 {
			ksMax = math.Max(ksMax, math.Abs(ctp/pos-cfp/neg))
		}
		gp, gn = 0, 0
	}
	ap := apSum / pos
	if both != "" {
		m["roc_auc"], m["ks"] = undefined(both), undefined(both)
	} else {
		m["roc_auc"], m["ks"] = defined(area/(pos*neg)), defined(ksMax)
	}
	if pos == 0 {
		m["pr_auc"] = undefined(firstOf(both, "no positive labels"))
	} else {
		m["pr_auc"] = defined(ap)
	}
	switch {
	case p.ll == nil:
		m["log_loss"], m["brier"] = undefined(p.why), undefined(p.why)
	case pos+neg == 0:
		m["log_loss"], m["brier"] = undefined("no rows"), undefined("no rows")
	case both != "":
		// scikit-learn refuses log_loss for a single class unless told
		// the labels.
		m["log_loss"], m["brier"] = undefined(both), defined(br/(pos+neg))
	default:
		m["log_loss"], m["brier"] = defined(ll/(pos+neg)), defined(br/(pos+neg))
	}
	return m
}

func notProbabilities(scores []float64) string {
	for _, s := range scores {
		if !(s >= 0 && s <= 1) {
			return "scores are not probabilities in [0, 1]"
		}
	}
	return ""
}

// RegressionMetrics computes rmse, mae and r2 as scikit-learn does, except
// that r2 of a constant target is undefined rather than 0 or 1.
func RegressionMetrics(truth, pred []float64) map[string]Value {
	return regressionMetrics(truth, pred, nil)
}

// regressionMetrics counts row i w[i] times (once when w is nil).
func regressionMetrics(truth, pred []float64, w []uint16) map[string]Value {
	weight := func(i int) float64 {
		if w == nil {
			return 1
		}
		return float64(w[i])
	}
	var n, se, ae, mean float64
	for i, y := range truth {
		wi := weight(i)
		d := pred[i] - y
		n += wi
		se += wi * d * d
		ae += wi * math.Abs(d)
		mean += wi * y
	}
	if n == 0 {
		return map[string]Value{"rmse": undefined("no rows"), "mae": undefined("no rows"), "r2": undefined("no rows")}
	}
	mean /= n
	var tot float64
	for i, y := range truth {
		tot += weight(i) * (y - mean) * (y - mean)
	}
	m := map[string]Value{"rmse": defined(math.Sqrt(se / n)), "mae": defined(ae / n)}
	if tot == 0 {
		m["r2"] = undefined("the true values are constant")
	} else {
		m["r2"] = defined(1 - se/tot)
	}
	return m
}

// MetricNames lists the metrics signoff computes, binary then regression.
var MetricNames = slices.Concat(
	[]string{"accuracy", "precision", "recall", "specificity", "f1", "roc_auc", "pr_auc", "log_loss", "brier", "ks"},
	[]string{"rmse", "mae", "r2"},
)
