package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/signoff-dev/signoff/inert"
	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
)

func (a *app) commentCmd() *cobra.Command {
	var text string
	var sf signFlags
	c := &cobra.Command{
		Use:   "comment --text TEXT",
		Short: "Sign a comment and append it to the ledger",
		Long: `Sign a comment with your key and append it to your feed in the ledger.

The entry id (sha256: and 64 hex digits) is printed once the entry is on
disk; a printed id is never lost.`,
		Example: `  signoff comment --text "reviewed the fairness table with the clinic"
  signoff comment --agent --text "signed from the hardware token"`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if text == "" {
				return usageError("comment needs --text")
			}
			body, err := json.Marshal(struct {
				Text string `json:"text"`
			}{text})
			if err != nil {
				return err
			}
			_, s, l, done, err := a.signing(&sf)
			if err != nil {
				return err
			}
			defer done()
			e, err := l.Append(s, "comment", body, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, e.ID)
			return nil
		},
	}
	c.Flags().StringVar(&text, "text", "", "the comment")
	sf.register(c)
	return c
}

// entryJSON is the --json form of an entry.
type entryJSON struct {
	ID       string          `json:"id"`
	Feed     string          `json:"feed"`
	Seq      uint64          `json:"seq"`
	Prev     string          `json:"prev"`
	Kind     string          `json:"kind"`
	Time     string          `json:"time"`
	Identity string          `json:"identity"`
	Subject  string          `json:"subject,omitempty"`
	Body     json.RawMessage `json:"body"`
}

func toJSON(e *ledger.Entry) entryJSON {
	j := entryJSON{
		ID: e.ID.String(), Feed: e.Feed.String(), Seq: e.Seq, Kind: e.Kind,
		Time: e.Time.UTC().Format(time.RFC3339Nano), Identity: e.Identity, Subject: e.Subject, Body: e.Body,
	}
	if !e.Prev.IsZero() {
		j.Prev = e.Prev.String()
	}
	return j
}

func (a *app) logCmd() *cobra.Command {
	var feed, kind, subject string
	var asJSON bool
	var limit int
	c := &cobra.Command{
		Use:   "log",
		Short: "List ledger entries, newest first",
		Long: `List the ledger's entries, newest first by signing time (by seq with
--feed): time, signer identity (as the entry claims it), the signer's key
fingerprint, kind, seq and short id. Give a short id to 'signoff show'.`,
		Example: `  signoff log
  signoff log --kind comment --json | jq -r .body.text
  signoff log --feed SHA256:Xy...
  signoff log --subject 3f9a2c --kind decision`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var q ledger.Query
			if feed != "" {
				f, err := ledger.ParseFeed(feed)
				if err != nil {
					return usageError("--feed: %v", err)
				}
				q.Feed = &f
			}
			if kind != "" {
				if err := ledger.CheckKind(kind); err != nil {
					return usageError("--kind: %v", err)
				}
				q.Kind = kind
			}
			_, l, err := a.readLedger()
			if err != nil {
				return err
			}
			defer l.Close()
			if subject != "" {
				if q.Subject, err = policy.ResolveSubject(l, subject); err != nil {
					return &exitError{exitUsage, fmt.Errorf("--subject: %w", err)}
				}
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			n := 0
			err = l.Entries(q, func(e *ledger.Entry) error {
				if limit > 0 && n == limit {
					return ledger.ErrStop
				}
				n++
				if asJSON {
					return writeJSONLine(a.stdout, toJSON(e))
				}
				who := e.Identity
				if who == "" {
					who = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", e.Time.UTC().Format("2006-01-02 15:04:05Z"), who, e.Feed, e.Kind, e.Seq, e.ID.Short())
				return nil
			})
			if err != nil {
				return err
			}
			if !asJSON && n == 0 {
				fmt.Fprintln(a.stderr, "no entries")
			}
			return tw.Flush()
		},
	}
	c.Flags().StringVar(&feed, "feed", "", "only entries of this feed (a signer's key fingerprint, SHA256:…)")
	c.Flags().StringVar(&kind, "kind", "", "only entries of this kind (comment, decision, …)")
	c.Flags().StringVar(&subject, "subject", "", "only entries about this bundle (its digest, or at least 6 hex digits of it)")
	c.Flags().IntVarP(&limit, "limit", "n", 0, "at most this many entries (0: all)")
	c.Flags().BoolVar(&asJSON, "json", false, "one JSON object per line: id, feed, seq, prev, kind, time, identity, subject, body")
	return c
}

func (a *app) showCmd() *cobra.Command {
	var payload, signature, asJSON bool
	c := &cobra.Command{
		Use:   "show ID",
		Short: "Show one entry, its exact signed bytes or its signature",
		Long: `Show one entry, found by its id (sha256:… or at least 4 hex digits of it, as
'signoff log' prints). The signature is checked and the result shown.

--payload writes the exact bytes that were signed and --signature the
armored SSH signature, so stock OpenSSH can check the entry:

  signoff signers > allowed_signers
  signoff show ID --signature > entry.sig
  signoff show ID --payload | ssh-keygen -Y verify -f allowed_signers \
      -I alice@example.com -n signoff.entry.v1 -s entry.sig`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if btoi(payload)+btoi(signature)+btoi(asJSON) > 1 {
				return usageError("choose one of --payload, --signature and --json")
			}
			_, l, err := a.readLedger()
			if err != nil {
				return err
			}
			defer l.Close()
			id, err := l.Resolve(args[0])
			if errors.Is(err, ledger.ErrNotFound) {
				return usageError("%v: 'signoff log' lists the entries", err)
			} else if err != nil {
				return usageError("%v", err)
			}
			e, err := l.Get(id)
			var ee *ledger.EntryError
			if errors.Is(err, ledger.ErrNotFound) {
				return usageError("%v: 'signoff log' lists the entries", err)
			} else if errors.As(err, &ee) {
				return &exitError{exitTampered, fmt.Errorf("%w: run 'signoff ledger verify --full'", err)}
			} else if err != nil {
				return err
			}
			verr := e.Verify()
			failed := func() error {
				if verr != nil {
					return &exitError{exitTampered, fmt.Errorf("entry %s: %w", e.ID, verr)}
				}
				return nil
			}
			switch {
			case payload:
				if _, err := a.stdout.Write(e.Payload); err != nil {
					return err
				}
				return failed()
			case signature:
				if _, err := a.stdout.Write(ledger.Armor(e.Signature)); err != nil {
					return err
				}
				return failed()
			case asJSON:
				out := struct {
					entryJSON
					Verified  bool   `json:"verified"`
					Problem   string `json:"problem,omitempty"`
					Payload   string `json:"payload"`
					Signature string `json:"signature"`
				}{toJSON(e), verr == nil, errString(verr), string(e.Payload), string(ledger.Armor(e.Signature))}
				if err := writeJSON(a.stdout, out); err != nil {
					return err
				}
				return failed()
			}
			var body bytes.Buffer
			json.Indent(&body, e.Body, "  ", "  ")
			body.WriteString("\n")
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 1, ' ', 0)
			fmt.Fprintf(tw, "id:\t%s\n", e.ID)
			fmt.Fprintf(tw, "kind:\t%s\n", e.Kind)
			fmt.Fprintf(tw, "signer:\t%s\n", orDash(e.Identity))
			fmt.Fprintf(tw, "feed:\t%s\n", e.Feed)
			fmt.Fprintf(tw, "seq:\t%d\n", e.Seq)
			if !e.Prev.IsZero() {
				fmt.Fprintf(tw, "prev:\t%s\n", e.Prev)
			}
			fmt.Fprintf(tw, "time:\t%s\n", e.Time.UTC().Format(time.RFC3339Nano))
			if verr == nil {
				fmt.Fprintf(tw, "signature:\tverified (ed25519, %s)\n", ledger.Namespace)
			} else {
				fmt.Fprintf(tw, "signature:\tDOES NOT VERIFY: %v\n", verr)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "body:\n  %s", inert.Escape(body.String()))
			if verr != nil {
				return &exitError{exitTampered, nil}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&payload, "payload", false, "write the exact signed payload bytes")
	c.Flags().BoolVar(&signature, "signature", false, "write the armored SSH signature (for ssh-keygen -Y verify)")
	c.Flags().BoolVar(&asJSON, "json", false, "the entry as JSON, with payload and signature")
	return c
}

func (a *app) signersCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "signers",
		Short: "Print an OpenSSH allowed_signers file for the ledger's signers",
		Long: `Print an OpenSSH allowed_signers file with a line for every key whose
identity the ledger knows, restricted to the signoff.entry.v1 namespace.
With it, stock 'ssh-keygen -Y verify' checks any entry (see 'signoff show').

The identities are those the entries claim.`,
		Example: `  signoff signers > allowed_signers`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			_, l, err := a.readLedger()
			if err != nil {
				return err
			}
			defer l.Close()
			keys, err := l.Keys()
			if err != nil {
				return err
			}
			type signerJSON struct {
				Identity string `json:"identity"`
				Feed     string `json:"feed"`
				Key      string `json:"key"`
			}
			var list []signerJSON
			for _, k := range keys {
				line, err := authorizedKey(k.KeyBlob)
				if err != nil {
					return fmt.Errorf("feed %s: %w", k.Feed, err)
				}
				for _, id := range k.Identities {
					list = append(list, signerJSON{id, k.Feed.String(), line})
				}
			}
			if asJSON {
				if list == nil {
					list = []signerJSON{}
				}
				return writeJSON(a.stdout, list)
			}
			for _, s := range list {
				fmt.Fprintf(a.stdout, "%s namespaces=%q %s\n", s.Identity, ledger.Namespace, s.Key)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "a JSON list of {identity, feed, key}")
	return c
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
