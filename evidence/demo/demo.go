// Package demo writes signoff's demo evidence: three bundles from the
// classic worked examples and the policy that judges them, generated from
// a fixed seed so that every machine writes the same bytes.
//
//   - credit-risk v7, high risk: a credit scoring model beside its
//     champion, with applicant ids for paired comparison, sex and age
//     bands for fairness, scans and pinned reproducibility.
//   - recommender v12, medium risk: click-through rate up, but p95
//     latency over its budget: its latency gate fails.
//   - sepsis-triage v3, safety-critical: sensitivity and specificity.
package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// Bundles are the directories Write creates, in order.
var Bundles = []string{"credit-risk-v7", "recommender-v12", "sepsis-triage-v3"}

// PolicyFile is the policy Write creates beside the bundles.
const PolicyFile = "policy.yaml"

// Write creates the demo bundles and policy in dir.
func Write(dir string) error {
	r := rand.New(rand.NewPCG(2026, 11))
	files := map[string]string{PolicyFile: demoPolicy}
	credit(r, files)
	recommender(r, files)
	triage(r, files)
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			return fmt.Errorf("failed to write demo: %w", err)
		}
	}
	return nil
}

const demoPolicy = `# signoff demo policy: per risk tier and transition, the sign-offs, who may
# not give them, how long they last, what a reviewer must open, the gates
# and the emergency path.
version: 1
tiers:
  high:
    transitions:
      staging->production:
        require:
          - {role: model-owner, count: 1}
          - {any_of: [risk, compliance], count: 2}
        separation_of_duties: {authors_may_approve: false, requester_may_approve: false}
        approval_valid_for: 720h
        require_review_of: [card, metrics, fairness, evidence]
        emergency: {roles: [mlops], count: 1, valid_for: 72h, review_within: 168h}
        gates:
          - {name: auc-floor, metric: roc_auc, min: 0.70}
          - {name: auc-vs-champion, metric: roc_auc, baseline: {max_drop_rel: 0.01}, confidence: 0.95}
          - {name: disparate-impact, fairness: disparate_impact, groups: [sex], min: 0.8}
          - {name: sbom-and-licences, evidence: scans}
          - {name: reproducible, evidence: reproducibility}
          - {name: plans, evidence: docs}
          - {name: recall-and-eo, expr: "metrics.candidate.recall >= 0.6 && fairness.sex.equal_opportunity_difference <= 0.1"}
  medium:
    transitions:
      staging->production:
        require:
          - {role: model-owner, count: 1}
          - {role: risk, count: 1}
        approval_valid_for: 720h
        require_review_of: [metrics, evidence]
        gates:
          - {name: ctr-up-2pct, metric: ctr, baseline: {min_gain_rel: 0.02}}
          - {name: p95-latency, metric: p95_latency_ms, max: 120}
          - {name: plans, evidence: docs}
  safety-critical:
    transitions:
      staging->production:
        require:
          - {role: model-owner, count: 1}
          - {role: clinical-safety, count: 1}
          - {any_of: [risk, compliance], count: 1}
        approval_valid_for: 336h
        require_review_of: [card, metrics, fairness, evidence, history]
        emergency: {roles: [clinical-safety], count: 2, valid_for: 24h, review_within: 72h}
        gates:
          - {name: sensitivity, metric: recall, min: 0.95}
          - {name: specificity, metric: specificity, min: 0.90}
          - {name: card, evidence: card}
          - {name: plans, evidence: docs}
          - {name: reproducible, evidence: reproducibility}
`

// score draws a classifier score: positives centred at hi, negatives at
// lo, with the given spread, clipped into (0, 1).
func score(r *rand.Rand, positive bool, lo, hi, spread float64) float64 {
	mean := lo
	if positive {
		mean = hi
	}
	s := mean + spread*r.NormFloat64()
	return math.Round(math.Min(0.999, math.Max(0.001, s))*1000) / 1000
}

func credit(r *rand.Rand, files map[string]string) {
	const dir = "credit-risk-v7/"
	var cand, base strings.Builder
	cand.WriteString("applicant_id,label,score,sex,age_band\n")
	base.WriteString("applicant_id,label,score,sex,age_band\n")
	bands := []string{"18-25", "26-40", "41-60", "61+"}
	for i := range 4000 {
		sex := []string{"F", "M"}[r.IntN(2)]
		band := bands[r.IntN(len(bands))]
		y := r.Float64() < 0.3
		label := map[bool]int{false: 0, true: 1}[y]
		fmt.Fprintf(&cand, "A%05d,%d,%.3f,%s,%s\n", i, label, score(r, y, 0.30, 0.68, 0.17), sex, band)
		fmt.Fprintf(&base, "A%05d,%d,%.3f,%s,%s\n", i, label, score(r, y, 0.32, 0.66, 0.18), sex, band)
	}
	files[dir+"predictions.csv"] = cand.String()
	files[dir+"baseline/predictions.csv"] = base.String()
	files[dir+"bundle.yaml"] = `model: credit-risk
version: "7"
risk_tier: high
change: standard
transition: {from: staging, to: production}
authors: [alice@bank.example]
artifacts: [{path: model.onnx}]
card: MODEL_CARD.md
predictions:
  candidate: predictions.csv
  baseline: baseline/predictions.csv
  id: applicant_id
  label: label
  score: score
  threshold: 0.5
  groups: [sex, age_band]
scans: [sbom.spdx.json, licenses.json]
reproducibility: {code: 9f1c2e7a4b, data_snapshot: loans-2026-10-31, config: train.yaml, seed: 42}
docs: {monitoring: MONITORING.md, rollback: ROLLBACK.md}
`
	files[dir+"model.onnx"] = artifact(r, 64<<10)
	files[dir+"MODEL_CARD.md"] = `---
license: proprietary
datasets: [loans-2026-10-31]
model-index:
- name: credit-risk
  results:
  - task: {type: tabular-classification, name: Default prediction}
    dataset: {name: loans-2026-10-31, type: internal, split: holdout}
    metrics:
    - {type: roc_auc, name: AUC, value: 0.89}
---
# credit-risk v7

Gradient-boosted trees predicting 12-month default for consumer loan
applications (DEMO DATA).

## Intended use
Ranking applications for manual review. Not for automated refusal.

## Limitations
Trained on applicants aged 18 to 75; thin-file applicants are scored less
reliably.
`
	files[dir+"sbom.spdx.json"] = `{"spdxVersion": "SPDX-2.3", "name": "credit-risk-7", "packages": [{"name": "xgboost", "versionInfo": "2.1.1"}]}` + "\n"
	files[dir+"licenses.json"] = `{"xgboost": "Apache-2.0", "numpy": "BSD-3-Clause"}` + "\n"
	files[dir+"train.yaml"] = "model: xgboost\nmax_depth: 6\nn_estimators: 400\nlearning_rate: 0.05\n"
	files[dir+"MONITORING.md"] = "# Monitoring\nPSI on score and inputs weekly; alert above 0.2. Approval rate by sex daily.\n"
	files[dir+"ROLLBACK.md"] = "# Rollback\nRe-point the scoring alias to credit-risk v6; no data migration.\n"
}

func recommender(r *rand.Rand, files map[string]string) {
	const dir = "recommender-v12/"
	files[dir+"bundle.yaml"] = `model: recommender
version: "12"
risk_tier: medium
change: standard
transition: {from: staging, to: production}
authors: [bob@shop.example]
artifacts: [{path: model.bin}]
card: MODEL_CARD.md
metrics: {candidate: metrics.json, baseline: baseline/metrics.json}
docs: {monitoring: MONITORING.md, rollback: ROLLBACK.md}
`
	files[dir+"metrics.json"] = `{"ctr": {"value": 0.0412, "ci": [0.0405, 0.0419]}, "p95_latency_ms": 131, "ndcg_at_10": 0.412}` + "\n"
	files[dir+"baseline/metrics.json"] = `{"ctr": {"value": 0.0400, "ci": [0.0393, 0.0407]}, "p95_latency_ms": 104, "ndcg_at_10": 0.398}` + "\n"
	files[dir+"model.bin"] = artifact(r, 32<<10)
	files[dir+"MODEL_CARD.md"] = "# recommender v12\n\nTwo-tower retrieval with a re-ranker (DEMO).\n\n## Intended use\nHome page recommendations.\n\n## Limitations\nCold-start items are under-recommended.\n"
	files[dir+"MONITORING.md"] = "# Monitoring\nCTR and p95 latency per hour, by region.\n"
	files[dir+"ROLLBACK.md"] = "# Rollback\nFeature flag rec_v12 off.\n"
}

func triage(r *rand.Rand, files map[string]string) {
	const dir = "sepsis-triage-v3/"
	var b strings.Builder
	b.WriteString("encounter,sepsis,risk,sex\n")
	for i := range 3000 {
		y := r.Float64() < 0.12
		label := map[bool]int{false: 0, true: 1}[y]
		fmt.Fprintf(&b, "E%05d,%d,%.3f,%s\n", i, label, score(r, y, 0.10, 0.62, 0.12), []string{"F", "M"}[r.IntN(2)])
	}
	files[dir+"predictions.csv"] = b.String()
	files[dir+"bundle.yaml"] = `model: sepsis-triage
version: "3"
risk_tier: safety-critical
change: standard
transition: {from: staging, to: production}
authors: [carol@hospital.example]
artifacts: [{path: model.pt}]
card: model_card.json
predictions: {candidate: predictions.csv, id: encounter, label: sepsis, score: risk, threshold: 0.35, groups: [sex]}
reproducibility: {code: 51ab03de, data_snapshot: ed-visits-2026q3, config: train.yaml, seed: 7}
docs: {monitoring: MONITORING.md, rollback: ROLLBACK.md}
`
	files[dir+"model.pt"] = artifact(r, 48<<10)
	files[dir+"model_card.json"] = `{"schema_version": "0.0.2",
 "model_details": {"name": "sepsis-triage v3", "owners": [{"name": "Clinical AI team", "contact": "clinical-ai@hospital.example"}], "licenses": [{"identifier": "proprietary"}]},
 "considerations": {"use_cases": [{"description": "Flag adult ED patients for sepsis screening (DEMO)."}], "limitations": [{"description": "Not validated for paediatric patients."}]},
 "quantitative_analysis": {"performance_metrics": [{"type": "recall", "value": "0.96", "slice": "adults", "confidence_interval": {"lower_bound": "0.94", "upper_bound": "0.98"}}]}}
`
	files[dir+"train.yaml"] = "model: logistic-gbm-stack\nfeatures: vitals+labs\n"
	files[dir+"MONITORING.md"] = "# Monitoring\nWeekly sensitivity on adjudicated cases; drift on lactate.\n"
	files[dir+"ROLLBACK.md"] = "# Rollback\nRevert to v2 alerting thresholds.\n"
}

// artifact is n seeded pseudo-random bytes standing in for model weights.
func artifact(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return string(b)
}
