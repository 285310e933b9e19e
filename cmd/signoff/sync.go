package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sort"
	stdsync "sync"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/signoff-dev/signoff/home"
	"github.com/signoff-dev/signoff/inert"
	"github.com/signoff-dev/signoff/policy"
	ssync "github.com/signoff-dev/signoff/sync"
)

// s3Flags are how to reach an S3-compatible store.
type s3Flags struct {
	endpoint  string
	pathStyle bool
}

func (f *s3Flags) add(c *cobra.Command) {
	c.Flags().StringVar(&f.endpoint, "endpoint", "", "S3: the store's URL (default $AWS_ENDPOINT_URL, else AWS)")
	c.Flags().BoolVar(&f.pathStyle, "path-style", false, "S3: address the bucket in the path (automatic for IP addresses and localhost)")
}

func (a *app) remoteCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "remote",
		Short: "Name the remotes this home syncs with",
		Long: `Name the remotes this home syncs with. A remote is one of:

  s3://BUCKET[/PREFIX]   an S3 bucket, or any S3-compatible store; credentials
                         and region come from the standard AWS chain
                         (environment, ~/.aws/config and credentials, AWS_PROFILE)
  https://HOST[:PORT]    a signoff serve endpoint (or http:// on a trusted network)
  PATH                   a directory (a shared folder: writers may add at
                         once) or a .jsonl file (one sync at a time: a USB
                         stick carried across an air gap)`,
	}
	var asJSON bool
	var sf s3Flags
	add := &cobra.Command{
		Use:   "add NAME LOCATION",
		Short: "Name a remote",
		Example: `  signoff remote add usb /media/usb/signoff
  signoff remote add bank s3://approvals/models --endpoint https://s3.internal:9000
  signoff remote add hub https://signoff.internal`,
		Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			if err := home.CheckRemoteName(args[0]); err != nil {
				return usageError("%v", err)
			}
			r := home.Remote{URL: args[1], Endpoint: sf.endpoint, PathStyle: sf.pathStyle}
			if _, err := ssync.Open(c.Context(), specOf(r)); err != nil {
				return &exitError{exitUsage, err}
			}
			h, err := a.createHome()
			if err != nil {
				return err
			}
			if err := h.AddRemote(args[0], r); err != nil {
				return usageError("%v", err)
			}
			fmt.Fprintf(a.stdout, "remote %s: %s\n", args[0], inert.Escape(args[1]))
			return nil
		},
	}
	sf.add(add)
	list := &cobra.Command{
		Use:   "list",
		Short: "List the remotes",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return a.answerJSON(asJSON, func() (any, error) {
				h, err := a.openHome()
				if err != nil {
					return nil, err
				}
				rs, err := h.Remotes()
				if err != nil {
					return nil, err
				}
				if !asJSON {
					var names []string
					for n := range rs {
						names = append(names, n)
					}
					sort.Strings(names)
					for _, n := range names {
						extra := ""
						if rs[n].Endpoint != "" {
							extra = "\tendpoint " + rs[n].Endpoint
						}
						fmt.Fprintf(a.stdout, "%s\t%s%s\n", n, inert.Escape(rs[n].URL), inert.Escape(extra))
					}
				}
				return rs, nil
			})
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "the remotes as a JSON object: name to {url, endpoint, path_style}")
	c.AddCommand(add, list)
	return c
}

func specOf(r home.Remote) ssync.Spec {
	return ssync.Spec{URL: r.URL, Endpoint: r.Endpoint, PathStyle: r.PathStyle}
}

func (a *app) syncCmd() *cobra.Command {
	var asJSON bool
	var root string
	var sf s3Flags
	c := &cobra.Command{
		Use:   "sync (NAME | LOCATION)",
		Short: "Exchange entries and evidence with a remote",
		Long: `Pull every entry and evidence blob the remote holds that this ledger lacks
and that the root this home trusts admits, then push what the remote
lacks. The remote is an append-only log of immutable objects: a sync adds
and never replaces.

What this home takes in is what its root admits, the rule signoff serve
applies to pushes: governance signed by admins of that root's history,
and records by keyring members in good standing when they signed, with
the evidence their requests carry. Everything else is refused and
reported: entries that do not verify or do not extend their feeds, and
entries of another organisation's ledger, whose root is named. They never
reach status, the queue or governance. A home that trusts no root yet
needs --root (signoff governance shows the digest on a machine you trust);
it is pinned.

This home remembers, per remote, what it has seen. A remote that later
shows less (a rollback) or whose objects changed (tampering) is reported,
exit 2, and nothing local is changed.

Exit status: 0 synced; 1 something was refused (listed) or the remote could
not be reached; 2 rollback or tampering; 3 usage error.`,
		Example: `  signoff sync usb
  signoff sync s3://approvals/models --endpoint http://127.0.0.1:9000
  signoff --home ci sync https://signoff.internal --root sha256:… --json
  signoff sync /media/usb/signoff.jsonl`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			h, err := a.createHome()
			if err != nil {
				return err
			}
			rs, err := h.Remotes()
			if err != nil {
				return err
			}
			r, named := rs[args[0]]
			key := args[0]
			if named {
				if sf.endpoint != "" || sf.pathStyle {
					return usageError("remote %s is named: its endpoint is set by signoff remote add", args[0])
				}
			} else {
				r = home.Remote{URL: args[0], Endpoint: sf.endpoint, PathStyle: sf.pathStyle}
				key = specOf(r).Key()
			}
			rem, err := ssync.Open(c.Context(), specOf(r))
			if err != nil {
				return &exitError{exitUsage, err}
			}
			var st ssync.State
			if data, err := h.RemoteState(key); err != nil {
				return err
			} else if data != nil {
				if err := json.Unmarshal(data, &st); err != nil {
					return fmt.Errorf("what this home remembers of %s: %v", inert.Escape(r.URL), err)
				}
			}
			l, err := h.Ledger()
			if err != nil {
				return err
			}
			defer l.Close()
			anchor, err := h.KnownAnchor(root)
			if err != nil {
				return err
			}
			if anchor == "" {
				if anchor, err = a.anchor(h, "", l); errors.Is(err, policy.ErrNoRoot) {
					return usageError("this home trusts no root yet, so it cannot tell what to take in: pass --root sha256:… (signoff governance shows it on a machine you trust)")
				} else if err != nil {
					return err
				}
			} else if _, err := h.SetPin(anchor); err != nil {
				return err
			}
			ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer cancel()
			var mu stdsync.Mutex
			var sofar ssync.Result
			st.Progress = func(r ssync.Result) { mu.Lock(); sofar = r; mu.Unlock() }
			stop := a.busyWith(func() string {
				mu.Lock()
				defer mu.Unlock()
				return fmt.Sprintf("syncing with %s: pulled %d, pushed %d entries, %d requests", inert.Escape(r.URL), sofar.Pulled, sofar.Pushed, sofar.Requests)
			})
			res, err := rem.Sync(ctx, l, &st, anchor)
			stop()
			if err != nil {
				if errors.Is(err, ssync.ErrRollback) || errors.Is(err, ssync.ErrTampered) {
					return &exitError{exitTampered, fmt.Errorf("%w\nnothing this home held was changed or removed; whoever runs %s must restore what it held (this home and the other homes that synced hold every entry)", err, inert.Escape(r.URL))}
				}
				return err
			}
			data, _ := json.Marshal(st)
			if err := h.SaveRemoteState(key, data); err != nil {
				return err
			}
			if asJSON {
				if err := writeJSON(a.stdout, res); err != nil {
					return err
				}
			} else {
				a.printSync(res)
			}
			if res.RefusedCount > 0 {
				// What was refused did not land, or did not arrive: say so
				// in the exit status, for scripts.
				return &exitError{exitFailed, nil}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "the summary as JSON: pushed, pulled, blobs, batches, refused, equivocations, requests, foreign_roots")
	c.Flags().StringVar(&root, "root", "", "the digest of the root this home trusts (pinned on first use; default: the pin)")
	sf.add(c)
	return c
}

func (a *app) printSync(res *ssync.Result) {
	fmt.Fprintf(a.stdout, "pushed %d entries and %d blobs, pulled %d entries, refused %d (%d requests)\n", res.Pushed, res.Blobs, res.Pulled, res.RefusedCount, res.Requests)
	for _, r := range res.Refused {
		fmt.Fprintf(a.stdout, "refused: %s\n", inert.Escape(r))
	}
	if more := res.RefusedCount - len(res.Refused); more > 0 {
		fmt.Fprintf(a.stdout, "refused: and %d more\n", more)
	}
	for _, q := range res.Equivocations {
		fmt.Fprintf(a.stdout, "equivocation: %s\n", inert.Escape(q))
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(a.stdout, "warning: %s\n", inert.Escape(w))
	}
}
