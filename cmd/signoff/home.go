package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/signoff-dev/signoff/home"
	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
)

// homeDir returns the signoff home's directory: --home, $SIGNOFF_HOME or
// ~/.signoff.
func (a *app) homeDir() (string, error) {
	dir, err := home.Locate(a.home)
	if err != nil {
		return "", usageError("%v", err)
	}
	return dir, nil
}

// openHome returns the signoff home, which must exist: a missing home is
// an input error naming the path and how to make one, never an empty
// home made in its place.
func (a *app) openHome() (*home.Home, error) {
	dir, err := a.homeDir()
	if err != nil {
		return nil, err
	}
	return home.Open(dir)
}

// createHome returns the signoff home, making it if it is not there: for
// the commands that make a home (keygen, import, remote add, sync).
func (a *app) createHome() (*home.Home, error) {
	dir, err := a.homeDir()
	if err != nil {
		return nil, err
	}
	return home.Create(dir)
}

// readLedger opens an existing home's ledger read-only: for the commands
// that only read.
func (a *app) readLedger() (*home.Home, *ledger.Ledger, error) {
	h, err := a.openHome()
	if err != nil {
		return nil, nil, err
	}
	l, err := h.ReadLedger()
	return h, l, err
}

// anchor returns the root to trust (see [home.Home.Anchor]), telling the
// user when it pins one for the first time.
func (a *app) anchor(h *home.Home, flag string, l *ledger.Ledger) (string, error) {
	d, pinned, err := h.Anchor(flag, l)
	if errors.Is(err, policy.ErrAmbiguousRoot) {
		return "", &exitError{exitUsage, err}
	} else if err != nil {
		return "", err
	}
	if pinned {
		fmt.Fprintf(a.stderr, "signoff: trusting root %s, the first this home has seen; pinned in %s\n", d, h.Path(home.RootPin))
	}
	return d, nil
}

// signFlags choose the key that signs: a key file or an ssh-agent key.
type signFlags struct {
	key            string
	passphraseFile string
	agent          bool
	fingerprint    string
}

func (f *signFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.key, "key", "", "private key file that signs (default HOME/keys/id_ed25519)")
	c.Flags().StringVar(&f.passphraseFile, "passphrase-file", "", "read the key's passphrase from the first line of this file instead of prompting")
	c.Flags().BoolVar(&f.agent, "agent", false, "sign with a key held in ssh-agent ($SSH_AUTH_SOCK), e.g. on a hardware token")
	c.Flags().StringVar(&f.fingerprint, "fingerprint", "", "with --agent: the SHA256:… fingerprint of the agent key to use")
	c.MarkFlagsMutuallyExclusive("agent", "key")
	c.MarkFlagsMutuallyExclusive("agent", "passphrase-file")
}

// keyOf is the key the flags choose, its passphrase asked as the flags
// say.
func (a *app) keyOf(h *home.Home, f *signFlags) home.Key {
	k := home.Key{File: f.key, Agent: f.agent, AgentSocket: os.Getenv("SSH_AUTH_SOCK"), Fingerprint: f.fingerprint}
	k.Passphrase = a.passphrase(f.passphraseFile, h.KeyFile(k))
	return k
}

// signer opens the chosen key of the home's signer. done releases it.
func (a *app) signer(h *home.Home, f *signFlags) (ledger.Signer, func(), error) {
	return h.Signer(a.keyOf(h, f))
}

// signing opens the home, the chosen key and the home's ledger, for a
// command that signs an entry. done releases them.
func (a *app) signing(f *signFlags) (*home.Home, ledger.Signer, *ledger.Ledger, func(), error) {
	h, err := a.openHome()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	s, release, err := a.signer(h, f)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	l, err := h.Ledger()
	if err != nil {
		release()
		return nil, nil, nil, nil, err
	}
	return h, s, l, func() { l.Close(); release() }, nil
}

// passphrase returns the source of a key's passphrase: the file, else a
// prompt on the terminal, else an error saying what to do.
func (a *app) passphrase(file, keyPath string) func() ([]byte, error) {
	return func() ([]byte, error) {
		if file != "" {
			return readPassphraseFile(file)
		}
		fd, ok := a.terminal()
		if !ok {
			return nil, usageError("key %s is encrypted and there is no terminal to ask for its passphrase: pass --passphrase-file", keyPath)
		}
		fmt.Fprintf(a.stderr, "Passphrase for %s: ", keyPath)
		p, err := term.ReadPassword(fd)
		fmt.Fprintln(a.stderr)
		if err != nil {
			return nil, fmt.Errorf("failed to read passphrase: %w", err)
		}
		return p, nil
	}
}

// terminal returns the file descriptor of stdin if it is a terminal.
func (a *app) terminal() (int, bool) {
	f, ok := a.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	return int(f.Fd()), true
}

func readPassphraseFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError("failed to read passphrase file: %v", err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return nil, usageError("passphrase file %s is empty", path)
	}
	return []byte(line), nil
}
