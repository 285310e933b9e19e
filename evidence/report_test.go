package evidence

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestParseMetrics(t *testing.T) {
	m, err := ParseMetrics("m.json", []byte(`{"roc_auc": 0.83, "recall": {"value": 0.7, "ci": [0.65, 0.75]}, "p95_latency_ms": 118}`))
	if err != nil {
		t.Fatal(err)
	}
	if m["roc_auc"].Value.V != 0.83 || m["recall"].CI[1] != 0.75 || m["p95_latency_ms"].Value.V != 118 {
		t.Fatalf("metrics %+v", m)
	}
	for _, tc := range []struct{ src, want string }{
		{"{\n\"auc\": 0.8,\n\"bad\": \"high\"\n}", `m.json: line 3: metric "bad": want a number`},
		{"{\n\"auc\": 0.8,\n}", "m.json: line 3: invalid character '}'"},
		{`[1, 2]`, "m.json: line 1: want an object of metric names"},
		{`{"Bad Name": 1}`, `may hold only a-z`},
		{`{"auc": {"value": 0.8, "ci": [0.9, 0.7]}}`, `ci must be [low, high] with low <= high`},
		{`{"auc": {"value": 0.8, "extra": 1}}`, `metric "auc": want a number or`},
	} {
		if _, err := ParseMetrics("m.json", []byte(tc.src)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.src, err, tc.want)
		}
	}
}

func TestDiff(t *testing.T) {
	d := DiffOf("roc_auc", defined(0.81), defined(0.83))
	if !near(d.Abs.V, -0.02) || !near(d.Rel.V, -0.02/0.83) || *d.Better {
		t.Fatalf("auc diff %+v", d)
	}
	d = DiffOf("log_loss", defined(0.3), defined(0.4))
	if !*d.Better || d.HigherIsBetter {
		t.Fatalf("log_loss: lower is better: %+v", d)
	}
	if d := DiffOf("x", defined(1), defined(0)); d.Rel.Defined() || !d.Abs.Defined() {
		t.Fatalf("relative change from 0: %+v", d)
	}
	if d := DiffOf("x", undefined("no rows"), defined(0)); d.Abs.Undefined != "candidate: no rows" {
		t.Fatalf("undefined candidate: %+v", d)
	}
}

func TestEvaluate(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		ManifestName: "model: m\nversion: \"1\"\ntransition: {from: staging, to: production}\n" +
			"metrics: {baseline: base.json}\npredictions: {candidate: p.csv, label: y, score: s, groups: [sex]}\n",
		"base.json": `{"roc_auc": 0.7, "ctr": 0.1}`,
		"p.csv":     "y,s,sex\n1,0.9,F\n1,0.4,F\n0,0.6,F\n0,0.1,F\n0,0.2,F\n1,0.8,M\n1,0.7,M\n1,0.55,M\n0,0.52,M\n0,0.3,M\n",
	}
	writeFiles(t, dir, files)
	b, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	r, err := b.Evaluate()
	if err != nil {
		t.Fatal(err)
	}
	c := r.Metrics.Candidate["roc_auc"]
	// Positives outrank 6 (0.9 beats 5... counted by pairs): computed
	// independently with BinaryMetrics on the same rows.
	if !c.Value.Defined() || c.CI == nil || !(c.CI[0] <= c.Value.V && c.Value.V <= c.CI[1]) {
		t.Fatalf("candidate roc_auc %+v", c)
	}
	if d := r.Metrics.Diff["roc_auc"]; !near(d.Abs.V, c.Value.V-0.7) {
		t.Fatalf("diff %+v", d)
	}
	if _, ok := r.Metrics.Diff["ctr"]; ok {
		t.Fatal("a diff for a metric the candidate lacks")
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "the baseline reports ctr but the candidate does not") {
		t.Fatalf("warnings %v", r.Warnings)
	}
	f := r.Fairness["sex"]
	if f.Groups["F"].N != 5 || !near(f.Groups["F"].SelectionRate.V, 0.4) || !near(f.Groups["M"].SelectionRate.V, 0.8) || !near(f.DisparateImpact.V, 0.5) {
		t.Fatalf("fairness %+v", f)
	}
	again, _ := b.Evaluate()
	if *again.Metrics.Candidate["roc_auc"].CI != *c.CI {
		t.Fatal("intervals differ between runs")
	}
}

func TestPairedIntervals(t *testing.T) {
	b := syntheticBinary(500, 9)
	same := PairedIntervals(b, &Binary{Labels: b.Labels, Scores: b.Scores, Preds: b.Preds}, Seed("p"), Resamples)
	if iv := same["roc_auc"]; iv.Undefined != "" || iv.Low != 0 || iv.High != 0 {
		t.Fatalf("a model against itself: %+v", iv)
	}
	// A baseline whose scores are noise: the candidate's AUC is better
	// and the paired interval of the difference excludes 0.
	r := rand.New(rand.NewPCG(11, 12))
	noise := &Binary{Labels: b.Labels}
	for range b.Labels {
		s := r.Float64()
		noise.Scores = append(noise.Scores, s)
		noise.Preds = append(noise.Preds, s >= 0.5)
	}
	iv := PairedIntervals(b, noise, Seed("p"), Resamples)["roc_auc"]
	if iv.Undefined != "" || !(iv.Low > 0) {
		t.Fatalf("better model: %+v", iv)
	}
	if again := PairedIntervals(b, noise, Seed("p"), Resamples)["roc_auc"]; again != iv {
		t.Fatal("paired intervals differ between runs")
	}
}

func TestJoinByID(t *testing.T) {
	p := &Predictions{Candidate: "c.csv", Baseline: "b.csv", ID: "id", Label: "y", Score: "s"}
	read := func(src string) *Rows {
		rows, err := ReadPredictions(strings.NewReader(src), "x.csv", p)
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	cand := read("id,y,s\na,1,0.9\nb,0,0.2\nc,1,0.7\n")
	base := read("id,y,s\nc,1,0.6\nz,0,0.1\na,1,0.8\n")
	c, b, dropped, err := joinByID(cand, base, p)
	if err != nil || len(c.Labels) != 2 || dropped != 2 || c.Scores[1] != 0.7 || b.Scores[1] != 0.6 || b.Scores[0] != 0.8 {
		t.Fatalf("join: %+v %+v %d %v", c, b, dropped, err)
	}
	if _, _, _, err := joinByID(read("id,y,s\na,1,0.9\na,0,0.2\n"), base, p); err == nil || !strings.Contains(err.Error(), `c.csv: row id "a" appears twice`) {
		t.Fatalf("duplicate id: %v", err)
	}
}

func TestEvaluateRegression(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		ManifestName: "model: price\nversion: \"2\"\ntransition: {from: staging, to: production}\n" +
			"predictions: {task: regression, candidate: p.csv, label: y, prediction: yhat}\n",
		// scikit-learn's example: mae 0.5, mse 0.375, r2 0.9486...
		"p.csv": "y,yhat\n3,2.5\n-0.5,0\n2,2\n7,8\n",
	}
	writeFiles(t, dir, files)
	b, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	r, err := b.Evaluate()
	if err != nil {
		t.Fatal(err)
	}
	c := r.Metrics.Candidate
	if !near(c["mae"].Value.V, 0.5) || !near(c["r2"].Value.V, 0.9486081370449679) || c["rmse"].CI == nil {
		t.Fatalf("regression metrics %+v", c)
	}
	if _, ok := c["roc_auc"]; ok || len(r.Fairness) != 0 {
		t.Fatal("binary metrics or fairness for a regression")
	}
	if _, err := ParseManifest([]byte("model: m\nversion: \"1\"\ntransition: {from: a, to: b}\npredictions: {task: regression, candidate: p.csv, label: y, score: s}\n")); err == nil || !strings.Contains(err.Error(), "regression predictions name a prediction column") {
		t.Fatalf("regression with a score: %v", err)
	}
	if _, err := ReadPredictions(strings.NewReader("y,yhat\n1,x\n"), "p.csv", &Predictions{Task: "regression", Label: "y", Prediction: "yhat"}); err == nil || !strings.Contains(err.Error(), `line 2: prediction "x": want a finite number`) {
		t.Fatalf("bad regression value: %v", err)
	}
}

func FuzzParseMetrics(f *testing.F) {
	f.Add([]byte(`{"roc_auc": 0.83, "recall": {"value": 0.7, "ci": [0.65, 0.75]}}`))
	f.Add([]byte(`{"ctr": {"value": 0.0412, "ci": [0.0405, 0.0419]}, "p95_latency_ms": 131}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, err := ParseMetrics("m.json", data)
		if err != nil {
			return
		}
		for k, m := range ms {
			if checkMetricName(k) != nil {
				t.Fatalf("accepted metric name %q", k)
			}
			if m.CI != nil && m.CI[0] > m.CI[1] {
				t.Fatalf("accepted interval %v", m.CI)
			}
		}
	})
}

// writeFiles writes name -> contents into dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for n, d := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(d), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestIntervalsFollowTheirData: an interval's seed is drawn from the rows
// it resamples, so editing another file of the bundle moves none of the
// intervals, while the rows themselves changing does.
func TestIntervalsFollowTheirData(t *testing.T) {
	dir := t.TempDir()
	var rows, base strings.Builder
	rows.WriteString("id,y,s\n")
	base.WriteString("id,y,s\n")
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 400 {
		y := rng.IntN(2)
		rows.WriteString(strings.Join([]string{"r" + itoa(i), itoa(y), ftoa(0.3*float64(y) + 0.7*rng.Float64())}, ",") + "\n")
		base.WriteString(strings.Join([]string{"r" + itoa(i), itoa(y), ftoa(0.1*float64(y) + 0.9*rng.Float64())}, ",") + "\n")
	}
	writeFiles(t, dir, map[string]string{
		ManifestName: "model: m\nversion: \"1\"\ntransition: {from: staging, to: production}\n" +
			"predictions: {candidate: p.csv, baseline: b.csv, id: id, label: y, score: s}\ndocs: {rollback: ROLLBACK.md}\n",
		"p.csv":       rows.String(),
		"b.csv":       base.String(),
		"ROLLBACK.md": "Roll back to v6.\n",
	})
	eval := func() *Report {
		t.Helper()
		b, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		r, err := b.Evaluate()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	before := eval()
	writeFiles(t, dir, map[string]string{"ROLLBACK.md": "Roll back to v6.\nEscalate to the on-call modeller.\n"})
	after := eval()
	for _, name := range []string{"roc_auc", "accuracy", "f1"} {
		if *before.Metrics.Candidate[name].CI != *after.Metrics.Candidate[name].CI || *before.Metrics.Diff[name].CI != *after.Metrics.Diff[name].CI {
			t.Errorf("%s: editing ROLLBACK.md moved an interval: %v %v -> %v %v", name, *before.Metrics.Candidate[name].CI, *before.Metrics.Diff[name].CI,
				*after.Metrics.Candidate[name].CI, *after.Metrics.Diff[name].CI)
		}
	}
	writeFiles(t, dir, map[string]string{"p.csv": strings.Replace(rows.String(), "r0,", "r00,", 1)})
	moved := eval()
	if *moved.Metrics.Candidate["roc_auc"].CI == *before.Metrics.Candidate["roc_auc"].CI {
		t.Error("the candidate's rows changed and its interval did not: the seed does not follow the data")
	}
}

func itoa(i int) string     { return strconv.Itoa(i) }
func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', 4, 64) }
