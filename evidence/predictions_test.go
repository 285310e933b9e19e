package evidence

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

var spec = &Predictions{Candidate: "p.csv", ID: "applicant_id", Label: "label", Score: "score", Groups: []string{"sex", "age_band"}}

const goodCSV = "applicant_id,label,score,sex,age_band\n" +
	"a1,1,0.9,F,18-25\n" +
	"a2,0,0.2,M,26-40\n" +
	"\"a,3\",true,0.5,F,\"26-40\"\n" +
	"a4,0,0.7,M,18-25\n"

func TestReadPredictions(t *testing.T) {
	rows, err := ReadPredictions(strings.NewReader(goodCSV), "p.csv", spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows.Labels) != 4 || !rows.Labels[2] || rows.Scores[3] != 0.7 || rows.IDs[2] != "a,3" {
		t.Fatalf("rows %+v", rows)
	}
	if got := fmt.Sprint(rows.Preds); got != "[true false true true]" {
		t.Fatalf("predictions at 0.5: %s", got)
	}
	sex := rows.Groups[0]
	if sex.Name != "sex" || strings.Join(sex.Values, ",") != "F,M" || fmt.Sprint(sex.Of) != "[0 1 0 1]" {
		t.Fatalf("group %+v", sex)
	}
	th := 0.8
	rows, _ = ReadPredictions(strings.NewReader(goodCSV), "p.csv", &Predictions{Label: "label", Score: "score", Threshold: &th})
	if got := fmt.Sprint(rows.Preds); got != "[true false false false]" {
		t.Fatalf("predictions at 0.8: %s", got)
	}
	rows, err = ReadPredictions(strings.NewReader("y,yhat\n1,1\n0,1\n"), "p.csv", &Predictions{Label: "y", Prediction: "yhat"})
	if err != nil || rows.Scores != nil || fmt.Sprint(rows.Preds) != "[true true]" {
		t.Fatalf("predictions only: %+v, %v", rows, err)
	}
}

func TestReadPredictionsErrors(t *testing.T) {
	for _, tc := range []struct{ name, csv, want string }{
		{"no column", "id,y,score\n1,1,0.5\n", `p.csv: line 1: no column "label" (the header has "id", "y", "score")`},
		{"bad label", "applicant_id,label,score,sex,age_band\na,1,0.5,F,x\nb,yes,0.5,F,x\n", `p.csv: line 3: label "yes": want 0 or 1`},
		{"nan score", "applicant_id,label,score,sex,age_band\na,1,NaN,F,x\n", `p.csv: line 2: score "NaN": want a finite number`},
		{"inf score", "applicant_id,label,score,sex,age_band\na,1,+Inf,F,x\n", `line 2: score "+Inf": want a finite number`},
		{"short row", "applicant_id,label,score,sex,age_band\na,1,0.5\n", "p.csv: line 2: wrong number of fields: want a row of 5 fields"},
		{"bad quote", "applicant_id,label,score,sex,age_band\na,1,0.5,\"F,x\n", "p.csv: line 2"},
		{"empty", "", "p.csv: line 1: empty file: want a header row"},
		{"long line", "applicant_id,label,score,sex,age_band\n" + strings.Repeat("x", maxCSVLine+10) + "\n", "p.csv: line 2: line longer than 65536 bytes"},
	} {
		_, err := ReadPredictions(strings.NewReader(tc.csv), "p.csv", spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	var b strings.Builder
	b.WriteString("applicant_id,label,score,sex,age_band\n")
	for i := range maxGroupValues + 1 {
		fmt.Fprintf(&b, "a%d,1,0.5,F,band%d\n", i, i)
	}
	_, err := ReadPredictions(strings.NewReader(b.String()), "p.csv", spec)
	if err == nil || !strings.Contains(err.Error(), `line 1002: group column "age_band" has more than 1000 distinct values`) {
		t.Errorf("too many group values: %v", err)
	}
	if _, err := ReadPredictions(strings.NewReader(goodCSV), "p.csv", &Predictions{Label: "label"}); err == nil {
		t.Error("a spec with neither score nor prediction was accepted")
	}
}

// rowGenerator produces a predictions CSV of n rows on the fly.
type rowGenerator struct {
	n, i int
	buf  []byte
}

func (g *rowGenerator) Read(p []byte) (int, error) {
	for len(g.buf) < len(p) && g.i <= g.n {
		if g.i == 0 {
			g.buf = append(g.buf, "applicant_id,label,score,sex,age_band\n"...)
		} else {
			g.buf = fmt.Appendf(g.buf, "id%d,%d,0.%03d,%c,band%d\n", g.i, g.i%2, g.i%1000, "FM"[g.i%2], g.i%5)
		}
		g.i++
	}
	if len(g.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.buf)
	g.buf = g.buf[n:]
	return n, nil
}

// TestReadPredictionsMillion streams a million rows: the rows are kept
// compactly (about 40 bytes each with ids), never the file.
func TestReadPredictionsMillion(t *testing.T) {
	if testing.Short() {
		t.Skip("a million rows")
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rows, err := ReadPredictions(&rowGenerator{n: 1_000_000}, "p.csv", spec)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if len(rows.Labels) != 1_000_000 || len(rows.Groups[1].Values) != 5 {
		t.Fatalf("%d rows, %d age bands", len(rows.Labels), len(rows.Groups[1].Values))
	}
	if held := after.HeapAlloc - before.HeapAlloc; held > 100<<20 {
		t.Fatalf("a million rows hold %d MB", held>>20)
	}
}

func FuzzReadPredictions(f *testing.F) {
	f.Add([]byte(goodCSV))
	f.Add([]byte("applicant_id,label,score,sex,age_band\n\"a\"\"b\",0,1e-3,,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := ReadPredictions(strings.NewReader(string(data)), "p.csv", spec)
		if err != nil {
			return
		}
		n := len(rows.Labels)
		if len(rows.Scores) != n || len(rows.Preds) != n || len(rows.IDs) != n {
			t.Fatalf("columns of different lengths")
		}
		for _, g := range rows.Groups {
			if len(g.Of) != n {
				t.Fatalf("group %s has %d rows of %d", g.Name, len(g.Of), n)
			}
			for _, v := range g.Of {
				if int(v) >= len(g.Values) {
					t.Fatalf("group value %d out of range", v)
				}
			}
		}
		BinaryMetrics(rows.Binary())
	})
}
