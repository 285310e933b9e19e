package policy

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"cel.dev/cel-go/cel"
	"go.yaml.in/yaml/v3"

	"github.com/signoff-dev/signoff/evidence"
)

// MaxPolicy bounds a policy file.
const MaxPolicy = 1 << 20

// Policy is a policy document: per risk tier and transition, the gates.
type Policy struct {
	Version int             `yaml:"version"`
	Tiers   map[string]Tier `yaml:"tiers"`
}

// Tier is one risk tier's rules, per transition ("staging->production").
type Tier struct {
	Transitions map[string]Transition `yaml:"transitions"`
}

// Transition holds what one transition of one tier requires: the
// sign-offs, who may not give them, how long they last, the sections a
// reviewer must open, the gates and the emergency path.
type Transition struct {
	Require            []Requirement       `yaml:"require"`
	SeparationOfDuties *SeparationOfDuties `yaml:"separation_of_duties"`
	ApprovalValidFor   Duration            `yaml:"approval_valid_for"`
	RequireReviewOf    []ReviewRequirement `yaml:"require_review_of"`
	Gates              []Gate              `yaml:"gates"`
	Emergency          *Emergency          `yaml:"emergency"`
}

// Gate is one check. Exactly one of Metric, Fairness, Evidence and Expr
// says what it checks.
type Gate struct {
	Name string `yaml:"name"`

	Metric     string    `yaml:"metric"`
	Min        *float64  `yaml:"min"`
	Max        *float64  `yaml:"max"`
	Baseline   *Baseline `yaml:"baseline"`
	Confidence float64   `yaml:"confidence"`

	Fairness string   `yaml:"fairness"`
	Groups   []string `yaml:"groups"`

	Evidence string `yaml:"evidence"`

	Expr string `yaml:"expr"`

	line int
	prg  cel.Program
}

// Baseline bounds a metric against the baseline model's, in the metric's
// better direction: it may get worse by at most MaxDrop (absolute) or
// MaxDropRel (relative), or must get better by MinGain or MinGainRel.
type Baseline struct {
	MaxDrop    *float64 `yaml:"max_drop"`
	MaxDropRel *float64 `yaml:"max_drop_rel"`
	MinGain    *float64 `yaml:"min_gain"`
	MinGainRel *float64 `yaml:"min_gain_rel"`
}

// Evidence kinds an evidence gate may require.
var evidenceKinds = []string{"card", "metrics", "predictions", "scans", "docs", "monitoring", "rollback", "reproducibility", "artifacts"}

// Parse reads and checks a policy document. Every gate is checked and
// every expression compiled here, so a policy that loads can be evaluated.
func Parse(name string, data []byte) (*Policy, error) {
	perr := func(line int, format string, args ...any) error {
		return &evidence.ParseError{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	if len(data) > MaxPolicy {
		return nil, perr(0, "%d bytes, more than %d", len(data), MaxPolicy)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, evidence.YAMLError(name, err)
	}
	var p Policy
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return nil, evidence.YAMLError(name, err)
	}
	if p.Version < 1 {
		return nil, perr(0, "version must be 1 or more")
	}
	// In a fixed order, so that a policy with several errors names the
	// same one every time.
	for _, tn := range slices.Sorted(maps.Keys(p.Tiers)) {
		tier := p.Tiers[tn]
		for _, trn := range slices.Sorted(maps.Keys(tier.Transitions)) {
			tr := tier.Transitions[trn]
			if from, to, ok := strings.Cut(trn, "->"); !ok || from == "" || to == "" {
				return nil, perr(0, "tier %s: transition %q is not FROM->TO", tn, trn)
			}
			if err := tr.check(); err != nil {
				return nil, perr(transitionLine(&doc, tn, trn), "tier %s, %s: %v", tn, trn, err)
			}
			seen := map[string]bool{}
			for i := range tr.Gates {
				g := &tr.Gates[i]
				g.line = gateLine(&doc, tn, trn, i)
				if err := g.check(); err != nil {
					return nil, perr(g.line, "tier %s, %s, gate %q: %v", tn, trn, g.Name, err)
				}
				if seen[g.Name] {
					return nil, perr(g.line, "tier %s, %s: two gates named %q", tn, trn, g.Name)
				}
				seen[g.Name] = true
			}
		}
	}
	return &p, nil
}

func (g *Gate) check() error {
	if g.Name == "" {
		return errors.New("every gate needs a name")
	}
	kinds := 0
	for _, s := range []string{g.Metric, g.Fairness, g.Evidence, g.Expr} {
		if s != "" {
			kinds++
		}
	}
	if kinds != 1 {
		return errors.New("a gate checks exactly one of metric, fairness, evidence and expr")
	}
	switch {
	case g.Metric != "":
		n := 0
		if g.Min != nil || g.Max != nil {
			n++
		}
		if g.Baseline != nil {
			n++
			if err := g.Baseline.check(); err != nil {
				return err
			}
		}
		if n != 1 {
			return errors.New("a metric gate has min and/or max, or a baseline bound")
		}
		if g.Confidence != 0 && (g.Baseline == nil || g.Confidence != 0.95) {
			return errors.New("confidence 0.95 (the intervals signoff computes) goes with a baseline bound")
		}
	case g.Fairness != "":
		if _, ok := fairnessMetrics[g.Fairness]; !ok {
			return fmt.Errorf("fairness metric %q is not one of demographic_parity_difference, demographic_parity_ratio, equalized_odds_difference, equal_opportunity_difference, disparate_impact", g.Fairness)
		}
		if g.Min == nil && g.Max == nil {
			return errors.New("a fairness gate needs min or max")
		}
		if len(g.Groups) == 0 {
			return errors.New("a fairness gate names its group columns (groups: [...])")
		}
	case g.Evidence != "":
		if !slices.Contains(evidenceKinds, g.Evidence) {
			return fmt.Errorf("evidence %q is not one of %s", g.Evidence, strings.Join(evidenceKinds, ", "))
		}
	case g.Expr != "":
		prg, err := compile(g.Expr)
		if err != nil {
			return err
		}
		g.prg = prg
	}
	return nil
}

func (b *Baseline) check() error {
	n := 0
	for _, v := range []*float64{b.MaxDrop, b.MaxDropRel, b.MinGain, b.MinGainRel} {
		if v != nil {
			n++
			if *v < 0 || math.IsNaN(*v) {
				return errors.New("baseline bounds are not negative")
			}
		}
	}
	if n != 1 {
		return errors.New("a baseline bound is one of max_drop, max_drop_rel, min_gain and min_gain_rel")
	}
	return nil
}

var celEnv = func() *cel.Env {
	env, err := cel.NewEnv(
		cel.Variable("metrics", cel.DynType),
		cel.Variable("fairness", cel.DynType),
		cel.Variable("manifest", cel.DynType),
	)
	if err != nil {
		panic(err)
	}
	return env
}()

// compile checks a CEL expression and bounds what it may cost to run.
func compile(expr string) (cel.Program, error) {
	if len(expr) > 4096 {
		return nil, errors.New("expression longer than 4096 bytes")
	}
	ast, iss := celEnv.Compile(expr)
	if iss.Err() != nil {
		return nil, fmt.Errorf("expression: %v", iss.Err())
	}
	if t := ast.OutputType(); t != cel.BoolType && t != cel.DynType {
		return nil, fmt.Errorf("expression is %v, want a condition (bool)", t)
	}
	return celEnv.Program(ast, cel.CostLimit(1_000_000))
}

func transitionLine(doc *yaml.Node, tier, transition string) int {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	for _, k := range []string{"tiers", tier, "transitions", transition} {
		found := false
		for j := 0; n.Kind == yaml.MappingNode && j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == k {
				n, found = n.Content[j+1], true
				break
			}
		}
		if !found {
			break
		}
	}
	return n.Line
}

func gateLine(doc *yaml.Node, tier, transition string, i int) int {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	for _, k := range []string{"tiers", tier, "transitions", transition, "gates"} {
		found := false
		for j := 0; n.Kind == yaml.MappingNode && j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == k {
				n, found = n.Content[j+1], true
				break
			}
		}
		if !found {
			return 0
		}
	}
	if n.Kind == yaml.SequenceNode && i < len(n.Content) {
		return n.Content[i].Line
	}
	return n.Line
}
