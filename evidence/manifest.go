package evidence

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// ManifestName is the file that makes a directory a bundle.
const ManifestName = "bundle.yaml"

// MaxManifest bounds the manifest's size.
const MaxManifest = 1 << 20

// Change types.
const (
	ChangeStandard   = "standard"
	ChangeEmergency  = "emergency"
	ChangeExperiment = "experiment"
)

// Manifest is a bundle's bundle.yaml: what model version the bundle is
// evidence for, the transition it asks for, and the files that hold the
// evidence.
type Manifest struct {
	Model           string          `yaml:"model" json:"model"`
	Version         string          `yaml:"version" json:"version"`
	RiskTier        string          `yaml:"risk_tier" json:"risk_tier"`
	Change          string          `yaml:"change" json:"change"`
	Transition      Transition      `yaml:"transition" json:"transition"`
	Authors         []string        `yaml:"authors" json:"authors"`
	Artifacts       []Artifact      `yaml:"artifacts" json:"artifacts"`
	Card            string          `yaml:"card" json:"card,omitempty"`
	Metrics         MetricFiles     `yaml:"metrics" json:"metrics"`
	Predictions     *Predictions    `yaml:"predictions" json:"predictions,omitempty"`
	Scans           []string        `yaml:"scans" json:"scans"`
	Reproducibility Reproducibility `yaml:"reproducibility" json:"reproducibility"`
	Docs            Docs            `yaml:"docs" json:"docs"`
}

// Transition is the move between stages a bundle asks for.
type Transition struct {
	From string `yaml:"from" json:"from"`
	To   string `yaml:"to" json:"to"`
}

// String returns "from->to", the form policies name transitions by.
func (t Transition) String() string { return t.From + "->" + t.To }

// Artifact is a file the model is made of, of any size. SHA256, when
// given, must match the file.
type Artifact struct {
	Path   string `yaml:"path" json:"path"`
	SHA256 string `yaml:"sha256" json:"sha256,omitempty"`
}

// MetricFiles name the candidate's and the baseline's metrics JSON.
type MetricFiles struct {
	Candidate string `yaml:"candidate" json:"candidate,omitempty"`
	Baseline  string `yaml:"baseline" json:"baseline,omitempty"`
}

// Predictions name the rows metrics and fairness are computed from.
type Predictions struct {
	// Task is "binary" (the default: label 0/1, score or prediction) or
	// "regression" (numeric label and prediction).
	Task       string   `yaml:"task" json:"task,omitempty"`
	Candidate  string   `yaml:"candidate" json:"candidate"`
	Baseline   string   `yaml:"baseline" json:"baseline,omitempty"`
	ID         string   `yaml:"id" json:"id,omitempty"`
	Label      string   `yaml:"label" json:"label"`
	Score      string   `yaml:"score" json:"score,omitempty"`
	Prediction string   `yaml:"prediction" json:"prediction,omitempty"`
	Threshold  *float64 `yaml:"threshold" json:"threshold,omitempty"`
	Groups     []string `yaml:"groups" json:"groups,omitempty"`
}

// Reproducibility pins what the model was trained from.
type Reproducibility struct {
	Code         string `yaml:"code" json:"code,omitempty"`
	DataSnapshot string `yaml:"data_snapshot" json:"data_snapshot,omitempty"`
	Config       string `yaml:"config" json:"config,omitempty"`
	Seed         *int64 `yaml:"seed" json:"seed,omitempty"`
}

// Docs name the operational plans.
type Docs struct {
	Monitoring string `yaml:"monitoring" json:"monitoring,omitempty"`
	Rollback   string `yaml:"rollback" json:"rollback,omitempty"`
}

// A ParseError says where in which file what was expected.
type ParseError struct {
	File string
	Line int // 0 when not known
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s: line %d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// ParseManifest parses and checks a bundle.yaml. Unknown fields, a missing
// model, version or transition, an unknown change type and unsafe file
// names are errors that name the line.
func ParseManifest(data []byte) (*Manifest, error) {
	perr := func(line int, format string, args ...any) error {
		return &ParseError{File: ManifestName, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	if len(data) > MaxManifest {
		return nil, perr(0, "%d bytes, more than %d", len(data), MaxManifest)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, YAMLError(ManifestName, err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, perr(doc.Line, "want a mapping of fields (model, version, transition, …)")
	}
	root := doc.Content[0]
	var m Manifest
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(&m); err != nil {
		return nil, YAMLError(ManifestName, err)
	}
	line := func(keys ...string) int { return lineOf(root, keys...) }
	for _, f := range []struct{ name, v string }{{"model", m.Model}, {"version", m.Version}, {"transition.from", m.Transition.From}, {"transition.to", m.Transition.To}} {
		if strings.TrimSpace(f.v) == "" {
			return nil, perr(line(strings.Split(f.name, ".")...), "%s is required", f.name)
		}
		if err := checkName(f.v); err != nil {
			return nil, perr(line(strings.Split(f.name, ".")...), "%s: %v", f.name, err)
		}
	}
	switch m.Change {
	case "":
		m.Change = ChangeStandard
	case ChangeStandard, ChangeEmergency, ChangeExperiment:
	default:
		return nil, perr(line("change"), "change %q is not standard, emergency or experiment", m.Change)
	}
	if m.Change == ChangeExperiment && m.Transition.To == "production" {
		return nil, perr(line("transition", "to"), "an experiment never goes to production")
	}
	if p := m.Predictions; p != nil {
		switch p.Task {
		case "", "binary":
		case "regression":
			if p.Prediction == "" || p.Score != "" {
				return nil, perr(line("predictions"), "regression predictions name a prediction column (and no score)")
			}
		default:
			return nil, perr(line("predictions", "task"), "predictions task %q is not binary or regression", p.Task)
		}
	}
	for i, a := range m.Authors {
		if err := checkName(a); err != nil {
			return nil, perr(lineOfItem(root, "authors", i), "author: %v", err)
		}
	}
	for i, a := range m.Artifacts {
		if a.SHA256 != "" && !isSHA256Hex(a.SHA256) {
			return nil, perr(lineOfItem(root, "artifacts", i), "artifact %q: sha256 must be 64 lowercase hex digits", a.Path)
		}
	}
	for _, f := range m.files() {
		if err := CheckPath(f.path); err != nil {
			return nil, perr(line(f.keys...), "%s: %v", f.role, err)
		}
	}
	return &m, nil
}

// namedFile is a file a manifest names, with its role and where.
type namedFile struct {
	role string
	path string
	keys []string // the manifest keys that name it, for errors
}

// files returns every file the manifest names, in manifest order.
func (m *Manifest) files() []namedFile {
	var fs []namedFile
	add := func(role, p string, keys ...string) {
		if p != "" {
			fs = append(fs, namedFile{role, p, keys})
		}
	}
	for _, a := range m.Artifacts {
		fs = append(fs, namedFile{"artifact", a.Path, []string{"artifacts"}})
	}
	add("card", m.Card, "card")
	add("candidate metrics", m.Metrics.Candidate, "metrics", "candidate")
	add("baseline metrics", m.Metrics.Baseline, "metrics", "baseline")
	if p := m.Predictions; p != nil {
		add("candidate predictions", p.Candidate, "predictions", "candidate")
		add("baseline predictions", p.Baseline, "predictions", "baseline")
	}
	for _, s := range m.Scans {
		fs = append(fs, namedFile{"scan", s, []string{"scans"}})
	}
	add("training config", m.Reproducibility.Config, "reproducibility", "config")
	add("monitoring plan", m.Docs.Monitoring, "docs", "monitoring")
	add("rollback plan", m.Docs.Rollback, "docs", "rollback")
	return fs
}

// CheckPath reports whether p may name a file inside a bundle: relative,
// slash-separated, clean, without "..", and printable.
func CheckPath(p string) error {
	switch {
	case p == "":
		return errors.New("empty file name")
	case len(p) > 1024:
		return errors.New("file name longer than 1024 bytes")
	case strings.HasPrefix(p, "/") || strings.Contains(p, `\`) || (len(p) > 1 && p[1] == ':'):
		return fmt.Errorf("%q is absolute: name files relative to the bundle", p)
	case path.Clean(p) != p:
		return fmt.Errorf("%q is not a clean relative path (write %q)", p, path.Clean(p))
	case p == ".." || strings.HasPrefix(p, "../"):
		return fmt.Errorf("%q leaves the bundle", p)
	case p == ManifestName || p == LockName:
		return fmt.Errorf("%q is the bundle's own file", p)
	}
	for _, r := range p {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("%q holds a control or non-printing character", p)
		}
	}
	return nil
}

// checkName reports whether a short identifying string (model, version,
// stage, author) is printable and of reasonable length.
// CheckName reports whether s can be a model name, version or stage: at
// most 256 bytes, every character printable (no control, format or
// bidirectional characters).
func CheckName(s string) error { return checkName(s) }

func checkName(s string) error {
	if len(s) > 256 {
		return errors.New("longer than 256 bytes")
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("%q holds a control or non-printing character", s)
		}
	}
	return nil
}

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// YAMLError turns a YAML library error into a [ParseError] for file, with
// the line when the library gives one.
func YAMLError(file string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ": "); ok {
			fmt.Sscanf(n, "%d", &line)
			msg = after
		}
	}
	return &ParseError{File: file, Line: line, Msg: msg}
}

// lineOf returns the line of the value at keys in a mapping, or of the
// deepest key found.
func lineOf(n *yaml.Node, keys ...string) int {
	line := n.Line
	for _, k := range keys {
		found := false
		for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				n, line, found = n.Content[i+1], n.Content[i].Line, true
				break
			}
		}
		if !found {
			break
		}
	}
	return line
}

// lineOfItem returns the line of item i of the sequence at key.
func lineOfItem(n *yaml.Node, key string, i int) int {
	for j := 0; n.Kind == yaml.MappingNode && j+1 < len(n.Content); j += 2 {
		if n.Content[j].Value == key {
			if seq := n.Content[j+1]; seq.Kind == yaml.SequenceNode && i < len(seq.Content) {
				return seq.Content[i].Line
			}
			return n.Content[j].Line
		}
	}
	return 0
}

// EvidenceFiles returns the files of the bundle other than its artifacts:
// the manifest and every file it names for review, in manifest order.
// They are small enough to carry in a ledger; artifacts are not.
func (m *Manifest) EvidenceFiles() []string {
	out := []string{ManifestName}
	for _, f := range m.files() {
		if f.role != "artifact" && !slices.Contains(out, f.path) {
			out = append(out, f.path)
		}
	}
	return out
}

// IsArtifact reports whether the manifest names path as an artifact.
func (m *Manifest) IsArtifact(path string) bool {
	return slices.ContainsFunc(m.Artifacts, func(a Artifact) bool { return a.Path == path })
}
