package evidence

import (
	"encoding/json"
	"strings"
	"testing"
)

func rowsOf(labels, preds []int, groups string) *Rows {
	r := &Rows{}
	g := GroupColumn{Name: "sex"}
	index := map[string]uint16{}
	for i, v := range strings.Split(groups, "") {
		r.Labels = append(r.Labels, labels[i] == 1)
		r.Preds = append(r.Preds, preds[i] == 1)
		n, ok := index[v]
		if !ok {
			n = uint16(len(g.Values))
			index[v] = n
			g.Values = append(g.Values, v)
		}
		g.Of = append(g.Of, n)
	}
	r.Groups = []GroupColumn{g}
	return r
}

// TestFairnessHandWorked: two groups, worked on paper.
//
//	group  F F F F F  M M M M M
//	label  1 1 0 0 0  1 1 1 0 0
//	pred   1 0 1 0 0  1 1 1 1 0
//
// F: n 5, selected 2 (0.4), TPR 1/2, FPR 1/3.
// M: n 5, selected 4 (0.8), TPR 3/3, FPR 1/2.
// DP difference 0.4, ratio 0.5 (fails four-fifths); TPR gap 0.5, FPR gap
// 1/6, so equalized odds 0.5 and equal opportunity 0.5.
func TestFairnessHandWorked(t *testing.T) {
	rows := rowsOf([]int{1, 1, 0, 0, 0, 1, 1, 1, 0, 0}, []int{1, 0, 1, 0, 0, 1, 1, 1, 1, 0}, "FFFFFMMMMM")
	f := FairnessTables(rows)[0]
	g := f.Groups
	if g[0].Value != "F" || g[0].N != 5 || !near(g[0].SelectionRate.V, 0.4) || !near(g[0].TPR.V, 0.5) || !near(g[0].FPR.V, 1.0/3) {
		t.Fatalf("F: %+v", g[0])
	}
	if !near(g[1].SelectionRate.V, 0.8) || !near(g[1].TPR.V, 1) || !near(g[1].FPR.V, 0.5) {
		t.Fatalf("M: %+v", g[1])
	}
	for name, c := range map[string]struct {
		v    Value
		want float64
	}{
		"dp difference": {f.DemographicParityDifference, 0.4},
		"dp ratio":      {f.DemographicParityRatio, 0.5},
		"eo difference": {f.EqualizedOddsDifference, 0.5},
		"eop":           {f.EqualOpportunityDifference, 0.5},
		"di":            {f.DisparateImpact, 0.5},
	} {
		if !c.v.Defined() || !near(c.v.V, c.want) {
			t.Errorf("%s = %v, want %v", name, c.v, c.want)
		}
	}
	if f.FourFifths {
		t.Error("0.5 passes the four-fifths rule")
	}
}

func TestFairnessUndefined(t *testing.T) {
	// Group M has no positive labels: its TPR, and with it equal
	// opportunity and equalized odds, are undefined, never 0.
	f := FairnessTables(rowsOf([]int{1, 0, 0, 0}, []int{1, 0, 1, 0}, "FFMM"))[0]
	if f.Groups[1].TPR.Defined() || !strings.Contains(f.Groups[1].TPR.Undefined, `group "M" has no positive labels`) {
		t.Fatalf("M's TPR %v", f.Groups[1].TPR)
	}
	if f.EqualOpportunityDifference.Defined() || f.EqualizedOddsDifference.Defined() {
		t.Fatalf("gaps defined over an undefined TPR: %v %v", f.EqualOpportunityDifference, f.EqualizedOddsDifference)
	}
	if !f.DemographicParityDifference.Defined() || !near(f.DemographicParityRatio.V, 1) || !f.FourFifths {
		t.Fatalf("selection rates: %+v", f)
	}
	// Nobody selected: the ratio is 0/0.
	f = FairnessTables(rowsOf([]int{1, 0, 1, 0}, []int{0, 0, 0, 0}, "FFMM"))[0]
	if f.DisparateImpact.Defined() || f.FourFifths || !near(f.DemographicParityDifference.V, 0) {
		t.Fatalf("nobody selected: %+v", f)
	}
	// One group only.
	f = FairnessTables(rowsOf([]int{1, 0}, []int{1, 0}, "FF"))[0]
	if f.DisparateImpact.Undefined != "fewer than two groups" {
		t.Fatalf("one group: %v", f.DisparateImpact)
	}
}

func TestValueJSON(t *testing.T) {
	f := FairnessTables(rowsOf([]int{1, 0, 0, 0}, []int{1, 0, 1, 0}, "FFMM"))[0]
	b, err := json.Marshal(f.Groups[1])
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); got != `{"value":"M","n":2,"selection_rate":0.5,"tpr":{"undefined":"group \"M\" has no positive labels"},"fpr":0.5}` {
		t.Fatalf("JSON %s", got)
	}
}
