// Package home is the signoff home on disk: the directory that holds a
// signer's key, their ledger, the root they trust and their settings.
//
// A home is laid out as:
//
//	keys/id_ed25519       the signing key (OpenSSH, 0600), .pub beside it
//	ledger/               the Badger ledger
//	root.pin              the digest of the root this home trusts
//	config.yaml           settings (theme:)
//	remotes.json          the remotes named with signoff remote add
//	remotes/NAME.json     what the home remembers of each remote
//
// A `signoff serve` store directory is a home without a key.
//
// # Reading and writing
//
// Commands that only read open a home with [Open] and its ledger with
// [Home.ReadLedger]: a home that is not there is an error naming the path
// and how to make one, never an empty home made in its place (a
// mistyped SIGNOFF_HOME in a pipeline must not read as "nothing here").
// Commands that make a home use [Create].
//
// # The root pin
//
// [Home.SetPin] is the one writer of root.pin, and [Home.Anchor] the one
// reader that decides which root a command trusts: --root, else the pin,
// else, on first use, the one first root the ledger holds, which is then
// pinned.
package home

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
)

// Layout of a home.
const (
	KeyFile     = "keys/id_ed25519"
	LedgerDir   = "ledger"
	RootPin     = "root.pin"
	ConfigFile  = "config.yaml"
	RemotesFile = "remotes.json"
	RemotesDir  = "remotes"
)

// Errors callers test for.
var (
	// ErrNoHome: the home directory is not there.
	ErrNoHome = errors.New("no signoff home")
	// ErrBadPin: root.pin does not hold a root digest.
	ErrBadPin = errors.New("root.pin does not hold a root digest")
)

// An InputError is a mistake in what the user gave (a flag, a file, a
// path) rather than a failure: the CLI answers it with its usage exit
// code.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

func inputErrorf(format string, args ...any) error { return &InputError{fmt.Errorf(format, args...)} }

// A Home is a signoff home directory.
type Home struct {
	Dir string
}

// Locate returns the home's directory: flag if set, else $SIGNOFF_HOME,
// else ~/.signoff.
func Locate(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if h := os.Getenv("SIGNOFF_HOME"); h != "" {
		return h, nil
	}
	u, err := os.UserHomeDir()
	if err != nil {
		return "", errors.New("no home directory: set SIGNOFF_HOME or pass --home")
	}
	return filepath.Join(u, ".signoff"), nil
}

// Open returns the home at dir, which must exist. A missing one gives an
// error wrapping [ErrNoHome] that names the path and how to create a home.
func Open(dir string) (*Home, error) {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, inputErrorf("%w at %s: create one with signoff keygen --identity YOU@EXAMPLE.COM (an approver), signoff sync --root sha256:… REMOTE (a pipeline), or signoff demo --dir %s; or point --home or SIGNOFF_HOME at an existing home", ErrNoHome, dir, dir)
	case err != nil:
		return nil, fmt.Errorf("signoff home %s: %w", dir, err)
	case !fi.IsDir():
		return nil, inputErrorf("%w at %s: it is a file, not a directory", ErrNoHome, dir)
	}
	return &Home{Dir: dir}, nil
}

// Create returns the home at dir, creating the directory if it is not
// there.
func Create(dir string) (*Home, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("failed to create signoff home %s: %w", dir, err)
	}
	return &Home{Dir: dir}, nil
}

// Path returns the path of name within the home.
func (h *Home) Path(name string) string { return filepath.Join(h.Dir, filepath.FromSlash(name)) }

// KeyPath is the home's signing key file.
func (h *Home) KeyPath() string { return h.Path(KeyFile) }

// Ledger opens the home's ledger for writing, creating the ledger (not
// the home) if it has none yet.
func (h *Home) Ledger() (*ledger.Ledger, error) { return ledger.Open(h.Path(LedgerDir)) }

// ReadLedger opens the home's ledger read-only. A home with no ledger yet
// gives an error wrapping [ledger.ErrNoLedger] that says how to fill it.
func (h *Home) ReadLedger() (*ledger.Ledger, error) {
	l, err := ledger.OpenReadOnly(h.Path(LedgerDir))
	if errors.Is(err, ledger.ErrNoLedger) {
		return nil, inputErrorf("%w in the signoff home %s yet: sign something, sync with a remote (signoff sync), or import a ledger (signoff import)", ledger.ErrNoLedger, h.Dir)
	}
	return l, err
}

// Pin returns the digest of the root this home trusts, or "" if it has
// pinned none.
func (h *Home) Pin() (string, error) {
	path := h.Path(RootPin)
	data, err := ledger.ReadBounded(path, 1024)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	d := strings.TrimSpace(string(data))
	if !policy.IsDigest(d) {
		return "", inputErrorf("%w: %s: fix or remove it", ErrBadPin, path)
	}
	return d, nil
}

// SetPin pins digest as the root this home trusts, if it has pinned none,
// and reports whether it did. A home never changes the root it pinned:
// trusting another is a deliberate act (remove root.pin, or pass --root).
func (h *Home) SetPin(digest string) (bool, error) {
	if !policy.IsDigest(digest) {
		return false, fmt.Errorf("%q is not a root digest (sha256: and 64 hex digits)", digest)
	}
	f, err := os.OpenFile(h.Path(RootPin), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("failed to pin the root: %w", err)
	}
	_, err = fmt.Fprintln(f, digest)
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(h.Path(RootPin))
		return false, fmt.Errorf("failed to pin the root: %w", err)
	}
	return true, nil
}

// KnownAnchor returns the root to trust when it is known without reading
// the ledger: flag (--root) if set, else the pin; "" if neither.
func (h *Home) KnownAnchor(flag string) (string, error) {
	if flag != "" {
		if !policy.IsDigest(flag) {
			return "", inputErrorf("--root %q is not a root digest (sha256: and 64 hex digits)", flag)
		}
		return flag, nil
	}
	return h.Pin()
}

// Anchor returns the root to trust: flag (--root) if set, else the pin,
// else the one first root l holds, which is then pinned (pinned says so,
// for the caller to tell the user). A ledger holding no root gives an
// error wrapping [policy.ErrNoRoot]; one holding several first roots,
// [policy.ErrAmbiguousRoot].
func (h *Home) Anchor(flag string, l *ledger.Ledger) (anchor string, pinned bool, err error) {
	if d, err := h.KnownAnchor(flag); d != "" || err != nil {
		return d, false, err
	}
	t, err := policy.LoadTrust(l, "", time.Now())
	if err != nil {
		return "", false, err
	}
	pinned, err = h.SetPin(t.Anchor)
	return t.Anchor, pinned, err
}

// WriteLedger opens the home's ledger for writing; a home with no ledger
// yet gives an error wrapping [ledger.ErrNoLedger], as [Home.ReadLedger]
// does: for commands that change what is there, not make it.
func (h *Home) WriteLedger() (*ledger.Ledger, error) {
	if _, err := os.Stat(h.Path(LedgerDir)); errors.Is(err, fs.ErrNotExist) {
		return nil, inputErrorf("%w in the signoff home %s yet: sign something, sync with a remote (signoff sync), or import a ledger (signoff import)", ledger.ErrNoLedger, h.Dir)
	}
	return h.Ledger()
}
