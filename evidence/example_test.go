package evidence_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/signoff-dev/signoff/evidence"
)

// A bundle: sealed, checked, changed and checked again.
func Example() {
	dir, _ := os.MkdirTemp("", "bundle")
	defer os.RemoveAll(dir)
	for name, text := range map[string]string{
		"bundle.yaml": `model: credit-risk
version: "7"
risk_tier: high
transition: {from: staging, to: production}
artifacts: [{path: model.bin}]
card: card.md
metrics: {candidate: metrics.json}
`,
		"card.md":      "# credit-risk 7\n",
		"metrics.json": `{"roc_auc": 0.81}`,
		"model.bin":    "weights",
	} {
		os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644)
	}
	b, err := evidence.Open(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	lock, _ := b.Seal()
	st, _ := b.Check()
	fmt.Println(st.Intact(), st.Digest == lock.Digest())

	os.WriteFile(filepath.Join(dir, "card.md"), []byte("# credit-risk 7, edited\n"), 0o644)
	st, _ = b.Check()
	fmt.Println(st.Intact(), st.Changed())
	// Output:
	// true true
	// false [card.md changed]
}

// A bundle's evidence, evaluated: the metrics it reports or computes.
func ExampleBundle_Evaluate() {
	dir, _ := os.MkdirTemp("", "bundle")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "bundle.yaml"), []byte(`model: m
version: "1"
risk_tier: low
transition: {from: staging, to: production}
metrics: {candidate: cand.json, baseline: base.json}
`), 0o644)
	os.WriteFile(filepath.Join(dir, "cand.json"), []byte(`{"roc_auc": 0.81}`), 0o644)
	os.WriteFile(filepath.Join(dir, "base.json"), []byte(`{"roc_auc": 0.78}`), 0o644)
	b, _ := evidence.Open(dir)
	defer b.Close()
	r, err := b.Evaluate()
	if err != nil {
		fmt.Println(err)
		return
	}
	d := r.Metrics.Diff["roc_auc"]
	fmt.Printf("roc_auc %v, baseline %v, change %+.3f, better %v\n", r.Metrics.Candidate["roc_auc"].Value, r.Metrics.Baseline["roc_auc"].Value, d.Abs.V, *d.Better)
	// Output:
	// roc_auc 0.81, baseline 0.78, change +0.030, better true
}

// A model card's fields and the results it reports.
func ExampleParseCard() {
	card, err := evidence.ParseCard("README.md", []byte(`---
license: apache-2.0
model-index:
- name: sentiment
  results:
  - task: {type: text-classification}
    dataset: {name: sst2, type: sst2}
    metrics:
    - {type: accuracy, value: 0.91}
---
# sentiment
Classifies reviews.
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(card.Format, card.License, len(card.Results), card.Results[0].MetricType, card.Results[0].Value)
	// Output:
	// huggingface apache-2.0 1 accuracy 0.91
}
