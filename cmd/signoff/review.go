package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/spf13/cobra"

	"github.com/signoff-dev/signoff/home"
	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
	"github.com/signoff-dev/signoff/themes"
	"github.com/signoff-dev/signoff/tui"
)

// quickAnchor is the root to trust for the console, without opening the
// ledger when --root is given or the home has pinned a root: the first
// frame must not wait on the ledger.
func (a *app) quickAnchor(h *home.Home, root string) (string, error) {
	if d, err := h.KnownAnchor(root); d != "" || err != nil {
		return d, err
	}
	l, err := h.ReadLedger()
	if err != nil {
		return "", err
	}
	defer l.Close()
	return a.anchor(h, root, l)
}

func (a *app) reviewCmd() *cobra.Command {
	var theme, root string
	var sf signFlags
	c := &cobra.Command{
		Use:   "review",
		Short: "Open the review console: the queue, the evidence, and signing",
		Long: `Open the review console as the home's signer.

The queue lists the open promotion requests, those waiting for your roles
first, with their gates (✓ passing, ✗ failing) and sign-offs so far. Open
one to review it in sections: the overview (what is asked, gates, who has
signed and who is missing), the model card, the metrics beside the
baseline's, fairness by group, the evidence checklist, and the signed
history. Then decide: approve, reject or request changes, with a reason
and a ticket; the form shows the exact subject, bundle digest, policy
digest and gate summary you sign. Approval waits until you have opened the
sections the policy names; the sections you opened, and for how long, go
into the signed decision. The audit screen (a) shows the whole timeline
and verifies the ledger.

Press ? for every key. Themes: default (the terminal's 16 colours, light
or dark), light, dark, high-contrast, plain; --theme, or theme: in
HOME/config.yaml. NO_COLOR gives plain.`,
		Example: `  signoff demo && signoff --home demo review
  signoff review --theme high-contrast
  signoff review --agent`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			h, err := a.openHome()
			if err != nil {
				return err
			}
			cfg, err := h.Config()
			if err != nil {
				return usageError("%v (config.yaml may set theme: %s)", err, strings.Join(themes.Names, ", "))
			}
			cfgPath := h.Path(home.ConfigFile)
			name := theme
			if name == "" {
				name = cfg.Theme
			}
			noColor := os.Getenv("NO_COLOR") != ""
			if noColor {
				name = "plain"
			}
			if _, err := themes.New(name, true); err != nil {
				if theme == "" {
					err = fmt.Errorf("%s: %w", cfgPath, err)
				}
				return usageError("%v", err)
			}
			anchor, err := a.quickAnchor(h, root)
			if err != nil {
				if errors.Is(err, policy.ErrNoRoot) || errors.Is(err, ledger.ErrNoLedger) {
					return usageError("%v: this home has no governance yet (try signoff demo, then signoff --home demo review)", err)
				}
				return err
			}
			if sf.passphraseFile != "" {
				return usageError("the console asks for the passphrase when you sign: --passphrase-file is for the CLI")
			}
			key := a.keyOf(h, &sf)
			key.Passphrase = nil // asked in the console, when you sign
			if !sf.agent {
				if _, err := os.Stat(h.KeyFile(key)); err != nil {
					return usageError("no signing key at %s: create one with signoff keygen, or pass --key or --agent", h.KeyFile(key))
				}
			}
			opt := tui.Options{Home: h, Key: key, Anchor: anchor, Theme: name}
			var popts []tea.ProgramOption
			if noColor {
				popts = append(popts, tea.WithColorProfile(colorprofile.ASCII))
			}
			f, ok := a.stdin.(*os.File)
			if ok {
				popts = append(popts, tea.WithInput(f))
			}
			popts = append(popts, tea.WithOutput(a.stdout))
			console := tui.New(opt)
			_, err = tea.NewProgram(console, popts...).Run()
			console.Close()
			return err
		},
	}
	c.Flags().StringVar(&theme, "theme", "", "the colour theme: "+strings.Join(themes.Names, ", ")+" (default: theme: in HOME/config.yaml, else default)")
	c.Flags().StringVar(&root, "root", "", "the digest of the root to trust (default: the root this home pinned)")
	sf.register(c)
	return c
}
