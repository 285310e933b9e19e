package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Sections are the parts of a review, in the order the console shows
// them; a policy's require_review_of names some of them.
var Sections = []string{"overview", "card", "metrics", "fairness", "evidence", "history"}

// MinReview is the least time a section must have been open to count as
// reviewed when the policy sets no minimum of its own: a section flicked
// past (open for under a second, recorded as 0) was not read.
const MinReview = time.Second

// A ReviewRequirement is a section an approver must have opened before
// their approval counts, and for how long at least. In a policy it is
// written as the section's name ("card"), or as the name and a minimum
// ({metrics: 2m}).
type ReviewRequirement struct {
	Section string   `json:"section"`
	Min     Duration `json:"min,omitempty"`
}

// UnmarshalYAML reads "card" or {card: 2m}.
func (r *ReviewRequirement) UnmarshalYAML(n *yaml.Node) error {
	switch {
	case n.Kind == yaml.ScalarNode:
		r.Section = n.Value
	case n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[0].Kind == yaml.ScalarNode && n.Content[1].Kind == yaml.ScalarNode:
		d, err := ParseDuration(n.Content[1].Value)
		if err != nil {
			return fmt.Errorf("line %d: require_review_of %s: %v", n.Line, n.Content[0].Value, err)
		}
		r.Section, r.Min = n.Content[0].Value, Duration(d)
	default:
		return fmt.Errorf("line %d: require_review_of: write a section (card) or a section and its minimum time ({card: 2m})", n.Line)
	}
	if !slices.Contains(Sections, r.Section) {
		return fmt.Errorf("line %d: require_review_of: %q is not one of %s", n.Line, r.Section, strings.Join(Sections, ", "))
	}
	return nil
}

// least is the time the section must have been open.
func (r ReviewRequirement) least() time.Duration { return max(time.Duration(r.Min), MinReview) }

// ReviewShortfall says what the review record of an approval lacks
// against the transition's require_review_of: one phrase per section not
// opened, or opened for less than its minimum ("card not opened",
// "metrics open 4s of the 2m required"). Empty means the record meets
// the policy. The console, the CLI and the verdict all ask this.
func (t *Transition) ReviewShortfall(reviewed []Reviewed) []string {
	var out []string
	for _, req := range t.RequireReviewOf {
		var spent int64 = -1
		for _, r := range reviewed {
			if r.Section == req.Section {
				spent = max(spent, 0) + r.Seconds
			}
		}
		least := req.least()
		switch {
		case spent < 0:
			out = append(out, req.Section+" not opened")
		case time.Duration(spent)*time.Second < least:
			out = append(out, fmt.Sprintf("%s open %ds of the %s required", req.Section, spent, least))
		}
	}
	return out
}

// ReviewMinimum returns how long section must have been open for an
// approval of this transition to count, and whether the transition
// requires it at all.
func (t *Transition) ReviewMinimum(section string) (time.Duration, bool) {
	for _, r := range t.RequireReviewOf {
		if r.Section == section {
			return r.least(), true
		}
	}
	return 0, false
}

// RequiresReview reports whether approving this transition needs a
// review record: one of the sections opened, in the console.
func (t *Transition) RequiresReview() bool { return len(t.RequireReviewOf) > 0 }
