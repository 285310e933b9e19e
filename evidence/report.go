package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"

	"github.com/signoff-dev/signoff/inert"
)

// MaxMetricsFile bounds a metrics JSON file.
const MaxMetricsFile = 1 << 20

// A Metric is one metric's value and, when known, its 95% interval.
type Metric struct {
	Value Value       `json:"value"`
	CI    *[2]float64 `json:"ci,omitempty"`
	// CIUndefined says why there is no interval, when one was computed
	// and none could be.
	CIUndefined string `json:"ci_undefined,omitempty"`
}

// ParseMetrics reads a metrics JSON object: each name maps to a number or
// to {"value": number, "ci": [low, high]}. Errors name the file and line.
func ParseMetrics(name string, data []byte) (map[string]Metric, error) {
	perr := func(off int64, format string, args ...any) error {
		return &ParseError{File: name, Line: lineAt(data, off), Msg: fmt.Sprintf(format, args...)}
	}
	if len(data) > MaxMetricsFile {
		return nil, &ParseError{File: name, Msg: fmt.Sprintf("%d bytes, more than %d", len(data), MaxMetricsFile)}
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, perr(se.Offset, "%v", se)
		case errors.As(err, &te):
			return nil, perr(te.Offset, "want an object of metric names, each a number or {\"value\": …, \"ci\": [low, high]}")
		}
		return nil, perr(0, "%v", err)
	}
	out := make(map[string]Metric, len(raw))
	for k, v := range raw {
		off := int64(bytes.Index(data, []byte(`"`+k+`"`)))
		if err := checkMetricName(k); err != nil {
			return nil, perr(off, "%v", err)
		}
		var x float64
		if json.Unmarshal(v, &x) == nil {
			out[k] = Metric{Value: finite(x)}
			continue
		}
		var obj struct {
			Value *float64   `json:"value"`
			CI    *[]float64 `json:"ci"`
		}
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&obj); err != nil || obj.Value == nil {
			return nil, perr(off, "metric %q: want a number or {\"value\": number, \"ci\": [low, high]}", k)
		}
		m := Metric{Value: finite(*obj.Value)}
		if obj.CI != nil {
			ci := *obj.CI
			if len(ci) != 2 || !(ci[0] <= ci[1]) || math.IsInf(ci[0], 0) || math.IsInf(ci[1], 0) {
				return nil, perr(off, "metric %q: ci must be [low, high] with low <= high", k)
			}
			m.CI = &[2]float64{ci[0], ci[1]}
		}
		out[k] = m
	}
	return out, nil
}

func finite(x float64) Value {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return undefined("not a finite number")
	}
	return defined(x)
}

func checkMetricName(s string) error {
	if s == "" || len(s) > 64 {
		return fmt.Errorf("metric name %q must be 1 to 64 characters", inert.Cut(s, 70))
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return fmt.Errorf("metric name %q may hold only a-z, 0-9, _ . -", inert.Cut(s, 70))
		}
	}
	return nil
}

func lineAt(data []byte, off int64) int {
	if off < 0 || off > int64(len(data)) {
		return 0
	}
	return 1 + bytes.Count(data[:off], []byte("\n"))
}

// Diff compares the candidate's metric with the baseline's.
type Diff struct {
	Abs            Value `json:"abs"` // candidate - baseline
	Rel            Value `json:"rel"` // (candidate - baseline) / |baseline|
	HigherIsBetter bool  `json:"higher_is_better"`
	Better         *bool `json:"better,omitempty"` // nil when the values are equal or undefined
	// With row ids in both prediction files: the paired bootstrap
	// interval of the difference, and whether it excludes 0.
	CI          *[2]float64 `json:"ci,omitempty"`
	Significant *bool       `json:"significant,omitempty"`
	Paired      int         `json:"paired,omitempty"` // cases in both files
}

// DiffOf compares candidate and baseline values of the named metric.
func DiffOf(name string, cand, base Value) Diff {
	d := Diff{HigherIsBetter: HigherIsBetter(name)}
	switch {
	case !cand.Defined():
		d.Abs, d.Rel = undefined("candidate: "+cand.Undefined), undefined("candidate: "+cand.Undefined)
		return d
	case !base.Defined():
		d.Abs, d.Rel = undefined("baseline: "+base.Undefined), undefined("baseline: "+base.Undefined)
		return d
	}
	delta := cand.V - base.V
	d.Abs = defined(delta)
	d.Rel = ratio(delta, math.Abs(base.V), "the baseline is 0")
	if delta != 0 {
		better := (delta > 0) == d.HigherIsBetter
		d.Better = &better
	}
	return d
}

// Metrics are a bundle's metrics: the candidate's, the baseline's and
// their differences.
type Metrics struct {
	Candidate map[string]Metric `json:"candidate"`
	Baseline  map[string]Metric `json:"baseline"`
	Diff      map[string]Diff   `json:"diff"`
}

// Report is what a bundle's evidence says: metrics and fairness.
type Report struct {
	Card     *Card                   `json:"card,omitempty"`
	Metrics  Metrics                 `json:"metrics"`
	Fairness map[string]FairnessJSON `json:"fairness"`
	Warnings []string                `json:"warnings"`
}

// FairnessJSON is a fairness table keyed by group value, as JSON shows it.
type FairnessJSON struct {
	Groups                      map[string]GroupStats `json:"groups"`
	DemographicParityDifference Value                 `json:"demographic_parity_difference"`
	DemographicParityRatio      Value                 `json:"demographic_parity_ratio"`
	EqualizedOddsDifference     Value                 `json:"equalized_odds_difference"`
	EqualOpportunityDifference  Value                 `json:"equal_opportunity_difference"`
	DisparateImpact             Value                 `json:"disparate_impact"`
	FourFifths                  bool                  `json:"four_fifths"`
}

// Evaluate computes the bundle's report. Metrics come from the metrics
// files and, where the manifest names predictions, from the rows, with
// bootstrap intervals seeded by the bytes of the rows they resample (see
// [Seed]); computed values take precedence over reported ones of the
// same name. Fairness comes from the candidate's predictions. The report
// is a pure function of the bundle's files.
func (b *Bundle) Evaluate() (*Report, error) {
	m := b.Manifest
	r := &Report{
		Metrics:  Metrics{Candidate: map[string]Metric{}, Baseline: map[string]Metric{}, Diff: map[string]Diff{}},
		Fairness: map[string]FairnessJSON{},
		Warnings: []string{},
	}
	load := func(file string, into map[string]Metric) error {
		if file == "" {
			return nil
		}
		data, err := b.ReadFile(file, MaxMetricsFile)
		if err != nil {
			return err
		}
		ms, err := ParseMetrics(file, data)
		if err != nil {
			return err
		}
		for k, v := range ms {
			into[k] = v
		}
		return nil
	}
	if m.Card != "" {
		data, err := b.ReadFile(m.Card, MaxCard)
		if err != nil {
			return nil, err
		}
		if r.Card, err = ParseCard(m.Card, data); err != nil {
			return nil, err
		}
		r.Warnings = append(r.Warnings, r.Card.Warnings...)
	}
	if err := load(m.Metrics.Candidate, r.Metrics.Candidate); err != nil {
		return nil, err
	}
	if err := load(m.Metrics.Baseline, r.Metrics.Baseline); err != nil {
		return nil, err
	}
	var candRows, baseRows *Rows
	var candSum, baseSum string // the predictions files' sha256
	if p := m.Predictions; p != nil {
		compute := func(file string, into map[string]Metric, fair bool, keep **Rows, sum *string) error {
			if file == "" {
				return nil
			}
			f, err := b.Open(file)
			if err != nil {
				return err
			}
			defer f.Close()
			h := sha256.New()
			rows, err := ReadPredictions(io.TeeReader(f, h), file, p)
			if err != nil {
				return err
			}
			if _, err := io.Copy(h, f); err != nil { // what the reader left
				return err
			}
			*keep, *sum = rows, "sha256:"+hex.EncodeToString(h.Sum(nil))
			seed := Seed(*sum)
			var point map[string]Value
			var cis map[string]Interval
			if p.Task == "regression" {
				point = RegressionMetrics(rows.Targets, rows.Values)
				cis = RegressionIntervals(rows.Targets, rows.Values, seed, Resamples)
			} else {
				bin := rows.Binary()
				point, cis = BinaryMetrics(bin), BinaryIntervals(bin, seed, Resamples)
			}
			for name, v := range point {
				mt := Metric{Value: v}
				if iv := cis[name]; iv.Undefined == "" {
					mt.CI = &[2]float64{iv.Low, iv.High}
				} else {
					mt.CIUndefined = iv.Undefined
				}
				into[name] = mt
			}
			if fair && p.Task != "regression" {
				for _, t := range FairnessTables(rows) {
					fj := FairnessJSON{Groups: map[string]GroupStats{},
						DemographicParityDifference: t.DemographicParityDifference, DemographicParityRatio: t.DemographicParityRatio,
						EqualizedOddsDifference: t.EqualizedOddsDifference, EqualOpportunityDifference: t.EqualOpportunityDifference,
						DisparateImpact: t.DisparateImpact, FourFifths: t.FourFifths}
					for _, g := range t.Groups {
						fj.Groups[g.Value] = g
					}
					r.Fairness[t.Column] = fj
				}
			}
			return nil
		}
		if err := compute(p.Candidate, r.Metrics.Candidate, true, &candRows, &candSum); err != nil {
			return nil, err
		}
		if err := compute(p.Baseline, r.Metrics.Baseline, false, &baseRows, &baseSum); err != nil {
			return nil, err
		}
	}
	var paired map[string]Interval
	var pairs int
	if candRows != nil && baseRows != nil && candRows.IDs != nil && m.Predictions.Task != "regression" {
		c, b, dropped, err := joinByID(candRows, baseRows, m.Predictions)
		if err != nil {
			return nil, err
		}
		if dropped > 0 {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%d rows have an id in only one of the prediction files: left out of the paired comparison", dropped))
		}
		pairs = len(c.Labels)
		paired = PairedIntervals(c, b, Seed(candSum, baseSum), Resamples)
	}
	var names []string
	for k := range r.Metrics.Candidate {
		if _, ok := r.Metrics.Baseline[k]; ok {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		d := DiffOf(k, r.Metrics.Candidate[k].Value, r.Metrics.Baseline[k].Value)
		if iv, ok := paired[k]; ok && iv.Undefined == "" {
			d.CI = &[2]float64{iv.Low, iv.High}
			sig := iv.Low > 0 || iv.High < 0
			d.Significant, d.Paired = &sig, pairs
		}
		r.Metrics.Diff[k] = d
	}
	for k := range r.Metrics.Baseline {
		if _, ok := r.Metrics.Candidate[k]; !ok {
			r.Warnings = append(r.Warnings, fmt.Sprintf("the baseline reports %s but the candidate does not: it cannot be compared", k))
		}
	}
	sort.Strings(r.Warnings)
	return r, nil
}

// joinByID keeps the cases whose row id is in both prediction files, in
// the candidate's order, and counts the rows left out. A repeated id is an
// error: a case must be one row.
func joinByID(cand, base *Rows, p *Predictions) (*Binary, *Binary, int, error) {
	at := make(map[string]int, len(base.IDs))
	for i, id := range base.IDs {
		if _, dup := at[id]; dup {
			return nil, nil, 0, &ParseError{File: p.Baseline, Msg: fmt.Sprintf("row id %q appears twice: a case must be one row", inert.Cut(id, 40))}
		}
		at[id] = i
	}
	c, b := &Binary{}, &Binary{}
	if cand.Scores != nil {
		c.Scores = []float64{}
	}
	if base.Scores != nil {
		b.Scores = []float64{}
	}
	seen := make(map[string]bool, len(cand.IDs))
	for i, id := range cand.IDs {
		if seen[id] {
			return nil, nil, 0, &ParseError{File: p.Candidate, Msg: fmt.Sprintf("row id %q appears twice: a case must be one row", inert.Cut(id, 40))}
		}
		seen[id] = true
		j, ok := at[id]
		if !ok {
			continue
		}
		c.Labels, c.Preds = append(c.Labels, cand.Labels[i]), append(c.Preds, cand.Preds[i])
		b.Labels, b.Preds = append(b.Labels, base.Labels[j]), append(b.Preds, base.Preds[j])
		if c.Scores != nil {
			c.Scores = append(c.Scores, cand.Scores[i])
		}
		if b.Scores != nil {
			b.Scores = append(b.Scores, base.Scores[j])
		}
	}
	dropped := len(cand.IDs) + len(base.IDs) - 2*len(c.Labels)
	return c, b, dropped, nil
}
