package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/signoff-dev/signoff/ledger"
)

func (a *app) exportCmd() *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:   "export FILE",
		Short: "Write the whole ledger to a JSON Lines file (- for stdout)",
		Long: `Write every entry of the ledger to FILE as JSON Lines, one signed envelope
({"payload": base64, "signature": base64}) per line, in the order the
ledger holds them: feed by feed, each in seq order. Two ledgers holding the
same entries export the same file. Carry the file across an air gap and
'signoff import' it on the other side: every entry is checked there again.

An existing FILE is not overwritten without --force.`,
		Example: `  signoff export /media/usb/ledger.jsonl
  signoff export - | gzip > ledger.jsonl.gz`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			_, l, err := a.readLedger()
			if err != nil {
				return err
			}
			defer l.Close()
			if args[0] == "-" {
				_, err := l.Export(a.stdout)
				return err
			}
			return a.exportFile(l, args[0], force)
		},
	}
	c.Flags().BoolVar(&force, "force", false, "overwrite FILE if it exists")
	return c
}

// exportFile writes the export beside path and renames it into place once
// it is complete and synced.
func (a *app) exportFile(l *ledger.Ledger, path string, force bool) error {
	if _, err := os.Stat(path); err == nil && !force {
		return usageError("%s exists: pass --force to overwrite it", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".signoff-export-*")
	if err != nil {
		return usageError("failed to write %s: %v", path, err)
	}
	defer os.Remove(tmp.Name())
	p := a.newProgress()
	n, err := l.Export(&lineCounter{w: tmp, each: func(lines int) { p.update("export: %d entries written", lines) }})
	p.done()
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("failed to write %s: %w", path, err)
	}
	fmt.Fprintf(a.stderr, "exported %s to %s\n", plural(n, "entry", "entries"), path)
	return nil
}

func (a *app) importCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "import FILE",
		Short: "Add the entries of a JSON Lines export (- for stdin)",
		Long: `Add to the ledger the entries of FILE, a 'signoff export' from this or
another machine. Every line is checked first: its signature, its place in
its signer's feed and its link to the entry before it, in the file or in
the ledger. If any line is bad, nothing is imported and each bad line is
named with what is wrong (exit code 2). Entries the ledger already has are
skipped, so importing the same file twice adds nothing.

A second, different entry at the same place in a feed is equivocation: it
is kept as evidence and reported here (exit code 2, after importing) and
by every 'signoff ledger verify'.

Import takes every well-formed entry whoever signed it (an archive, an
auditor's copy of another ledger). What counts is unchanged: status, the
console and verify read only records whose signers your root admits. To
take in only those, sync with the file instead (signoff sync
/media/usb/ledger.jsonl, which also adds this home's entries to it).`,
		Example: `  signoff import /media/usb/ledger.jsonl`,
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var r io.Reader = a.stdin
			name := "stdin"
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return usageError("failed to open import file: %v", err)
				}
				defer f.Close()
				r, name = f, args[0]
			}
			h, err := a.createHome()
			if err != nil {
				return err
			}
			l, err := h.Ledger()
			if err != nil {
				return err
			}
			defer l.Close()
			p := a.newProgress()
			res, err := l.Import(r, ledger.ImportOptions{Progress: func(n int) {
				p.update("import: %d entries checked", n)
			}})
			p.done()
			var ie *ledger.ImportError
			if errors.As(err, &ie) {
				if asJSON {
					writeJSON(a.stdout, importErrorJSON(ie))
				}
				for i, pr := range ie.Problems {
					if i == 20 && !asJSON {
						fmt.Fprintf(a.stderr, "  … and %d more\n", ie.Total-20)
						break
					}
					fmt.Fprintf(a.stderr, "%s: %v\n", name, pr)
				}
				return &exitError{exitTampered, fmt.Errorf("%s: %s; nothing imported", name, plural(ie.Total, "invalid entry", "invalid entries"))}
			}
			if err != nil {
				return err
			}
			for _, q := range res.Equivocations {
				fmt.Fprintf(a.stderr, "warning: equivocation: feed %s seq %d has a second, different entry %s: kept as evidence\n", q.Feed, q.Seq, q.IDs[len(q.IDs)-1])
			}
			// Evidence of misbehaviour is kept, and the import says so in
			// its exit status as every other check of the ledger does.
			var forked error
			if n := len(res.Equivocations); n > 0 {
				forked = &exitError{exitTampered, fmt.Errorf("%s: %s (a key signed two entries at one place in its feed); kept as evidence (see signoff ledger verify)", name, plural(n, "equivocation", "equivocations"))}
			}
			if asJSON {
				if err := writeJSON(a.stdout, map[string]any{
					"lines": res.Lines, "added": res.Added, "present": res.Present,
					"equivocations": equivocationsJSON(res.Equivocations),
				}); err != nil || forked == nil {
					return err
				}
				return &exitError{exitTampered, nil}
			}
			fmt.Fprintf(a.stdout, "imported %s from %s (%d already present)\n", plural(res.Added, "new entry", "new entries"), name, res.Present)
			return forked
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "the result (or the bad lines) as JSON")
	return c
}

type problemJSON struct {
	Line  int    `json:"line,omitempty"`
	Feed  string `json:"feed,omitempty"`
	Seq   uint64 `json:"seq,omitempty"`
	ID    string `json:"id,omitempty"`
	Error string `json:"error"`
}

func toProblem(e *ledger.EntryError) problemJSON {
	p := problemJSON{Line: e.Line, Seq: e.Seq, Error: e.Err.Error()}
	if e.Feed != (ledger.Feed{}) {
		p.Feed = e.Feed.String()
	}
	if !e.ID.IsZero() {
		p.ID = e.ID.String()
	}
	return p
}

func importErrorJSON(ie *ledger.ImportError) any {
	list := []problemJSON{}
	for _, p := range ie.Problems {
		list = append(list, toProblem(p))
	}
	return map[string]any{"imported": 0, "invalid": ie.Total, "problems": list}
}

type equivocationJSON struct {
	Feed string   `json:"feed"`
	Seq  uint64   `json:"seq"`
	IDs  []string `json:"ids"`
}

func equivocationsJSON(qs []ledger.Equivocation) []equivocationJSON {
	out := []equivocationJSON{}
	for _, q := range qs {
		j := equivocationJSON{Feed: q.Feed.String(), Seq: q.Seq}
		for _, id := range q.IDs {
			j.IDs = append(j.IDs, id.String())
		}
		out = append(out, j)
	}
	return out
}

func (a *app) ledgerCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "ledger",
		Short: "Check the ledger's integrity",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return usageError("ledger needs a subcommand: 'signoff ledger verify'")
		},
	}
	c.AddCommand(a.ledgerVerifyCmd())
	return c
}

func (a *app) ledgerVerifyCmd() *cobra.Command {
	var full, asJSON bool
	c := &cobra.Command{
		Use:   "verify",
		Short: "Check every signature, prev link and seq in the ledger",
		Long: `Check the ledger: every entry's signature, that it hashes to its id, that
each feed runs 1, 2, 3… with every prev naming the entry before, and that no
signer signed two entries at the same place (equivocation). The first bad
entry of each feed is named with what is wrong.

A clean run records a checkpoint signed with this ledger's own key; the
next run checks only what came after it, and that the checkpointed heads
are unchanged and signed. --full checks everything again, and also that the
store holds exactly the entries the ledger recorded: use it when the store
itself may have been altered beneath signoff (a copied or restored disk).

Exit codes: 0 intact, 2 not intact (bad entries or equivocation), 3 usage.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			h, err := a.openHome()
			if err != nil {
				return err
			}
			l, err := h.WriteLedger()
			if err != nil {
				return err
			}
			defer l.Close()
			p := a.newProgress()
			r, err := l.Verify(context.Background(), ledger.VerifyOptions{Full: full, Progress: func(done, total int) {
				p.update("verify: %d of %d entries checked", done, total)
			}})
			p.done()
			if err != nil {
				return err
			}
			if asJSON {
				writeJSON(a.stdout, verifyJSON(l.Dir(), r))
			} else {
				a.printVerify(l.Dir(), r)
			}
			if !r.OK() {
				return &exitError{exitTampered, nil}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&full, "full", false, "check every entry again, ignoring the last checkpoint")
	c.Flags().BoolVar(&asJSON, "json", false, "the report as JSON")
	return c
}

func (a *app) printVerify(dir string, r *ledger.Report) {
	w := a.stdout
	if r.OK() {
		fmt.Fprintf(w, "ledger %s: intact\n", dir)
	} else {
		fmt.Fprintf(w, "ledger %s: NOT INTACT\n", dir)
	}
	fmt.Fprintf(w, "  %s checked, %d proved by the last checkpoint\n", plural(r.Checked, "entry", "entries"), r.Skipped)
	if r.CheckpointNote != "" {
		fmt.Fprintf(w, "  %s\n", r.CheckpointNote)
	}
	for _, f := range r.Feeds {
		fmt.Fprintf(w, "  feed %s %s: %s\n", f.Feed, orDash(f.Identity), plural(int(f.Entries), "entry", "entries"))
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  first bad entry: %v\n", p)
	}
	if r.BadEntries > len(r.Problems) {
		fmt.Fprintf(w, "  %d bad entries in all\n", r.BadEntries)
	}
	for _, q := range r.Equivocations {
		fmt.Fprintf(w, "  equivocation: %v\n", q)
	}
}

func verifyJSON(dir string, r *ledger.Report) any {
	type feedJSON struct {
		Feed     string   `json:"feed"`
		Identity string   `json:"identity"`
		Entries  uint64   `json:"entries"`
		Heads    []string `json:"heads"`
	}
	feeds := []feedJSON{}
	for _, f := range r.Feeds {
		j := feedJSON{Feed: f.Feed.String(), Identity: f.Identity, Entries: f.Entries, Heads: []string{}}
		for _, h := range f.Heads {
			j.Heads = append(j.Heads, h.String())
		}
		feeds = append(feeds, j)
	}
	problems := []problemJSON{}
	for _, p := range r.Problems {
		problems = append(problems, toProblem(p))
	}
	return map[string]any{
		"ledger": dir, "intact": r.OK(), "checked": r.Checked, "skipped": r.Skipped,
		"checkpoint_used": r.CheckpointUsed, "checkpoint_written": r.CheckpointWritten,
		"feeds": feeds, "problems": problems, "bad_entries": r.BadEntries,
		"equivocations": equivocationsJSON(r.Equivocations),
	}
}
