package evidence

import (
	"math/rand/v2"
	"reflect"
	"runtime"
	"sort"
	"testing"
)

func syntheticBinary(n int, seed uint64) *Binary {
	r := rand.New(rand.NewPCG(seed, 7))
	b := &Binary{}
	for range n {
		y := r.IntN(3) == 0
		s := r.Float64() * 0.7
		if y {
			s += 0.3
		}
		b.Labels = append(b.Labels, y)
		b.Scores = append(b.Scores, s)
		b.Preds = append(b.Preds, s >= 0.5)
	}
	return b
}

// TestWeightsAreDuplicates: counting a row w times is the same as writing
// it w times, for every metric; the bootstrap rests on this.
func TestWeightsAreDuplicates(t *testing.T) {
	b := syntheticBinary(300, 1)
	r := rand.New(rand.NewPCG(3, 4))
	w := make([]float64, len(b.Labels))
	dup := &Binary{}
	for i := range w {
		w[i] = float64(r.IntN(3))
		for range int(w[i]) {
			dup.Labels = append(dup.Labels, b.Labels[i])
			dup.Scores = append(dup.Scores, b.Scores[i])
			dup.Preds = append(dup.Preds, b.Preds[i])
		}
	}
	// Weights go by sorted position: map each row's count there.
	prep := b.prepare()
	byPos := make([]uint16, len(w))
	order := make([]int, len(w))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(x, y int) bool { return b.Scores[order[x]] > b.Scores[order[y]] })
	for k, i := range order {
		byPos[k] = uint16(w[i])
	}
	weighted, explicit := prep.metrics(byPos), BinaryMetrics(dup)
	for name, v := range explicit {
		if got := weighted[name]; got.Defined() != v.Defined() || !near(got.V, v.V) {
			t.Errorf("%s: weighted %v, duplicated %v", name, got, v)
		}
	}
}

// TestBootstrapDeterministic: the same seed gives the same intervals,
// whatever the number of cores; another seed gives others.
func TestBootstrapDeterministic(t *testing.T) {
	b := syntheticBinary(2000, 2)
	seed := Seed("sha256:0123")
	a := BinaryIntervals(b, seed, Resamples)
	prev := runtime.GOMAXPROCS(1)
	one := BinaryIntervals(&Binary{Labels: b.Labels, Scores: b.Scores, Preds: b.Preds}, seed, Resamples)
	runtime.GOMAXPROCS(prev)
	if !reflect.DeepEqual(a, one) {
		t.Fatalf("intervals differ with one core:\n%v\n%v", a, one)
	}
	if again := BinaryIntervals(b, seed, Resamples); !reflect.DeepEqual(a, again) {
		t.Fatal("intervals differ between runs")
	}
	if other := BinaryIntervals(b, Seed("sha256:4567"), Resamples); reflect.DeepEqual(a, other) {
		t.Fatal("another seed gave the same intervals")
	}
	point := BinaryMetrics(b)
	for name, iv := range a {
		if iv.Undefined != "" {
			t.Errorf("%s: %s", name, iv.Undefined)
			continue
		}
		if !(iv.Low <= point[name].V && point[name].V <= iv.High) || iv.High-iv.Low > 0.2 {
			t.Errorf("%s: point %v outside or far from [%v, %v]", name, point[name].V, iv.Low, iv.High)
		}
	}
}

func TestBootstrapUndefined(t *testing.T) {
	// One positive in a hundred rows: most resamples still hold it, but
	// over 5% (about e^-1 of them) lose it and the AUC with it.
	b := &Binary{}
	for i := range 100 {
		b.Labels = append(b.Labels, i == 0)
		b.Scores = append(b.Scores, float64(i)/100)
		b.Preds = append(b.Preds, i < 50)
	}
	iv := BinaryIntervals(b, Seed("x"), Resamples)
	if iv["roc_auc"].Undefined == "" {
		t.Fatalf("roc_auc interval %v, want undefined", iv["roc_auc"])
	}
	if iv["accuracy"].Undefined != "" {
		t.Fatalf("accuracy interval undefined: %v", iv["accuracy"])
	}
	if got := BinaryIntervals(&Binary{}, Seed("x"), Resamples)["accuracy"]; got.Undefined == "" {
		t.Fatal("interval of no rows")
	}
}

func TestPercentile(t *testing.T) {
	xs := make([]float64, 0, 101)
	for i := range 101 {
		xs = append(xs, float64(100-i))
	}
	// numpy.percentile(range(101), [2.5, 97.5]) = [2.5, 97.5]
	if iv := percentileInterval(xs, 101); iv.Low != 2.5 || iv.High != 97.5 {
		t.Fatalf("interval %+v", iv)
	}
}
