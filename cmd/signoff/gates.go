package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/signoff-dev/signoff/inert"
	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
)

func (a *app) gatesCmd() *cobra.Command {
	var policyFile string
	var asJSON bool
	c := &cobra.Command{
		Use:   "gates DIR --policy FILE",
		Short: "Evaluate a bundle against the gates its policy sets",
		Long: `Evaluate a bundle's evidence against the gates the policy sets for the
bundle's risk tier and transition (both from its manifest). Each gate
passes, fails or is undefined (its inputs are missing or undefined), with
the value observed, the bound and a sentence of reason.

Gate kinds: a metric against min/max; a metric against the baseline
(max_drop, max_drop_rel, min_gain, min_gain_rel), optionally at the 95%
bound (confidence: 0.95); a fairness metric over named group columns;
required evidence (card, scans, docs, reproducibility, …); and a CEL
expression over metrics, fairness and manifest.

The bundle's seal is checked as signoff verify checks it: a bundle changed
since it was sealed is not evaluated (exit 2, naming the files that
changed); one never sealed is evaluated as its files are, and said to be
unsealed (seal it with signoff bundle seal before requesting it).

Exit codes: 0 every gate passes, 1 any gate fails or is undefined, 2 the
bundle is not as sealed, 3 bad input (bundle, policy, or a tier or
transition the policy lacks).`,
		Example: `  signoff gates ./credit-risk-v7 --policy policy.yaml
  signoff gates ./credit-risk-v7 --policy policy.yaml --json | jq '.gates[] | select(.status != "pass")'`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if policyFile == "" {
				return usageError("gates needs --policy FILE")
			}
			data, err := ledger.ReadBounded(policyFile, policy.MaxPolicy)
			if err != nil {
				return usageError("failed to read policy: %v", err)
			}
			pol, err := policy.Parse(policyFile, data)
			if err != nil {
				return usageError("%v", err)
			}
			b, err := openBundle(args[0])
			if err != nil {
				return err
			}
			defer b.Close()
			m := b.Manifest
			gates, err := pol.GatesFor(m.RiskTier, m.Transition.String())
			if err != nil {
				return usageError("%s asks for %s at risk tier %q, but %v", args[0], m.Transition, m.RiskTier, err)
			}
			st, err := b.Check()
			if err != nil {
				return usageError("%v", err)
			}
			sealed := st.SealedDigest != ""
			if sealed && !st.Intact() {
				ns := &notSealedError{args[0], st}
				if asJSON {
					writeJSON(a.stdout, map[string]any{"digest": st.Digest, "sealed_digest": st.SealedDigest, "sealed": true, "intact": false,
						"changed": st.Changed(), "pass": false, "gates": []policy.Result{}, "error": ns.Error()})
				}
				return &exitError{exitTampered, ns}
			}
			stop := a.busy("computing metrics, 95% intervals and fairness")
			report, err := b.Evaluate()
			stop()
			if err != nil {
				return usageError("%v", err)
			}
			results := policy.Evaluate(gates, m, report)
			pass := policy.AllPass(results)
			if asJSON {
				if err := writeJSON(a.stdout, map[string]any{
					"digest": st.Digest, "sealed": sealed, "intact": sealed, "tier": m.RiskTier, "transition": m.Transition.String(),
					"pass": pass, "gates": results,
				}); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
				for _, r := range results {
					mark := map[string]string{policy.Pass: "✓ pass", policy.Fail: "✗ FAIL", policy.Undefined: "? UNDEFINED"}[r.Status]
					fmt.Fprintf(tw, "%s\t%s\t%s\n", mark, oneLine(r.Name), inert.Escape(r.Reason))
				}
				tw.Flush()
				n := map[string]int{}
				for _, r := range results {
					n[r.Status]++
				}
				fmt.Fprintf(a.stdout, "%s %s at risk tier %s: ✓ %d ✗ %d ? %d\n", inert.Escape(m.Model+" "+m.Version), m.Transition, inert.Escape(m.RiskTier), n[policy.Pass], n[policy.Fail], n[policy.Undefined])
				if !sealed {
					fmt.Fprintf(a.stdout, "not sealed: these are the files as they are now (%s); seal the bundle with signoff bundle seal %s before requesting it\n", inert.Digest(st.Digest), inert.Escape(args[0]))
				}
			}
			if !pass {
				return &exitError{exitFailed, nil}
			}
			return nil
		},
	}
	c.Flags().StringVar(&policyFile, "policy", "", "the policy file (policy.yaml)")
	c.Flags().BoolVar(&asJSON, "json", false, "the results as JSON: digest, sealed, intact, tier, transition, pass, gates[]")
	return c
}
