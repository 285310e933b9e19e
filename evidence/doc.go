// Package evidence reads the evidence a model version is approved on: a
// bundle directory, its digest, its model card, its metrics and fairness,
// and its scanner reports. It knows nothing of signatures or people:
// package policy joins it to the ledger.
//
// A bundle is a directory with a manifest, bundle.yaml:
//
//	model: credit-risk
//	version: "7"
//	risk_tier: high
//	transition: {from: staging, to: production}
//	authors: [alice@bank.example]
//	artifacts: [{path: model.onnx}]
//	card: MODEL_CARD.md
//	predictions: {candidate: predictions.csv, baseline: baseline/predictions.csv,
//	              id: applicant_id, label: label, score: score, groups: [sex]}
//	scans: [sbom.spdx.json]
//	docs: {monitoring: MONITORING.md, rollback: ROLLBACK.md}
//
// # Sealing and the digest
//
// [Bundle.Seal] writes bundle.lock: the SHA-256 and size of the manifest
// and of every file it names, one sorted line each. The bundle's digest is
// the SHA-256 of that text, so it pins every byte a reviewer sees and a
// verifier re-evaluates; [Bundle.Check] names each file that changed since.
// Files are read through an [os.Root]: no manifest path reaches outside the
// bundle, and only regular files are opened (a FIFO cannot hang a seal).
//
// # What the evidence says
//
// [Bundle.Evaluate] computes a [Report], a pure function of the bundle's
// files: model-card fields and reported results ([ParseCard]: Hugging Face
// front matter, Model Card Toolkit JSON, plain markdown), metrics read from
// JSON or computed from a predictions CSV with the definitions of
// scikit-learn, 95% bootstrap intervals and paired intervals of the change
// against the baseline, and per-group fairness with the formulas of
// Fairlearn and AIF360. The bootstrap is seeded by the digest of the rows
// each interval resamples ([Seed]), so every machine computes the same
// intervals and editing any other file moves none of them. A value the data
// cannot define is undefined, with the reason, never 0.
//
// Everything here reads files from outside: sizes are bounded, parsers are
// strict and fuzzed, and errors name the file and line.
package evidence
