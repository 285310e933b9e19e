package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/signoff-dev/signoff/evidence"
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
			b, err := evidence.Open(args[0])
			if err != nil {
				return &exitError{exitUsage, err}
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
			b, err := evidence.Open(args[0])
			if err != nil {
				return &exitError{exitUsage, err}
			}
			defer b.Close()
			st, err := b.Check()
			if err != nil {
				return &exitError{exitUsage, err}
			}
			m := b.Manifest
			if asJSON {
				err = writeJSON(a.stdout, map[string]any{
					"digest": st.Digest, "sealed_digest": st.SealedDigest, "intact": st.Intact(),
					"manifest": m, "files": st.Files,
				})
			} else {
				tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintf(tw, "model:\t%s version %s\n", safeText(m.Model), safeText(m.Version))
				fmt.Fprintf(tw, "asks:\t%s (%s change, risk tier %s)\n", safeText(m.Transition.String()), m.Change, orDash(safeText(m.RiskTier)))
				fmt.Fprintf(tw, "authors:\t%s\n", orDash(safeText(strings.Join(m.Authors, ", "))))
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
					fmt.Fprintf(tw, "  %s\t%s\t%d bytes\n", f.Status, safeText(f.Path), f.Size)
				}
				tw.Flush()
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
