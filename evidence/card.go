package evidence

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxCard bounds a model card's size.
const MaxCard = 4 << 20

// Card formats.
const (
	FormatHuggingFace = "huggingface"        // markdown with YAML front matter
	FormatMCT         = "model-card-toolkit" // Google Model Card Toolkit JSON
	FormatMarkdown    = "markdown"
)

// A Card is a model card's structured fields, whatever its format.
type Card struct {
	Format      string   `json:"format"`
	Name        string   `json:"name"`
	Owners      []string `json:"owners"`
	License     string   `json:"license"`
	IntendedUse string   `json:"intended_use"`
	Limitations []string `json:"limitations"`
	Datasets    []string `json:"datasets"`
	Results     []Result `json:"results"`
	Body        string   `json:"body,omitempty"` // the markdown, if any
	Warnings    []string `json:"warnings"`
}

// A Result is one reported metric value.
type Result struct {
	Task       string      `json:"task,omitempty"`
	Dataset    string      `json:"dataset,omitempty"`
	Split      string      `json:"split,omitempty"`
	Slice      string      `json:"slice,omitempty"`
	MetricType string      `json:"metric_type"`
	MetricName string      `json:"name,omitempty"`
	Value      string      `json:"value"`            // as the card gives it
	Number     *float64    `json:"number,omitempty"` // the value, when it reads as a number
	CI         *[2]float64 `json:"ci,omitempty"`
	Verified   bool        `json:"verified,omitempty"`
}

// ParseCard reads a model card of any supported format. A card whose
// metadata does not parse is still returned, as markdown, with a warning.
// Lists are empty, never nil.
func ParseCard(name string, data []byte) (*Card, error) {
	c, err := parseCard(name, data)
	if c != nil {
		for _, l := range []*[]string{&c.Owners, &c.Limitations, &c.Datasets, &c.Warnings} {
			if *l == nil {
				*l = []string{}
			}
		}
		if c.Results == nil {
			c.Results = []Result{}
		}
	}
	return c, err
}

func parseCard(name string, data []byte) (*Card, error) {
	if len(data) > MaxCard {
		return nil, &ParseError{File: name, Msg: fmt.Sprintf("%d bytes, more than %d", len(data), MaxCard)}
	}
	text := string(bytes.TrimPrefix(data, []byte("\ufeff")))
	trimmed := strings.TrimSpace(text)
	switch {
	case strings.HasPrefix(trimmed, "{"):
		c, err := parseMCT(data)
		if err == nil {
			return c, nil
		}
		c = parseMarkdown(text)
		c.Warnings = append(c.Warnings, fmt.Sprintf("%s looks like Model Card Toolkit JSON but does not parse (%v): shown as text", name, err))
		return c, nil
	case strings.HasPrefix(text, "---\n") || strings.HasPrefix(text, "---\r\n"):
		front, body, ok := splitFrontMatter(text)
		if !ok {
			c := parseMarkdown(text)
			c.Warnings = append(c.Warnings, name+": front matter has no closing ---: shown as markdown")
			return c, nil
		}
		c, err := parseHF(front, body)
		if err != nil {
			c = parseMarkdown(body)
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s: front matter is not valid YAML (%v): shown as markdown", name, YAMLError(name, err)))
		}
		return c, nil
	}
	return parseMarkdown(text), nil
}

func splitFrontMatter(text string) (front, body string, ok bool) {
	rest := text[strings.Index(text, "\n")+1:]
	for off := 0; off < len(rest); {
		end := strings.IndexByte(rest[off:], '\n')
		line := rest[off:]
		if end >= 0 {
			line = rest[off : off+end]
		}
		if strings.TrimRight(line, "\r ") == "---" {
			body := ""
			if end >= 0 {
				body = rest[off+end+1:]
			}
			return rest[:off], body, true
		}
		if end < 0 {
			break
		}
		off += end + 1
	}
	return "", "", false
}

// parseHF reads Hugging Face card metadata: license, datasets and the
// model-index results (or the legacy model_index).
func parseHF(front, body string) (*Card, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(front), &doc); err != nil {
		return nil, err
	}
	budget := maxCardNodes
	meta := dict(nodeValue(&doc, &budget))
	if budget < 0 {
		return nil, fmt.Errorf("front matter expands to more than %d values", maxCardNodes)
	}
	c := parseMarkdown(body)
	c.Format = FormatHuggingFace
	c.License = strings.Join(strs(meta["license"]), ", ")
	c.Datasets = strs(meta["datasets"])
	index, ok := meta["model-index"]
	if !ok {
		index = meta["model_index"]
	}
	for _, m := range list(index) {
		model := dict(m)
		if n := str(model["name"]); n != "" {
			c.Name = n
		}
		for _, r := range list(model["results"]) {
			res := dict(r)
			task, ds := dict(res["task"]), dict(res["dataset"])
			taskName := firstOf(str(task["type"]), str(task["name"]))
			dsName := firstOf(str(ds["name"]), str(ds["type"]))
			for _, mv := range list(res["metrics"]) {
				metric := dict(mv)
				out := Result{
					Task: taskName, Dataset: dsName, Split: str(ds["split"]),
					MetricType: str(metric["type"]), MetricName: str(metric["name"]),
					Value: str(metric["value"]), Verified: metric["verified"] == true,
				}
				out.Number, out.CI = readValue(out.Value)
				c.Results = append(c.Results, out)
			}
		}
	}
	for _, o := range []string{"model_creator", "author", "authors"} {
		c.Owners = append(c.Owners, strs(meta[o])...)
	}
	return c, nil
}

// parseMCT reads Model Card Toolkit JSON, schema v0.0.1 or v0.0.2.
func parseMCT(data []byte) (*Card, error) {
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	details := dict(doc["model_details"])
	if details == nil {
		return nil, fmt.Errorf("no model_details")
	}
	c := &Card{Format: FormatMCT, Name: str(details["name"])}
	for _, o := range list(details["owners"]) {
		od := dict(o)
		owner := str(od["name"])
		if ct := str(od["contact"]); ct != "" {
			owner += " <" + ct + ">"
		}
		c.Owners = append(c.Owners, owner)
	}
	var lic []string
	for _, l := range list(details["licenses"]) {
		ld := dict(l)
		lic = append(lic, firstOf(str(ld["identifier"]), str(ld["custom_text"])))
	}
	lic = append(lic, strs(details["license"])...) // v0.0.1
	c.License = strings.Join(lic, ", ")
	params := dict(doc["model_parameters"])
	for _, d := range list(params["data"]) { // v0.0.2: a list of datasets
		if n := str(dict(d)["name"]); n != "" {
			c.Datasets = append(c.Datasets, n)
		}
	}
	for _, split := range []string{"train", "eval"} { // v0.0.1: train and eval
		if n := str(dict(dict(params["data"])[split])["name"]); n != "" {
			c.Datasets = append(c.Datasets, n)
		}
	}
	cons := dict(doc["considerations"])
	var uses []string
	for _, u := range list(cons["use_cases"]) {
		uses = append(uses, firstOf(str(dict(u)["description"]), str(u)))
	}
	c.IntendedUse = strings.Join(uses, "\n")
	for _, l := range list(cons["limitations"]) {
		c.Limitations = append(c.Limitations, firstOf(str(dict(l)["description"]), str(l)))
	}
	for _, pm := range list(dict(doc["quantitative_analysis"])["performance_metrics"]) {
		m := dict(pm)
		r := Result{MetricType: str(m["type"]), Value: str(m["value"]), Slice: str(m["slice"])}
		r.Number, r.CI = readValue(r.Value)
		if ci := dict(m["confidence_interval"]); ci != nil {
			lo, errLo := strconv.ParseFloat(str(ci["lower_bound"]), 64)
			hi, errHi := strconv.ParseFloat(str(ci["upper_bound"]), 64)
			switch {
			case errLo != nil || errHi != nil:
				c.Warnings = append(c.Warnings, fmt.Sprintf("%s: confidence interval bounds are not numbers", r.MetricType))
			case lo > hi:
				c.Warnings = append(c.Warnings, fmt.Sprintf("%s: confidence interval [%v, %v] is upside down: ignored", r.MetricType, lo, hi))
			default:
				r.CI = &[2]float64{lo, hi}
			}
		}
		c.Results = append(c.Results, r)
	}
	return c, nil
}

var (
	headingRE = regexp.MustCompile(`(?m)^(#{1,6})[ \t]+(.+?)[ \t#]*$`)
	valueRE   = regexp.MustCompile(`^\s*([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*%?\s*(?:(?:±|\+/-|\+-)\s*(\d+(?:\.\d+)?(?:[eE][-+]?\d+)?))?\s*%?\s*$`)
)

// parseMarkdown takes the name from the first heading and the intended use
// and limitations from sections so named.
func parseMarkdown(text string) *Card {
	c := &Card{Format: FormatMarkdown, Body: text}
	hs := headingRE.FindAllStringSubmatchIndex(text, -1)
	for i, h := range hs {
		title := strings.ToLower(text[h[4]:h[5]])
		level := h[3] - h[2]
		end := len(text)
		for _, next := range hs[i+1:] {
			if next[3]-next[2] <= level {
				end = next[0]
				break
			}
		}
		section := strings.TrimSpace(text[h[1]:end])
		switch {
		case c.Name == "" && level == 1:
			c.Name = strings.TrimSpace(text[h[4]:h[5]])
		case strings.Contains(title, "intended use") && c.IntendedUse == "":
			c.IntendedUse = section
		case strings.Contains(title, "limitation") && c.Limitations == nil:
			c.Limitations = []string{section}
		}
	}
	return c
}

// readValue reads "0.91", "91%", "20.0 ± 1.2" or "20.0 +/- 1.2": the
// number, and the interval the ± gives.
func readValue(v string) (*float64, *[2]float64) {
	m := valueRE.FindStringSubmatch(v)
	if m == nil {
		return nil, nil
	}
	x, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return nil, nil
	}
	if m[2] == "" {
		return &x, nil
	}
	d, err := strconv.ParseFloat(m[2], 64)
	if err != nil {
		return &x, nil
	}
	return &x, &[2]float64{x - d, x + d}
}

// maxCardNodes bounds how many values front matter may expand to, aliases
// counted each time they are used.
const maxCardNodes = 1 << 20

// nodeValue turns YAML into maps, lists and scalars, keeping each scalar's
// text exactly as written ("0.57870" stays so) and booleans as bool. It
// spends one of budget per value and stops when none is left.
func nodeValue(n *yaml.Node, budget *int) any {
	if *budget--; *budget < 0 || n == nil {
		return nil
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 1 {
			return nodeValue(n.Content[0], budget)
		}
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = nodeValue(n.Content[i+1], budget)
		}
		return m
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			l = append(l, nodeValue(c, budget))
		}
		return l
	case yaml.AliasNode:
		return nodeValue(n.Alias, budget)
	case yaml.ScalarNode:
		if n.Tag == "!!bool" {
			return n.Value == "true" || n.Value == "True" || n.Value == "TRUE"
		}
		if n.Tag == "!!null" {
			return nil
		}
		return n.Value
	}
	return nil
}

// Helpers for walking decoded YAML or JSON of uncertain shape.

func dict(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func list(v any) []any {
	switch l := v.(type) {
	case []any:
		return l
	case nil:
		return nil
	}
	return []any{v}
}

func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case int:
		return strconv.Itoa(x)
	case bool:
		return strconv.FormatBool(x)
	case map[string]any, []any:
		return ""
	}
	return fmt.Sprint(v)
}

func strs(v any) []string {
	var out []string
	for _, x := range list(v) {
		if s := str(x); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
