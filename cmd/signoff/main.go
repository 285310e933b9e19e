// Command signoff reviews, signs and verifies machine-learning model
// approvals. See README.md for a tour and `signoff help` for commands.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/signoff-dev/signoff/home"
	"github.com/signoff-dev/signoff/inert"
	"github.com/signoff-dev/signoff/ledger"
)

// Exit codes, as `signoff verify` documents them.
const (
	exitOK       = 0
	exitFailed   = 1 // the command could not do what was asked
	exitTampered = 2 // the ledger or an imported file does not verify
	exitUsage    = 3 // bad flags, arguments or input files
)

// exitError carries an exit code with an error. A nil err exits quietly.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageError(format string, args ...any) error {
	return &exitError{exitUsage, fmt.Errorf(format, args...)}
}

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// run executes one command line and returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// With --json, what reaches stdout is counted (else stdout stays the
	// file it is: the console draws on a terminal).
	var out *countingWriter
	w := stdout
	if wantsJSON(args) {
		out = &countingWriter{w: stdout}
		w = out
	}
	root := newRoot(stdin, w, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	code := exitCodeOf(err)
	if out != nil && out.n == 0 {
		// Refused before the command ran (a flag it does not know, an
		// argument too many): a script parsing stdout still gets one
		// object.
		writeJSON(stdout, map[string]any{"error": err.Error(), "exit": code})
	}
	if xe := (*exitError)(nil); errors.As(err, &xe) && xe.err == nil {
		return code
	}
	// Errors quote what came from outside (a remote's reply, a file):
	// made inert before they reach a terminal.
	fmt.Fprintf(stderr, "signoff: %s\n", inert.Escape(err.Error()))
	return code
}

// countingWriter counts what is written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// wantsJSON reports whether args ask for --json (before any "--"), as
// the flag parser reads a bool.
func wantsJSON(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "--json" {
			return true
		}
		if v, ok := strings.CutPrefix(a, "--json="); ok {
			b, err := strconv.ParseBool(v)
			return err == nil && b
		}
	}
	return false
}

// exitCodeOf is the exit status an error gives.
func exitCodeOf(err error) int {
	var xe *exitError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &xe):
		return xe.code
	case errors.Is(err, ledger.ErrTampered):
		return exitTampered
	case errors.As(err, new(*home.InputError)), isCobraUsage(err):
		return exitUsage
	}
	return exitFailed
}

// app is what every command shares: the streams and the global flags.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	home           string
}

func newRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "signoff",
		Short: "Review, sign and verify machine-learning model approvals",
		Long: `signoff lets the people who approve machine-learning models review the
evidence and sign their decisions in a terminal, and lets a deploy pipeline
verify, from signed records alone, whether a model may ship.

Approvers review and sign in the console (signoff review; try signoff demo
first). Each decision is signed with the approver's ed25519 SSH key and
appended to a local, append-only ledger that needs no network; entries move
between machines by export and import. signoff verify answers the release
engineer's question with an exit code and its reasons.

Keys and the ledger live in the signoff home: --home, else $SIGNOFF_HOME,
else ~/.signoff.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		CompletionOptions: cobra.CompletionOptions{
			DisableDefaultCmd: true,
		},
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&a.home, "home", "", "signoff home holding keys and the ledger (default $SIGNOFF_HOME, else ~/.signoff)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{exitUsage, fmt.Errorf("%v (see 'signoff %s --help')", err, c.Name())}
	})
	root.AddGroup(&cobra.Group{ID: "ledger", Title: "Keys and the ledger:"})
	root.AddGroup(&cobra.Group{ID: "evidence", Title: "Evidence:"})
	for _, c := range []*cobra.Command{
		a.keygenCmd(), a.commentCmd(), a.logCmd(), a.showCmd(), a.signersCmd(),
		a.exportCmd(), a.importCmd(), a.ledgerCmd(),
	} {
		c.GroupID = "ledger"
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{a.bundleCmd(), a.cardCmd(), a.gatesCmd()} {
		c.GroupID = "evidence"
		root.AddCommand(c)
	}
	root.AddGroup(&cobra.Group{ID: "trust", Title: "Trust and the verdict:"})
	for _, c := range []*cobra.Command{
		a.initCmd(), a.adoptCmd(), a.governanceCmd(), a.requestCmd(), a.decideCmd(), a.verifyCmd(), a.statusCmd(),
		a.emergencyCmd(), a.incidentReviewCmd(), a.restrictCmd(), a.promoteCmd(), a.deprecateCmd(),
	} {
		c.GroupID = "trust"
		root.AddCommand(c)
	}
	root.AddGroup(&cobra.Group{ID: "sync", Title: "Sync:"})
	for _, c := range []*cobra.Command{a.remoteCmd(), a.syncCmd(), a.serveCmd()} {
		c.GroupID = "sync"
		root.AddCommand(c)
	}
	root.AddGroup(&cobra.Group{ID: "console", Title: "The console:"})
	for _, c := range []*cobra.Command{a.demoCmd(), a.reviewCmd()} {
		c.GroupID = "console"
		root.AddCommand(c)
	}
	return root
}

// isCobraUsage reports whether err is cobra's complaint about arguments or
// an unknown command.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "accepts ", "requires at least", "requires exactly", "unknown flag", "unknown shorthand", "invalid argument", "flag needs an argument", "if any flags in the group"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
