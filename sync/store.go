// Package sync carries ledgers between machines through a remote: a
// directory (for an air gap), an S3 bucket, or a signoff serve endpoint.
//
// Every remote holds the same layout of immutable objects:
//
//	log/NNNNNNNNNNNNNNNNNNNN   a batch, numbered from 1: entries and the
//	                           evidence blobs the remote lacked, as
//	                           JSON Lines in the export format
//
// A push writes the next batch, created only if absent (If-None-Match:
// *), so two writers can add but never replace. A sync with nothing new
// costs three requests: the last batch seen and one older one, in turn,
// are read again (a remote that dropped or changed one rolled back or was
// tampered with), and the log is listed after the last.
package sync

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/signoff-dev/signoff/ledger"
)

// Errors a Store returns.
var (
	ErrExists   = errors.New("object exists")
	ErrNotFound = errors.New("no such object")
)

// A Store is where a remote's objects live.
type Store interface {
	// List returns the names under prefix that sort after startAfter, in
	// order, at most limit of them.
	List(ctx context.Context, prefix, startAfter string, limit int) ([]string, error)
	// Get returns an object, at most max bytes; ErrNotFound if absent.
	Get(ctx context.Context, name string, max int64) ([]byte, error)
	// PutNew creates an object only if it does not exist; ErrExists if
	// it does. It never replaces an object.
	PutNew(ctx context.Context, name string, data []byte) error
}

// checkName refuses object names outside the layout.
func checkName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || path.Clean(name) != name || strings.Contains(name, "..") {
		return fmt.Errorf("object name %q is not a clean relative name", name)
	}
	return nil
}

// DirStore is a Store in a directory: for an air gap, a USB stick.
type DirStore struct{ Root string }

func (d DirStore) path(name string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	return filepath.Join(d.Root, filepath.FromSlash(name)), nil
}

// List lists a directory store.
func (d DirStore) List(_ context.Context, prefix, startAfter string, limit int) ([]string, error) {
	dir, base := path.Split(prefix)
	p, err := d.path(strings.TrimSuffix(dir, "/"))
	if dir == "" {
		p, err = d.Root, nil
	}
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		name := dir + e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), base) || name <= startAfter || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		out = append(out, name)
	}
	slices.Sort(out)
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Get reads an object of a directory store.
func (d DirStore) Get(_ context.Context, name string, max int64) ([]byte, error) {
	p, err := d.path(name)
	if err != nil {
		return nil, err
	}
	data, err := ledger.ReadBounded(p, max)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	return data, err
}

// PutNew writes the object to a temporary file, syncs it, and links it
// into place: the link fails if the name exists, so nothing is replaced
// and a reader never sees half an object.
func (d DirStore) PutNew(_ context.Context, name string, data []byte) error {
	p, err := d.path(name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp, err := ledger.WriteTemp(filepath.Dir(p), data)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, p); errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s: %w", name, ErrExists)
	} else if err != nil {
		return err
	}
	if dir, err := os.Open(filepath.Dir(p)); err == nil {
		dir.Sync()
		dir.Close()
	}
	return nil
}
