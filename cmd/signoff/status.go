package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/signoff-dev/signoff/inert"
	"github.com/signoff-dev/signoff/policy"
)

func (a *app) statusCmd() *cobra.Command {
	var asJSON bool
	var root, at string
	c := &cobra.Command{
		Use:   "status",
		Short: "The registry: each model version's stage and open requests",
		Long: `Show each model version the ledger knows through records whose signers
count (in the keyring in force, not revoked, never equivocating): the
stage it is at, with the record that says so (its last promotion; else
the stage its open request moves it from; else draft), whether it is
restricted or deprecated, and each open request with the decisions that
stand (each person's latest) and what still stands in its way.

Each open request is judged by the verdict signoff verify gives, with the
gates re-evaluated from the evidence the ledger carries: status, verify,
the console's queue and signoff serve cannot disagree. Records signed
under a root this home does not trust never show here.`,
		Example: `  signoff status
  signoff status --json | jq '.versions[] | select(any(.pending[]; .approved))'`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return a.answerJSON(asJSON, func() (any, error) {
				now, err := parseAt(at)
				if err != nil {
					return nil, err
				}
				h, l, err := a.readLedger()
				if err != nil {
					return nil, err
				}
				defer l.Close()
				anchor, err := a.anchor(h, root, l)
				if err != nil {
					return nil, err
				}
				trust, err := policy.LoadTrust(l, anchor, now)
				if err != nil {
					return nil, err
				}
				stop := func() {}
				if !asJSON {
					stop = a.busy("judging the open requests")
				}
				st, err := policy.Status(l, trust, now)
				stop()
				if err != nil {
					return nil, err
				}
				if !asJSON {
					a.printStatus(st)
				}
				return map[string]any{"versions": st}, nil
			})
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "the registry as JSON: versions[] with stage, stage_why and pending requests")
	c.Flags().StringVar(&root, "root", "", "the digest of the root to trust (default: the root this home pinned)")
	c.Flags().StringVar(&at, "at", "", "as of this time (RFC 3339) instead of now")
	return c
}

func (a *app) printStatus(st []*policy.VersionStatus) {
	if len(st) == 0 {
		fmt.Fprintln(a.stdout, "no model versions yet: request one with signoff request DIR")
		return
	}
	for _, v := range st {
		flags := ""
		if v.Restricted != nil {
			flags += "  RESTRICTED: " + oneLine(v.Restricted.Reason)
		}
		fmt.Fprintf(a.stdout, "%s %s  %s%s\n", inert.Escape(v.Model), inert.Escape(v.Version), inert.Escape(v.Stage), flags)
		fmt.Fprintf(a.stdout, "  %s\n", inert.Escape(v.StageWhy))
		for _, p := range v.Pending {
			fmt.Fprintf(a.stdout, "  pending %s->%s  %s  requested by %s %s  approvals %d, rejections %d, changes requested %d\n",
				inert.Escape(p.Subject.From), inert.Escape(p.Subject.To), inert.Digest(p.Subject.Bundle), inert.Escape(p.Requested.Identity),
				p.Requested.Time.Format(time.RFC3339), p.Approvals, p.Rejections, p.Changes)
			if p.Approved {
				fmt.Fprintln(a.stdout, "    ✓ approved: every gate passes and every sign-off the policy requires is in")
			}
			for _, r := range p.Reasons {
				fmt.Fprintf(a.stdout, "    ✗ %s\n", inert.Line(inert.Escape(r)))
			}
			if len(p.Again) > 0 {
				var who []string
				for _, s := range p.Again {
					who = append(who, s.Identity)
				}
				fmt.Fprintf(a.stdout, "    requested again by %s (the first request stands)\n", inert.Escape(strings.Join(who, ", ")))
			}
		}
	}
}

// answerJSON runs a reading command's body: with asJSON it prints the
// value body returns. If it fails, run prints {"error": …} instead, so
// that a script parsing stdout always gets one object.
func (a *app) answerJSON(asJSON bool, body func() (any, error)) error {
	v, err := body()
	if err != nil || !asJSON {
		return err
	}
	return writeJSON(a.stdout, v)
}
