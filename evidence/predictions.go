package evidence

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Limits on a predictions CSV.
const (
	maxCSVLine        = 64 << 10 // bytes in one line
	maxGroupValues    = 1000     // distinct values in one group column
	maxIDLength       = 256
	maxPredictionRows = 50_000_000
)

// Rows are the columns of a predictions CSV that metrics and fairness use,
// held compactly: one bool and one float per row, group values interned.
type Rows struct {
	// Regression rows: numeric targets and predictions (Labels, Scores
	// and Preds are then empty).
	Targets, Values []float64

	Labels []bool
	Scores []float64 // nil when the file has predictions only
	Preds  []bool
	IDs    []string // nil without an id column
	Groups []GroupColumn
}

// GroupColumn is one group column: each row's value as an index into
// Values.
type GroupColumn struct {
	Name   string
	Values []string
	Of     []uint16
}

// Binary returns the rows as a binary classifier's.
func (r *Rows) Binary() *Binary { return &Binary{Labels: r.Labels, Scores: r.Scores, Preds: r.Preds} }

// ReadPredictions streams a predictions CSV with a header row, reading the
// columns spec names: label (0/1 or true/false), score (a finite number,
// thresholded at spec.Threshold, default 0.5) or prediction (0/1), the
// optional row id and the group columns. name is used in errors, which
// give the line and what was expected.
func ReadPredictions(r io.Reader, name string, spec *Predictions) (*Rows, error) {
	perr := func(line int, format string, args ...any) error {
		return &ParseError{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	if spec.Label == "" || (spec.Score == "") == (spec.Prediction == "") {
		return nil, perr(0, "the manifest's predictions need a label column and exactly one of score and prediction")
	}
	threshold := 0.5
	if spec.Threshold != nil {
		threshold = *spec.Threshold
	}
	lr := &lineLimit{r: r, limit: maxCSVLine}
	cr := csv.NewReader(lr)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, csvError(name, lr, err, "a header row")
	}
	col := func(want string) (int, error) {
		for i, h := range header {
			if strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")) == want {
				return i, nil
			}
		}
		var have []string
		for _, h := range header {
			have = append(have, strconv.Quote(h))
		}
		return 0, perr(1, "no column %q (the header has %s)", want, strings.Join(have, ", "))
	}
	labelCol, err := col(spec.Label)
	if err != nil {
		return nil, err
	}
	valueCol := -1
	if spec.Score != "" {
		valueCol, err = col(spec.Score)
	} else {
		valueCol, err = col(spec.Prediction)
	}
	if err != nil {
		return nil, err
	}
	idCol := -1
	if spec.ID != "" {
		if idCol, err = col(spec.ID); err != nil {
			return nil, err
		}
	}
	rows := &Rows{}
	if spec.Score != "" {
		rows.Scores = []float64{}
	}
	if idCol >= 0 {
		rows.IDs = []string{}
	}
	var groupCols []int
	var index []map[string]uint16
	for _, g := range spec.Groups {
		i, err := col(g)
		if err != nil {
			return nil, err
		}
		groupCols = append(groupCols, i)
		rows.Groups = append(rows.Groups, GroupColumn{Name: g})
		index = append(index, map[string]uint16{})
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(name, lr, err, "a row of "+strconv.Itoa(len(header))+" fields")
		}
		line, _ := cr.FieldPos(0)
		if len(rows.Labels)+len(rows.Targets) >= maxPredictionRows {
			return nil, perr(line, "more than %d rows", maxPredictionRows)
		}
		if spec.Task == "regression" {
			y, err1 := readFinite(rec[labelCol])
			v, err2 := readFinite(rec[valueCol])
			if err1 != nil {
				return nil, perr(line, "label %s: want a finite number", quoteField(rec[labelCol]))
			}
			if err2 != nil {
				return nil, perr(line, "prediction %s: want a finite number", quoteField(rec[valueCol]))
			}
			rows.Targets, rows.Values = append(rows.Targets, y), append(rows.Values, v)
		} else if y, ok := readBool(rec[labelCol]); !ok {
			return nil, perr(line, "label %s: want 0 or 1 (or true or false)", quoteField(rec[labelCol]))
		} else {
			rows.Labels = append(rows.Labels, y)
		}
		if spec.Task == "regression" {
			// the values are read
		} else if spec.Score != "" {
			s, err := strconv.ParseFloat(strings.TrimSpace(rec[valueCol]), 64)
			if err != nil || math.IsNaN(s) || math.IsInf(s, 0) {
				return nil, perr(line, "score %s: want a finite number", quoteField(rec[valueCol]))
			}
			rows.Scores = append(rows.Scores, s)
			rows.Preds = append(rows.Preds, s >= threshold)
		} else {
			p, ok := readBool(rec[valueCol])
			if !ok {
				return nil, perr(line, "prediction %s: want 0 or 1 (or true or false)", quoteField(rec[valueCol]))
			}
			rows.Preds = append(rows.Preds, p)
		}
		if idCol >= 0 {
			id := rec[idCol]
			if len(id) > maxIDLength {
				return nil, perr(line, "row id longer than %d bytes", maxIDLength)
			}
			rows.IDs = append(rows.IDs, strings.Clone(id))
		}
		for k, c := range groupCols {
			v := rec[c]
			n, ok := index[k][v]
			if !ok {
				if len(index[k]) == maxGroupValues {
					return nil, perr(line, "group column %q has more than %d distinct values: is it really a group?", spec.Groups[k], maxGroupValues)
				}
				n = uint16(len(index[k]))
				index[k][strings.Clone(v)] = n
				rows.Groups[k].Values = append(rows.Groups[k].Values, strings.Clone(v))
			}
			rows.Groups[k].Of = append(rows.Groups[k].Of, n)
		}
	}
	return rows, nil
}

func readFinite(s string) (float64, error) {
	x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err == nil && (math.IsNaN(x) || math.IsInf(x, 0)) {
		err = errors.New("not finite")
	}
	return x, err
}

func readBool(s string) (bool, bool) {
	switch strings.TrimSpace(s) {
	case "1", "1.0", "true", "True", "TRUE":
		return true, true
	case "0", "0.0", "false", "False", "FALSE":
		return false, true
	}
	return false, false
}

func quoteField(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return strconv.Quote(s)
}

func csvError(name string, lr *lineLimit, err error, want string) error {
	var pe *csv.ParseError
	switch {
	case errors.Is(err, errLineTooLong):
		return &ParseError{File: name, Line: lr.line, Msg: fmt.Sprintf("line longer than %d bytes", maxCSVLine)}
	case errors.As(err, &pe):
		return &ParseError{File: name, Line: pe.Line, Msg: fmt.Sprintf("%v: want %s", pe.Err, want)}
	case err == io.EOF:
		return &ParseError{File: name, Line: 1, Msg: "empty file: want " + want}
	}
	return &ParseError{File: name, Msg: err.Error()}
}

var errLineTooLong = errors.New("line too long")

// lineLimit passes a stream through, failing once a line grows past limit
// bytes, so that one endless line cannot take all memory.
type lineLimit struct {
	r     io.Reader
	limit int
	cur   int // bytes in the current line
	line  int // the current line, from 1
}

func (l *lineLimit) Read(p []byte) (int, error) {
	if l.line == 0 {
		l.line = 1
	}
	n, err := l.r.Read(p)
	for i, c := range p[:n] {
		if c == '\n' {
			l.cur = 0
			l.line++
			continue
		}
		if l.cur++; l.cur > l.limit {
			return i, errLineTooLong
		}
	}
	return n, err
}
