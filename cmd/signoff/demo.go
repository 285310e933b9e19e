package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/signoff-dev/signoff/policy/workspace"
)

func (a *app) demoCmd() *cobra.Command {
	var dir string
	c := &cobra.Command{
		Use:   "demo [--dir DIR]",
		Short: "Create a demo workspace: signers, governance, bundles, requests and decisions",
		Long: `Create a demo workspace in DIR (default ./demo), which must be new or empty:

  - a home for each demo signer, with a key WITHOUT PASSPHRASE (demo only):
    a risk officer, compliance, a clinician, a model owner, mlops, an admin,
    and the three bundles' authors;
  - a root, keyring and policy, adopted by the admin (DIR/governance);
  - the three demo bundles, sealed (DIR/bundles), each with its author's
    promotion request;
  - decisions already signed, so the queue shows every state: waiting for
    you, quorum partly met, gates failing, approved.

DIR is itself a home, the risk officer's: open the console as them with
signoff --home DIR review. The other signers' homes are DIR/signers/NAME,
each holding the whole ledger.`,
		Example: `  signoff demo
  signoff --home demo verify --model credit-risk --version 7 --to production
  signoff --home demo/signers/compliance status`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			start := time.Now()
			err := workspace.Create(dir, time.Now(), func(step string) {
				fmt.Fprintf(a.stderr, "  %s\n", step)
			})
			if err != nil {
				return err
			}
			abs, _ := filepath.Abs(dir)
			fmt.Fprintf(a.stdout, "demo workspace in %s (%.1fs)\n", abs, time.Since(start).Seconds())
			fmt.Fprintf(a.stdout, "open the console as the risk officer:  signoff --home %s review\n", dir)
			fmt.Fprintf(a.stdout, "other signers' homes:                  %s\n", filepath.Join(dir, workspace.SignersDir, "NAME"))
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "demo", "the directory to create the workspace in")
	return c
}
