package main

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/signoff-dev/signoff/evidence"
	"github.com/signoff-dev/signoff/inert"
)

func (a *app) bundleCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "bundle",
		Short: "Seal and inspect evidence bundles",
		Long: `An evidence bundle is a directory with a bundle.yaml manifest naming the
model version, the transition asked for, and the files that are its
evidence: artifacts, model card, metrics, predictions, scans, training
config, monitoring and rollback plans.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return usageError("bundle needs a subcommand: 'signoff bundle seal DIR' or 'signoff bundle show DIR'")
		},
	}
	c.AddCommand(a.bundleSealCmd(), a.bundleShowCmd())
	return c
}

func (a *app) bundleSealCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "seal DIR",
		Short: "Pin every file of a bundle and print its digest",
		Long: `Hash the manifest and every file it names (several at once), write
bundle.lock beside the manifest, and print the bundle digest: the SHA-256
of bundle.lock, which lists each file's SHA-256 and size. Decisions sign
this digest, so a signature for one bundle never counts for another.

File names must stay inside the bundle: absolute names, ".." and symbolic
links that point outside are refused, as is anything but a regular file.
An artifact whose sha256 the manifest gives must match it.`,
		Example: `  signoff bundle seal ./credit-risk-v7`,
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			b, err := openBundle(args[0])
			if err != nil {
				return err
			}
			defer b.Close()
			l, err := b.Seal()
			if err != nil {
				return &exitError{exitUsage, err}
			}
			fmt.Fprintf(a.stderr, "sealed %s: %s, wrote %s\n", args[0], plural(len(l.Files), "file", "files"), evidence.LockName)
			fmt.Fprintln(a.stdout, l.Digest())
			return nil
		},
	}
}

func (a *app) bundleShowCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "show DIR",
		Short: "Show a bundle and whether it is as sealed",
		Long: `Show what a bundle asks for and its files, recomputing every file's
SHA-256 and comparing it with bundle.lock: each file is sealed, changed
since sealing, missing, or unsealed (named by the manifest but not in the
lock). Exit code 2 when the bundle is not as sealed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			b, err := openBundle(args[0])
			if err != nil {
				return err
			}
			defer b.Close()
			st, err := b.Check()
			if err != nil {
				return &exitError{exitUsage, err}
			}
			m := b.Manifest
			var report *evidence.Report
			if !hasMissing(st) {
				stop := a.busy("computing metrics, 95% intervals and fairness")
				report, err = b.Evaluate()
				stop()
				if err != nil {
					return &exitError{exitUsage, err}
				}
			}
			if asJSON {
				out := map[string]any{
					"digest": st.Digest, "sealed_digest": st.SealedDigest, "intact": st.Intact(),
					"manifest": m, "files": st.Files,
				}
				if report != nil {
					out["metrics"], out["fairness"], out["warnings"] = report.Metrics, report.Fairness, report.Warnings
					out["card"] = report.Card
				}
				err = writeJSON(a.stdout, out)
			} else {
				tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintf(tw, "model:\t%s version %s\n", inert.Escape(m.Model), inert.Escape(m.Version))
				fmt.Fprintf(tw, "asks:\t%s (%s change, risk tier %s)\n", inert.Escape(m.Transition.String()), m.Change, orDash(inert.Escape(m.RiskTier)))
				fmt.Fprintf(tw, "authors:\t%s\n", orDash(inert.Escape(strings.Join(m.Authors, ", "))))
				switch {
				case st.SealedDigest == "":
					fmt.Fprintf(tw, "digest:\t%s (NOT SEALED: run 'signoff bundle seal %s')\n", st.Digest, args[0])
				case st.Intact():
					fmt.Fprintf(tw, "digest:\t%s (as sealed)\n", st.Digest)
				default:
					fmt.Fprintf(tw, "digest:\t%s (CHANGED since sealed as %s)\n", st.Digest, st.SealedDigest)
				}
				tw.Flush()
				fmt.Fprintln(a.stdout, "files:")
				tw = tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
				for _, f := range st.Files {
					fmt.Fprintf(tw, "  %s\t%s\t%d bytes\n", f.Status, inert.Escape(f.Path), f.Size)
				}
				tw.Flush()
				if report != nil {
					a.printReport(report)
				}
			}
			if err != nil {
				return err
			}
			if !st.Intact() {
				return &exitError{exitTampered, nil}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "the bundle as JSON: digest, sealed_digest, intact, manifest, files")
	return c
}

func hasMissing(st *evidence.Status) bool {
	for _, f := range st.Files {
		if f.Status == "missing" {
			return true
		}
	}
	return false
}

// printReport shows the metrics next to the baseline's and the fairness
// tables.
func (a *app) printReport(r *evidence.Report) {
	if c := r.Card; c != nil {
		fmt.Fprintf(a.stdout, "card: %s (%s, %s, license %s)\n", orDash(oneLine(c.Name)), c.Format, plural(len(c.Results), "reported result", "reported results"), orDash(oneLine(c.License)))
		if c.IntendedUse != "" {
			fmt.Fprintf(a.stdout, "  intended use: %s\n", oneLine(c.IntendedUse))
		}
		if len(c.Limitations) > 0 {
			fmt.Fprintf(a.stdout, "  limitations: %s\n", oneLine(strings.Join(c.Limitations, "; ")))
		}
	}
	var names []string
	for k := range r.Metrics.Candidate {
		names = append(names, k)
	}
	sort.Strings(names)
	if len(names) > 0 {
		fmt.Fprintln(a.stdout, "metrics:")
		tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  metric\tcandidate\t95% CI\tbaseline\tΔ\tΔ%\t")
		for _, k := range names {
			c := r.Metrics.Candidate[k]
			base, delta, rel := "-", "", ""
			if b, ok := r.Metrics.Baseline[k]; ok {
				base = b.Value.String()
				d := r.Metrics.Diff[k]
				if d.Abs.Defined() {
					delta = fmt.Sprintf("%+.4g", d.Abs.V)
					if d.Better != nil && !*d.Better {
						delta += " worse"
					}
				}
				if d.Rel.Defined() {
					rel = fmt.Sprintf("%+.2f%%", 100*d.Rel.V)
				}
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t\n", k, c.Value, ciText(c), base, delta, rel)
		}
		tw.Flush()
	}
	var cols []string
	for k := range r.Fairness {
		cols = append(cols, k)
	}
	sort.Strings(cols)
	for _, col := range cols {
		f := r.Fairness[col]
		fmt.Fprintf(a.stdout, "fairness by %s:\n", inert.Escape(col))
		tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  group\tn\tselection rate\tTPR\tFPR\t")
		var groups []string
		for g := range f.Groups {
			groups = append(groups, g)
		}
		sort.Strings(groups)
		for _, g := range groups {
			s := f.Groups[g]
			fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\t\n", oneLine(g), s.N, s.SelectionRate, s.TPR, s.FPR)
		}
		tw.Flush()
		four := "fails"
		if f.FourFifths {
			four = "passes"
		}
		fmt.Fprintf(a.stdout, "  demographic parity difference %s, ratio %s; equalized odds difference %s; equal opportunity difference %s; disparate impact %s (%s the four-fifths rule)\n",
			f.DemographicParityDifference, f.DemographicParityRatio, f.EqualizedOddsDifference, f.EqualOpportunityDifference, f.DisparateImpact, four)
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(a.stderr, "warning: %s\n", inert.Escape(w))
	}
}

func ciText(m evidence.Metric) string {
	switch {
	case m.CI != nil:
		return fmt.Sprintf("[%.4g, %.4g]", m.CI[0], m.CI[1])
	case m.CIUndefined != "":
		return "undefined"
	}
	return ""
}

// openBundle opens the bundle in dir; what is wrong with it is an input
// error (exit 3).
func openBundle(dir string) (*evidence.Bundle, error) {
	b, err := evidence.Open(dir)
	if err != nil {
		return nil, &exitError{exitUsage, err}
	}
	return b, nil
}
