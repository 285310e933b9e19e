package evidence

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const fixtures = "../../shared/fixtures/cards"

// frontMatterValues counts the metric values in a card's front matter the
// plain way, as lines "value: …", to check the parser against.
func frontMatterValues(t *testing.T, text string) int {
	t.Helper()
	front, _, ok := splitFrontMatter(text)
	if !ok {
		t.Fatal("no front matter")
	}
	return len(regexp.MustCompile(`(?m)^\s*(- )?value:`).FindAllString(front, -1))
}

func TestHuggingFaceFixtures(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(fixtures, "*_README.md"))
	if len(files) == 0 {
		t.Skip("no fixtures at " + fixtures)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			c, err := ParseCard(filepath.Base(f), data)
			if err != nil {
				t.Fatal(err)
			}
			if c.Format != FormatHuggingFace || len(c.Warnings) > 0 {
				t.Fatalf("format %s, warnings %v", c.Format, c.Warnings)
			}
			if want := frontMatterValues(t, string(data)); len(c.Results) != want {
				t.Fatalf("%d results, the front matter has %d values", len(c.Results), want)
			}
			if c.Name == "" || c.License == "" {
				t.Fatalf("name %q license %q", c.Name, c.License)
			}
			for _, r := range c.Results {
				if r.MetricType == "" || r.Value == "" || r.Number == nil {
					t.Fatalf("incomplete result %+v", r)
				}
			}
		})
	}
}

func TestHuggingFaceValues(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(fixtures, "Helsinki-NLP_opus-mt-tc-big-itc-itc_README.md"))
	if err != nil {
		t.Skip(err)
	}
	c, _ := ParseCard("card", data)
	r := c.Results[1]
	if r.MetricType != "chrf" || r.Value != "0.57870" || *r.Number != 0.5787 || r.Task != "translation" || r.Dataset != "flores101-devtest" {
		t.Fatalf("second result %+v: want chrf 0.57870 as written", r)
	}
	data, _ = os.ReadFile(filepath.Join(fixtures, "51la5_distilbert-base-sentiment_README.md"))
	c, _ = ParseCard("card", data)
	if r := c.Results[0]; r.MetricType != "accuracy" || r.Value != "0.9105504587155964" || !r.Verified || r.Split != "validation" {
		t.Fatalf("first result %+v", r)
	}
	if c.Name != "distilbert-base-uncased-finetuned-sst-2-english" || c.License != "apache-2.0" || strings.Join(c.Datasets, ",") != "sst2,glue" {
		t.Fatalf("card %q %q %v", c.Name, c.License, c.Datasets)
	}
}

func TestMCTFixture(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(fixtures, "mct_full_v0_0_2.json"))
	if err != nil {
		t.Skip(err)
	}
	c, err := ParseCard("mct.json", data)
	if err != nil {
		t.Fatal(err)
	}
	if c.Format != FormatMCT || c.Name != "name" || len(c.Owners) != 2 || c.Owners[0] != "name1 <contact1@email.com>" ||
		c.License != "Apache-2.0" || c.IntendedUse != "use_cases" || strings.Join(c.Limitations, ",") != "limitations1,limitations2" ||
		strings.Join(c.Datasets, ",") != "data name" {
		t.Fatalf("card %+v", c)
	}
	if len(c.Results) != 1 {
		t.Fatalf("results %+v", c.Results)
	}
	r := c.Results[0]
	if r.MetricType != "accuracy" || r.Value != "0.9" || r.Slice != "overall" || r.CI == nil || r.CI[0] != 0.85 || r.CI[1] != 0.95 {
		t.Fatalf("result %+v", r)
	}
}

func TestMCTv001(t *testing.T) {
	c, err := ParseCard("v1.json", []byte(`{"schema_version": "0.0.1",
	 "model_details": {"name": "m", "owners": [{"name": "o", "contact": "o@x"}], "license": "MIT"},
	 "model_parameters": {"data": {"train": {"name": "train set"}, "eval": {"name": "eval set"}}},
	 "considerations": {"use_cases": ["triage support"], "limitations": ["not for children"]},
	 "quantitative_analysis": {"performance_metrics": [{"type": "recall", "value": 0.95, "slice": "age>65",
	   "confidence_interval": {"lower_bound": 0.93, "upper_bound": 0.97}}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.License != "MIT" || strings.Join(c.Datasets, ",") != "train set,eval set" || c.IntendedUse != "triage support" || c.Limitations[0] != "not for children" {
		t.Fatalf("card %+v", c)
	}
	if r := c.Results[0]; r.Value != "0.95" || r.Slice != "age>65" || r.CI[0] != 0.93 {
		t.Fatalf("result %+v", r)
	}
}

func TestCardValueForms(t *testing.T) {
	card := "---\nmodel_index:\n- name: legacy\n  results:\n  - task: {type: asr}\n    dataset: {name: cv}\n    metrics:\n    - {type: wer, value: \"20.0 ± 1.2\"}\n    - {type: cer, value: \"3.1 +/- 0.2\"}\n    - {type: acc, value: \"91%\"}\n    - {type: note, value: \"n/a\"}\n---\n# Legacy\n"
	c, err := ParseCard("c.md", []byte(card))
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "legacy" || len(c.Results) != 4 {
		t.Fatalf("card %+v", c)
	}
	r := c.Results[0]
	if r.Value != "20.0 ± 1.2" || *r.Number != 20 || r.CI[0] != 18.8 || r.CI[1] != 21.2 {
		t.Fatalf("± value %+v", r)
	}
	if r := c.Results[1]; *r.Number != 3.1 || r.CI == nil {
		t.Fatalf("+/- value %+v", r)
	}
	if r := c.Results[3]; r.Number != nil || r.Value != "n/a" {
		t.Fatalf("non-numeric value %+v", r)
	}
}

func TestCardFallbacks(t *testing.T) {
	c, err := ParseCard("bad.md", []byte("---\nmodel-index: [unclosed\n---\n# Still a card\n\n## Intended use\nScoring loans.\n\n## Limitations\nNot for minors.\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Format != FormatMarkdown || len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "not valid YAML") {
		t.Fatalf("bad front matter: %+v", c)
	}
	if c.Name != "Still a card" || c.IntendedUse != "Scoring loans." || c.Limitations[0] != "Not for minors." {
		t.Fatalf("markdown fields %+v", c)
	}
	c, _ = ParseCard("bad.json", []byte(`{"model_details": `))
	if c.Format != FormatMarkdown || len(c.Warnings) != 1 {
		t.Fatalf("bad json: %+v", c)
	}
	if _, err := ParseCard("big.md", make([]byte, MaxCard+1)); err == nil {
		t.Fatal("oversized card parsed")
	}
	bomb := "---\na: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n---\n"
	c, err = ParseCard("bomb.md", []byte(bomb))
	if err != nil || len(c.Warnings) == 0 {
		t.Fatalf("alias bomb: %+v, %v", c, err)
	}
}

func FuzzParseCard(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(fixtures, "*"))
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("---\nmodel_index: [{name: x, results: [{metrics: [{type: a, value: \"1 ± 2\"}]}]}]\n---\n# x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCard("fuzz", data)
		if err != nil {
			return
		}
		for _, r := range c.Results {
			if r.CI != nil && r.CI[0] > r.CI[1] {
				t.Fatalf("interval %v is upside down", r.CI)
			}
		}
	})
}
