package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	stdsync "sync"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/signoff-dev/signoff/inert"
	"github.com/signoff-dev/signoff/ledger"
	ssync "github.com/signoff-dev/signoff/sync"
)

// remotesFile names the home's remotes; remotesDir holds what the home
// remembers of each.
const (
	remotesFile = "remotes.json"
	remotesDir  = "remotes"
)

var remoteNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// A remoteSpec is where a remote is and how to reach it.
type remoteSpec struct {
	URL       string `json:"url"`
	Endpoint  string `json:"endpoint,omitempty"`   // S3: the store's URL
	PathStyle bool   `json:"path_style,omitempty"` // S3: path-style addressing
}

// s3Flags are how to reach an S3-compatible store.
type s3Flags struct {
	endpoint  string
	pathStyle bool
}

func (f *s3Flags) add(c *cobra.Command) {
	c.Flags().StringVar(&f.endpoint, "endpoint", "", "S3: the store's URL (default $AWS_ENDPOINT_URL, else AWS)")
	c.Flags().BoolVar(&f.pathStyle, "path-style", false, "S3: address the bucket in the path (automatic for IP addresses and localhost)")
}

func (a *app) remotes() (map[string]remoteSpec, string, error) {
	h, err := a.homeDir()
	if err != nil {
		return nil, "", err
	}
	path := filepath.Join(h, remotesFile)
	out := map[string]remoteSpec{}
	data, err := ledger.ReadBounded(path, 1<<20)
	if errors.Is(err, os.ErrNotExist) {
		return out, path, nil
	} else if err != nil {
		return nil, path, err
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, path, fmt.Errorf("%s: %v", path, err)
	}
	return out, path, nil
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
			if !remoteNameRE.MatchString(args[0]) {
				return usageError("remote name %q: use lowercase letters, digits, - and _", args[0])
			}
			spec := remoteSpec{URL: args[1], Endpoint: sf.endpoint, PathStyle: sf.pathStyle}
			if _, err := remoteFor(spec); err != nil {
				return &exitError{exitUsage, err}
			}
			rs, path, err := a.remotes()
			if err != nil {
				return err
			}
			if old, ok := rs[args[0]]; ok && old != spec {
				return usageError("remote %s is already %s", args[0], old.URL)
			}
			rs[args[0]] = spec
			data, _ := json.MarshalIndent(rs, "", "  ")
			if err := ssync.WriteFileAtomic(path, append(data, '\n')); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "remote %s: %s\n", args[0], args[1])
			return nil
		},
	}
	sf.add(add)
	list := &cobra.Command{
		Use:   "list",
		Short: "List the remotes",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			rs, _, err := a.remotes()
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, rs)
			}
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
			return nil
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "the remotes as a JSON object: name to {url, endpoint, path_style}")
	c.AddCommand(add, list)
	return c
}

// remote is a remote ready to sync with.
type remote struct {
	store    ssync.Store     // a directory or S3
	endpoint *ssync.Endpoint // a signoff serve
	file     string          // a .jsonl file
}

// remoteFor returns the remote a spec names. It makes no request.
func remoteFor(spec remoteSpec) (*remote, error) {
	loc := spec.URL
	if (spec.Endpoint != "" || spec.PathStyle) && !strings.HasPrefix(loc, "s3://") {
		return nil, fmt.Errorf("--endpoint and --path-style are for s3:// remotes, not %s", loc)
	}
	switch {
	case strings.HasPrefix(loc, "s3://"):
		s, err := ssync.NewS3(context.Background(), loc, ssync.S3Options{Endpoint: spec.Endpoint, PathStyle: spec.PathStyle})
		if err != nil {
			return nil, err
		}
		return &remote{store: s}, nil
	case strings.HasPrefix(loc, "http://"), strings.HasPrefix(loc, "https://"):
		e, err := ssync.NewEndpoint(loc, nil)
		if err != nil {
			return nil, err
		}
		return &remote{endpoint: e}, nil
	case strings.Contains(loc, "://"):
		return nil, fmt.Errorf("%s: a remote is s3://, https://, http:// or a path", loc)
	}
	fi, err := os.Stat(loc)
	switch {
	case err == nil && fi.Mode().IsRegular(), errors.Is(err, os.ErrNotExist) && strings.HasSuffix(loc, ".jsonl"):
		return &remote{file: loc}, nil
	case err == nil && !fi.IsDir():
		return nil, fmt.Errorf("%s is neither a directory nor a file", loc)
	}
	return &remote{store: ssync.DirStore{Root: loc}}, nil
}

func (a *app) syncCmd() *cobra.Command {
	var asJSON bool
	var sf s3Flags
	c := &cobra.Command{
		Use:   "sync (NAME | LOCATION)",
		Short: "Exchange entries and evidence with a remote",
		Long: `Pull every entry and evidence blob the remote holds that this ledger lacks,
then push what the remote lacks. Entries that do not verify are refused and
reported; the rest are kept. The remote is an append-only log of immutable
objects: a sync adds and never replaces.

This home remembers, per remote, what it has seen. A remote that later
shows less (a rollback) or whose objects changed (tampering) is reported,
exit 2, and nothing local is changed.

Exit status: 0 synced; 1 something was refused (listed) or the remote could
not be reached; 2 rollback or tampering; 3 usage error.`,
		Example: `  signoff sync usb
  signoff sync s3://approvals/models --endpoint http://127.0.0.1:9000
  signoff sync https://signoff.internal --json
  signoff sync /media/usb/signoff.jsonl`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			rs, _, err := a.remotes()
			if err != nil {
				return err
			}
			spec, name := remoteSpec{URL: args[0], Endpoint: sf.endpoint, PathStyle: sf.pathStyle}, args[0]
			if r, ok := rs[args[0]]; ok {
				spec = r
				if sf.endpoint != "" || sf.pathStyle {
					return usageError("remote %s is named: its endpoint is set by signoff remote add", args[0])
				}
			} else {
				sum := sha256.Sum256([]byte(spec.URL + "\x00" + spec.Endpoint))
				name = "loc-" + hex.EncodeToString(sum[:8])
			}
			rem, err := remoteFor(spec)
			if err != nil {
				return &exitError{exitUsage, err}
			}
			loc := spec.URL
			h, err := a.homeDir()
			if err != nil {
				return err
			}
			statePath := filepath.Join(h, remotesDir, name+".json")
			var st ssync.State
			if data, err := ledger.ReadBounded(statePath, 256<<20); err == nil {
				if err := json.Unmarshal(data, &st); err != nil {
					return fmt.Errorf("%s: %v", statePath, err)
				}
			} else if !errors.Is(err, os.ErrNotExist) {
				return err
			}
			l, err := a.openLedger()
			if err != nil {
				return err
			}
			defer l.Close()
			ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer cancel()
			var mu stdsync.Mutex
			var sofar ssync.Result
			st.Progress = func(r ssync.Result) { mu.Lock(); sofar = r; mu.Unlock() }
			stop := a.busyWith(func() string {
				mu.Lock()
				defer mu.Unlock()
				return fmt.Sprintf("syncing with %s: pulled %d, pushed %d entries, %d requests", inert.Escape(loc), sofar.Pulled, sofar.Pushed, sofar.Requests)
			})
			var res *ssync.Result
			switch {
			case rem.endpoint != nil:
				res, err = ssync.SyncEndpoint(ctx, l, rem.endpoint, &st)
			case rem.file != "":
				res, err = ssync.SyncFile(ctx, l, rem.file, &st)
			default:
				res, err = ssync.Sync(ctx, l, rem.store, &st)
			}
			stop()
			if err != nil {
				if errors.Is(err, ssync.ErrRollback) || errors.Is(err, ssync.ErrTampered) {
					return &exitError{exitTampered, fmt.Errorf("%w\nnothing this home held was changed or removed; whoever runs %s must restore what it held (this home and the other homes that synced hold every entry)", err, inert.Escape(loc))}
				}
				return err
			}
			data, _ := json.Marshal(st)
			if err := ssync.WriteFileAtomic(statePath, data); err != nil {
				return err
			}
			if asJSON {
				if err := writeJSON(a.stdout, res); err != nil {
					return err
				}
			} else {
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
			if res.RefusedCount > 0 {
				// What was refused did not land, or did not arrive: say so
				// in the exit status, for scripts.
				return &exitError{exitFailed, nil}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "the summary as JSON: pushed, pulled, blobs, batches, refused, equivocations, requests")
	sf.add(c)
	return c
}
