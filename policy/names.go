package policy

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/signoff-dev/signoff/evidence"
	"github.com/signoff-dev/signoff/ledger"
)

// nearest returns the candidate closest to name by edit distance, if one
// is close enough to be what was meant ("prod" for "production").
func nearest(name string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := editDistance(strings.ToLower(name), strings.ToLower(c))
		if strings.HasPrefix(strings.ToLower(c), strings.ToLower(name)) && len(name) >= 2 {
			d = min(d, 1)
		}
		if d < bestD || d == bestD && c < best {
			best, bestD = c, d
		}
	}
	if best == "" || bestD > max(2, len(name)/3) {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
}

// versionsHint says, for a model version with no request, what the
// ledger does hold: the model's versions, or the model names nearest.
func (t *Trust) versionsHint(l *ledger.Ledger, model string, at time.Time) string {
	recs, err := t.records(l, ledger.Query{Kind: KindRequest}, at)
	if err != nil {
		return ""
	}
	var models, versions []string
	for _, c := range recs {
		s := c.r.Body.Subject
		if !slices.Contains(models, s.Model) {
			models = append(models, s.Model)
		}
		if s.Model == model && !slices.Contains(versions, s.Version) {
			versions = append(versions, s.Version)
		}
	}
	switch {
	case len(versions) > 0:
		slices.Sort(versions)
		return fmt.Sprintf(" (the ledger holds requests for %s versions %s)", model, strings.Join(versions, ", "))
	case nearest(model, models) != "":
		return fmt.Sprintf(" (the ledger holds no model %s: did you mean %s?)", model, nearest(model, models))
	}
	return fmt.Sprintf(" (the ledger holds no requests for a model %s)", model)
}

// Stages returns the stages the policy's transitions name, in order of
// first mention (tiers by name).
func (p *Policy) Stages() []string {
	var out []string
	for _, tier := range slices.Sorted(maps.Keys(p.Tiers)) {
		for _, tr := range slices.Sorted(maps.Keys(p.Tiers[tier].Transitions)) {
			from, to, _ := strings.Cut(tr, "->")
			for _, s := range []string{from, to} {
				if !slices.Contains(out, s) {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// ErrUnknownStage is returned for a stage the policy in force names in no
// transition.
var ErrUnknownStage = errors.New("no transition of the policy in force names this stage")

// CheckStage says whether stage is one the policy in force at at names,
// suggesting the nearest when it is not ("prod": did you mean
// production?). With no policy in force any well-formed name passes: the
// verdict then says what is missing.
func CheckStage(t *Trust, at time.Time, stage string) error {
	if err := evidence.CheckName(stage); err != nil {
		return err
	}
	if t == nil {
		return nil
	}
	pol := t.PolicyAt(at)
	if pol == nil {
		return nil
	}
	stages := pol.Doc.Policy.Stages()
	if slices.Contains(stages, stage) {
		return nil
	}
	hint := ""
	if n := nearest(stage, stages); n != "" {
		hint = fmt.Sprintf(": did you mean %s?", n)
	}
	return fmt.Errorf("%w: %q%s (it names %s)", ErrUnknownStage, stage, hint, strings.Join(stages, ", "))
}

// NotApproved is the verdict on a question the records answer no to
// before any bundle is judged (no such version, nothing requested): the
// same shape as [Judge] gives (Judge starts every verdict from it), with
// the reasons.
func NotApproved(s Subject, at time.Time, reasons ...string) *Verdict {
	return &Verdict{Subject: s, At: at.UTC(), Reasons: append([]string{}, reasons...), Warnings: []string{}, Gates: []Result{},
		Requirements: []RequirementStatus{}, Requests: []Signer{}, Decisions: []Decided{}}
}
