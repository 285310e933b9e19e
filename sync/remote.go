package sync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/signoff-dev/signoff/ledger"
)

// A Spec is where a remote is and how to reach it.
//
//	s3://BUCKET[/PREFIX]   an S3 bucket or any S3-compatible store (the
//	                       standard AWS chain gives credentials and region)
//	https://HOST[:PORT]    a signoff serve (or http:// on a trusted network)
//	PATH                   a directory (shared by any number of writers), or
//	                       a .jsonl file (one writer at a time: the air gap)
type Spec struct {
	URL       string
	Endpoint  string // S3: the store's URL (default $AWS_ENDPOINT_URL, else AWS)
	PathStyle bool   // S3: address the bucket in the path
}

// Key names the spec for a home's record of the remote, when it has no
// name of its own: "loc-" and 16 hex digits of a hash of the location.
func (s Spec) Key() string {
	sum := sha256.Sum256([]byte(s.URL + "\x00" + s.Endpoint))
	return "loc-" + hex.EncodeToString(sum[:8])
}

// A Remote is any place a home syncs with. Sync pulls what the remote
// holds that l lacks and that the root anchor admits (the rest is
// refused and reported), then pushes what the remote lacks, updating st,
// what the home remembers of the remote. A remote that rolled back or
// whose objects changed gives an error wrapping [ErrRollback] or
// [ErrTampered], and nothing local is changed by it.
type Remote interface {
	Sync(ctx context.Context, l *ledger.Ledger, st *State, anchor string) (*Result, error)
	String() string
}

// Open returns the remote a spec names. It makes no request: a remote
// that cannot be reached says so when it is synced with.
func Open(ctx context.Context, spec Spec) (Remote, error) {
	loc := spec.URL
	if (spec.Endpoint != "" || spec.PathStyle) && !strings.HasPrefix(loc, "s3://") {
		return nil, fmt.Errorf("--endpoint and --path-style are for s3:// remotes, not %s", loc)
	}
	switch {
	case strings.HasPrefix(loc, "s3://"):
		s, err := NewS3(ctx, loc, S3Options{Endpoint: spec.Endpoint, PathStyle: spec.PathStyle})
		if err != nil {
			return nil, err
		}
		return storeRemote{s, loc}, nil
	case strings.HasPrefix(loc, "http://"), strings.HasPrefix(loc, "https://"):
		return NewEndpoint(loc, nil)
	case strings.Contains(loc, "://"):
		return nil, fmt.Errorf("%s: a remote is s3://, https://, http:// or a path", loc)
	}
	fi, err := os.Stat(loc)
	switch {
	case err == nil && fi.Mode().IsRegular(), errors.Is(err, fs.ErrNotExist) && strings.HasSuffix(loc, ".jsonl"):
		return fileRemote(loc), nil
	case err == nil && !fi.IsDir():
		return nil, fmt.Errorf("%s is neither a directory nor a file", loc)
	}
	return storeRemote{DirStore{Root: loc}, loc}, nil
}

// storeRemote is a log of batches in a Store: a directory or S3.
type storeRemote struct {
	store Store
	loc   string
}

func (r storeRemote) Sync(ctx context.Context, l *ledger.Ledger, st *State, anchor string) (*Result, error) {
	return Sync(ctx, l, r.store, st, anchor)
}

func (r storeRemote) String() string { return r.loc }

// fileRemote is an append-only JSON Lines file.
type fileRemote string

func (f fileRemote) Sync(ctx context.Context, l *ledger.Ledger, st *State, anchor string) (*Result, error) {
	return SyncFile(ctx, l, string(f), st, anchor)
}

func (f fileRemote) String() string { return string(f) }

// Sync exchanges entries with a signoff serve; see [SyncEndpoint].
func (r *Endpoint) Sync(ctx context.Context, l *ledger.Ledger, st *State, anchor string) (*Result, error) {
	return SyncEndpoint(ctx, l, r, st, anchor)
}
