package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/spf13/cobra"

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

func (a *app) remotes() (map[string]string, string, error) {
	h, err := a.homeDir()
	if err != nil {
		return nil, "", err
	}
	path := filepath.Join(h, remotesFile)
	out := map[string]string{}
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

// writeFileAtomic replaces path with data, durably.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func (a *app) remoteCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "remote",
		Short: "Name the remotes this home syncs with",
		Long: `Name the remotes this home syncs with. A remote is a directory (a shared
folder, or a USB stick carried across an air gap); S3 buckets and signoff
serve endpoints come next.`,
	}
	var asJSON bool
	add := &cobra.Command{
		Use:     "add NAME LOCATION",
		Short:   "Name a remote",
		Example: "  signoff remote add usb /media/usb/signoff",
		Args:    cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			if !remoteNameRE.MatchString(args[0]) {
				return usageError("remote name %q: use lowercase letters, digits, - and _", args[0])
			}
			if _, err := storeFor(args[1]); err != nil {
				return &exitError{exitUsage, err}
			}
			rs, path, err := a.remotes()
			if err != nil {
				return err
			}
			if old, ok := rs[args[0]]; ok && old != args[1] {
				return usageError("remote %s is already %s", args[0], old)
			}
			rs[args[0]] = args[1]
			data, _ := json.MarshalIndent(rs, "", "  ")
			if err := writeFileAtomic(path, append(data, '\n')); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "remote %s: %s\n", args[0], args[1])
			return nil
		},
	}
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
				fmt.Fprintf(a.stdout, "%s\t%s\n", n, safeText(rs[n]))
			}
			return nil
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "the remotes as a JSON object: name to location")
	c.AddCommand(add, list)
	return c
}

// storeFor returns the store at a location: for now a directory.
func storeFor(loc string) (ssync.Store, error) {
	switch {
	case strings.HasPrefix(loc, "s3://"), strings.HasPrefix(loc, "http://"), strings.HasPrefix(loc, "https://"):
		return nil, fmt.Errorf("%s: S3 and signoff serve remotes are not built yet; use a directory", loc)
	}
	if fi, err := os.Stat(loc); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("%s is a file: a remote is a directory (it is created if missing)", loc)
	}
	return ssync.DirStore{Root: loc}, nil
}

func (a *app) syncCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "sync (NAME | LOCATION)",
		Short: "Exchange entries and evidence with a remote",
		Long: `Pull every entry and evidence blob the remote holds that this ledger lacks,
then push what the remote lacks. Entries that do not verify are refused and
reported; the rest are kept. The remote is an append-only log of immutable
objects: a sync adds and never replaces.

This home remembers, per remote, what it has seen. A remote that later
shows less (a rollback) or whose objects changed (tampering) is reported,
exit 2, and nothing local is changed.`,
		Example: `  signoff sync usb
  signoff sync /media/usb/signoff --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			rs, _, err := a.remotes()
			if err != nil {
				return err
			}
			loc, name := args[0], args[0]
			if l, ok := rs[args[0]]; ok {
				loc = l
			} else {
				sum := sha256.Sum256([]byte(loc))
				name = "loc-" + hex.EncodeToString(sum[:8])
			}
			store, err := storeFor(loc)
			if err != nil {
				return &exitError{exitUsage, err}
			}
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
			stop := a.busy("syncing with " + loc)
			res, err := ssync.Sync(context.Background(), l, store, &st)
			stop()
			if err != nil {
				if errors.Is(err, ssync.ErrRollback) || errors.Is(err, ssync.ErrTampered) {
					return &exitError{exitTampered, err}
				}
				return err
			}
			data, _ := json.Marshal(st)
			if err := writeFileAtomic(statePath, data); err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, res)
			}
			fmt.Fprintf(a.stdout, "pushed %d entries and %d blobs, pulled %d entries, refused %d (%d requests)\n", res.Pushed, res.Blobs, res.Pulled, len(res.Refused), res.Requests)
			for _, r := range res.Refused {
				fmt.Fprintf(a.stdout, "refused: %s\n", safeText(r))
			}
			for _, q := range res.Equivocations {
				fmt.Fprintf(a.stdout, "equivocation: %s\n", safeText(q))
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "the summary as JSON: pushed, pulled, blobs, batches, refused, equivocations, requests")
	return c
}
