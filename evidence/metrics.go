package evidence

import (
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
// the predictions at a threshold (score >= threshold is positive, as
// scikit-learn's predict does for predict_proba > 0.5 up to ties).
type Binary struct {
	Labels []bool
	Scores []float64
	Preds  []bool
}

// confusion counts true and false positives and negatives.
func (b *Binary) confusion() (tp, fp, tn, fn float64) {
	for i, y := range b.Labels {
		switch p := b.Preds[i]; {
		case p && y:
			tp++
		case p && !y:
			fp++
		case !p && !y:
			tn++
		default:
			fn++
		}
	}
	return
}

// BinaryMetrics computes every binary metric, named as in scikit-learn:
// accuracy, precision, recall, f1, roc_auc, pr_auc (average precision),
// log_loss, brier and ks.
func BinaryMetrics(b *Binary) map[string]Value {
	tp, fp, tn, fn := b.confusion()
	n := tp + fp + tn + fn
	m := map[string]Value{
		"accuracy":  ratio(tp+tn, n, "no rows"),
		"precision": ratio(tp, tp+fp, "no positive predictions"),
		"recall":    ratio(tp, tp+fn, "no positive labels"),
	}
	// scikit-learn's form, which is 0 (not undefined) when there are no
	// true positives but some false ones.
	m["f1"] = ratio(2*tp, 2*tp+fp+fn, "no positive labels and no positive predictions")
	if b.Scores == nil {
		return m
	}
	m["roc_auc"] = rocAUC(b.Labels, b.Scores)
	m["pr_auc"] = averagePrecision(b.Labels, b.Scores)
	m["ks"] = ks(b.Labels, b.Scores)
	if why := notProbabilities(b.Scores); why != "" {
		m["log_loss"], m["brier"] = undefined(why), undefined(why)
	} else {
		m["log_loss"] = logLoss(b.Labels, b.Scores)
		m["brier"] = brier(b.Labels, b.Scores)
	}
	return m
}

func classCounts(labels []bool) (pos, neg float64) {
	for _, y := range labels {
		if y {
			pos++
		} else {
			neg++
		}
	}
	return
}

func bothClasses(labels []bool) string {
	pos, neg := classCounts(labels)
	switch {
	case pos == 0 && neg == 0:
		return "no rows"
	case pos == 0:
		return "no positive labels"
	case neg == 0:
		return "no negative labels"
	}
	return ""
}

func notProbabilities(scores []float64) string {
	for _, s := range scores {
		if !(s >= 0 && s <= 1) {
			return "scores are not probabilities in [0, 1]"
		}
	}
	return ""
}

// byScore returns row indices sorted by descending score.
func byScore(scores []float64) []int {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	return idx
}

// rocAUC is the area under the ROC curve with ties counted half, which is
// what scikit-learn's trapezoidal roc_auc_score gives.
func rocAUC(labels []bool, scores []float64) Value {
	if why := bothClasses(labels); why != "" {
		return undefined(why)
	}
	pos, neg := classCounts(labels)
	idx := byScore(scores)
	var area, negAbove float64
	for i := 0; i < len(idx); {
		j := i
		var p, q float64
		for ; j < len(idx) && scores[idx[j]] == scores[idx[i]]; j++ {
			if labels[idx[j]] {
				p++
			} else {
				q++
			}
		}
		// Positives in this tie group outrank every negative below them
		// and tie with the negatives in the group.
		area += p * (neg - negAbove - q/2)
		negAbove += q
		i = j
	}
	return defined(area / (pos * neg))
}

// averagePrecision is scikit-learn's average_precision_score: the sum over
// distinct score thresholds, highest first, of (R_n - R_{n-1}) · P_n.
func averagePrecision(labels []bool, scores []float64) Value {
	pos, _ := classCounts(labels)
	if pos == 0 {
		return undefined("no positive labels")
	}
	idx := byScore(scores)
	var ap, tp, fp, lastRecall float64
	for i := 0; i < len(idx); {
		j := i
		for ; j < len(idx) && scores[idx[j]] == scores[idx[i]]; j++ {
			if labels[idx[j]] {
				tp++
			} else {
				fp++
			}
		}
		recall := tp / pos
		ap += (recall - lastRecall) * tp / (tp + fp)
		lastRecall = recall
		i = j
	}
	return defined(ap)
}

// ks is the Kolmogorov–Smirnov statistic between the score distributions
// of positives and negatives: the largest gap between TPR and FPR over all
// thresholds.
func ks(labels []bool, scores []float64) Value {
	if why := bothClasses(labels); why != "" {
		return undefined(why)
	}
	pos, neg := classCounts(labels)
	idx := byScore(scores)
	var best, tp, fp float64
	for i := 0; i < len(idx); {
		j := i
		for ; j < len(idx) && scores[idx[j]] == scores[idx[i]]; j++ {
			if labels[idx[j]] {
				tp++
			} else {
				fp++
			}
		}
		best = math.Max(best, math.Abs(tp/pos-fp/neg))
		i = j
	}
	return defined(best)
}

// logLoss is scikit-learn's log_loss with probabilities clipped to
// [eps, 1-eps], eps the float64 machine epsilon.
func logLoss(labels []bool, probs []float64) Value {
	if len(labels) == 0 {
		return undefined("no rows")
	}
	if why := bothClasses(labels); why != "" {
		// scikit-learn refuses a single class unless told the labels.
		return undefined(why)
	}
	const eps = 2.220446049250313e-16
	var sum float64
	for i, y := range labels {
		p := min(max(probs[i], eps), 1-eps)
		if y {
			sum -= math.Log(p)
		} else {
			sum -= math.Log(1 - p)
		}
	}
	return defined(sum / float64(len(labels)))
}

// brier is the mean squared difference between probability and label.
func brier(labels []bool, probs []float64) Value {
	if len(labels) == 0 {
		return undefined("no rows")
	}
	var sum float64
	for i, y := range labels {
		d := probs[i]
		if y {
			d -= 1
		}
		sum += d * d
	}
	return defined(sum / float64(len(labels)))
}

// RegressionMetrics computes rmse, mae and r2 as scikit-learn does, except
// that r2 of a constant target is undefined rather than 0 or 1.
func RegressionMetrics(truth, pred []float64) map[string]Value {
	n := float64(len(truth))
	if n == 0 {
		return map[string]Value{"rmse": undefined("no rows"), "mae": undefined("no rows"), "r2": undefined("no rows")}
	}
	var se, ae, mean float64
	for i, y := range truth {
		d := pred[i] - y
		se += d * d
		ae += math.Abs(d)
		mean += y
	}
	mean /= n
	var tot float64
	for _, y := range truth {
		tot += (y - mean) * (y - mean)
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
	[]string{"accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss", "brier", "ks"},
	[]string{"rmse", "mae", "r2"},
)
