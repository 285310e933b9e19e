package evidence

import (
	"math"
	"math/rand/v2"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

func mustValue(t *testing.T, m map[string]Value, name string, want float64) {
	t.Helper()
	v := m[name]
	if !v.Defined() || !near(v.V, want) {
		t.Errorf("%s = %v, want %.15g", name, v, want)
	}
}

func binaryOf(labels []int, scores []float64, threshold float64) *Binary {
	b := &Binary{Scores: scores}
	for i, y := range labels {
		b.Labels = append(b.Labels, y == 1)
		b.Preds = append(b.Preds, scores[i] >= threshold)
	}
	return b
}

// TestBinaryHandWorked: eight rows, worked on paper.
//
//	label  1    0    1    1    0    0    1    0
//	score  0.9  0.8  0.7  0.6  0.55 0.4  0.3  0.2
//
// At 0.5: tp 3 (0.9 0.7 0.6), fp 2 (0.8 0.55), tn 2, fn 1 (0.3).
// AUC: positives outrank 4, 3, 3, 1 of the 4 negatives: 11/16.
// AP: precision at each positive, descending: 1/1, 2/3, 3/4, 4/7; sum/4.
// KS: the largest |TPR - FPR| over thresholds is 0.5 (after 0.6: 3/4 - 1/4).
func TestBinaryHandWorked(t *testing.T) {
	labels := []int{1, 0, 1, 1, 0, 0, 1, 0}
	scores := []float64{0.9, 0.8, 0.7, 0.6, 0.55, 0.4, 0.3, 0.2}
	m := BinaryMetrics(binaryOf(labels, scores, 0.5))
	mustValue(t, m, "accuracy", 5.0/8)
	mustValue(t, m, "precision", 3.0/5)
	mustValue(t, m, "recall", 3.0/4)
	mustValue(t, m, "specificity", 2.0/4)
	mustValue(t, m, "f1", 6.0/9)
	mustValue(t, m, "roc_auc", 11.0/16)
	mustValue(t, m, "pr_auc", (1+2.0/3+3.0/4+4.0/7)/4)
	mustValue(t, m, "ks", 0.5)
	var ll, br float64
	for i, y := range labels {
		p := scores[i]
		if y == 1 {
			ll -= math.Log(p)
			br += (p - 1) * (p - 1)
		} else {
			ll -= math.Log(1 - p)
			br += p * p
		}
	}
	mustValue(t, m, "log_loss", ll/8)
	mustValue(t, m, "brier", br/8)
}

// TestBinaryTies: ties count half in the AUC and group into one threshold
// in AP, as scikit-learn does.
func TestBinaryTies(t *testing.T) {
	// All scores tied: AUC 0.5; AP is the positive rate.
	m := BinaryMetrics(binaryOf([]int{1, 0, 1, 0, 0}, []float64{0.5, 0.5, 0.5, 0.5, 0.5}, 0.5))
	mustValue(t, m, "roc_auc", 0.5)
	mustValue(t, m, "pr_auc", 2.0/5)
	mustValue(t, m, "ks", 0)
	// sklearn: roc_auc_score([0,0,1,1],[0.1,0.4,0.35,0.8]) = 0.75,
	// average_precision_score = 0.8333...
	m = BinaryMetrics(binaryOf([]int{0, 0, 1, 1}, []float64{0.1, 0.4, 0.35, 0.8}, 0.5))
	mustValue(t, m, "roc_auc", 0.75)
	mustValue(t, m, "pr_auc", 0.8333333333333333)
}

func TestBinaryUndefined(t *testing.T) {
	m := BinaryMetrics(binaryOf([]int{1, 1, 1}, []float64{0.2, 0.7, 0.9}, 0.5))
	for _, name := range []string{"roc_auc", "ks", "log_loss"} {
		if m[name].Defined() {
			t.Errorf("%s with one class = %v, want undefined", name, m[name])
		}
	}
	if m["roc_auc"].Undefined != "no negative labels" {
		t.Errorf("reason %q", m["roc_auc"].Undefined)
	}
	mustValue(t, m, "recall", 2.0/3)
	m = BinaryMetrics(binaryOf([]int{0, 1, 0}, []float64{0.1, 0.2, 0.3}, 0.5))
	if v := m["precision"]; v.Defined() || v.Undefined != "no positive predictions" {
		t.Errorf("precision with no positive predictions = %v", v)
	}
	mustValue(t, m, "f1", 0) // scikit-learn: 2tp/(2tp+fp+fn) = 0/1
	m = BinaryMetrics(binaryOf([]int{0, 1}, []float64{-1, 3}, 0.5))
	if m["log_loss"].Defined() || m["brier"].Defined() {
		t.Error("log_loss of non-probabilities is defined")
	}
	mustValue(t, m, "roc_auc", 1)
	if v := BinaryMetrics(&Binary{Scores: []float64{}})["accuracy"]; v.Defined() {
		t.Errorf("accuracy of nothing = %v", v)
	}
}

// TestBinaryAgainstNaive compares with independent, slow definitions on
// random data with many ties: the AUC by counting every (positive,
// negative) pair, AP and KS by sweeping every distinct threshold.
func TestBinaryAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		n := 1 + r.IntN(60)
		labels := make([]int, n)
		scores := make([]float64, n)
		for i := range n {
			labels[i] = r.IntN(2)
			scores[i] = float64(r.IntN(1+round%10)) / 10 // few distinct values: ties
		}
		m := BinaryMetrics(binaryOf(labels, scores, 0.5))
		var pairs, wins float64
		var pos, neg float64
		for i := range n {
			if labels[i] == 1 {
				pos++
			} else {
				neg++
			}
			for j := range n {
				if labels[i] == 1 && labels[j] == 0 {
					pairs++
					switch {
					case scores[i] > scores[j]:
						wins++
					case scores[i] == scores[j]:
						wins += 0.5
					}
				}
			}
		}
		if pos == 0 || neg == 0 {
			if m["roc_auc"].Defined() {
				t.Fatalf("round %d: AUC defined with one class", round)
			}
			continue
		}
		mustValue(t, m, "roc_auc", wins/pairs)
		var ap, lastR, ksMax float64
		thresholds := map[float64]bool{}
		for _, s := range scores {
			thresholds[s] = true
		}
		var ts []float64
		for s := range thresholds {
			ts = append(ts, s)
		}
		for i := range ts { // descending, by selection
			for j := i + 1; j < len(ts); j++ {
				if ts[j] > ts[i] {
					ts[i], ts[j] = ts[j], ts[i]
				}
			}
		}
		for _, th := range ts {
			var tp, fp float64
			for i := range n {
				if scores[i] >= th {
					if labels[i] == 1 {
						tp++
					} else {
						fp++
					}
				}
			}
			rec := tp / pos
			ap += (rec - lastR) * tp / (tp + fp)
			lastR = rec
			ksMax = math.Max(ksMax, math.Abs(tp/pos-fp/neg))
		}
		mustValue(t, m, "pr_auc", ap)
		mustValue(t, m, "ks", ksMax)
	}
}

func TestRegression(t *testing.T) {
	// y = 3, -0.5, 2, 7; ŷ = 2.5, 0, 2, 8 (scikit-learn's doc example):
	// mae 0.5, mse 0.375, r2 0.9486081370449679.
	m := RegressionMetrics([]float64{3, -0.5, 2, 7}, []float64{2.5, 0, 2, 8})
	mustValue(t, m, "mae", 0.5)
	mustValue(t, m, "rmse", math.Sqrt(0.375))
	mustValue(t, m, "r2", 0.9486081370449679)
	m = RegressionMetrics([]float64{1, 1, 1}, []float64{1, 2, 1})
	if m["r2"].Defined() {
		t.Errorf("r2 of a constant target = %v", m["r2"])
	}
	if RegressionMetrics(nil, nil)["rmse"].Defined() {
		t.Error("rmse of nothing is defined")
	}
}

// TestAUCLargeAgainstPairs checks the AUC of 3,000 rows against counting
// all 2,000,000-odd (positive, negative) pairs.
func TestAUCLargeAgainstPairs(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	var labels []int
	var scores []float64
	for range 3000 {
		y := r.IntN(3) == 0
		s := math.Round((r.Float64()*0.6+map[bool]float64{true: 0.3, false: 0}[y])*200) / 200 // ties
		labels, scores = append(labels, map[bool]int{true: 1}[y]), append(scores, s)
	}
	var pairs, wins float64
	for i := range labels {
		for j := range labels {
			if labels[i] == 1 && labels[j] == 0 {
				pairs++
				switch {
				case scores[i] > scores[j]:
					wins++
				case scores[i] == scores[j]:
					wins += 0.5
				}
			}
		}
	}
	mustValue(t, BinaryMetrics(binaryOf(labels, scores, 0.5)), "roc_auc", wins/pairs)
}
