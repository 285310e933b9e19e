package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"
	"golang.org/x/term"

	"github.com/signoff-dev/signoff/ledger"
)

// homeDir returns the signoff home: --home, $SIGNOFF_HOME or ~/.signoff.
func (a *app) homeDir() (string, error) {
	if a.home != "" {
		return a.home, nil
	}
	if h := os.Getenv("SIGNOFF_HOME"); h != "" {
		return h, nil
	}
	u, err := os.UserHomeDir()
	if err != nil {
		return "", usageError("no home directory: set SIGNOFF_HOME or pass --home")
	}
	return filepath.Join(u, ".signoff"), nil
}

func (a *app) defaultKeyPath() (string, error) {
	h, err := a.homeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(h, "keys", "id_ed25519"), nil
}

// openLedger opens the ledger in the home, creating both if needed.
func (a *app) openLedger() (*ledger.Ledger, error) {
	h, err := a.homeDir()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(h, 0o700); err != nil {
		return nil, fmt.Errorf("failed to create signoff home: %w", err)
	}
	return ledger.Open(filepath.Join(h, "ledger"))
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

// signer opens the chosen key. The returned func releases it.
func (a *app) signer(f *signFlags) (ledger.Signer, func(), error) {
	if f.fingerprint != "" && !f.agent {
		return nil, nil, usageError("--fingerprint picks an ssh-agent key: use it with --agent")
	}
	if f.agent {
		s, err := ledger.NewAgentSigner(os.Getenv("SSH_AUTH_SOCK"), f.fingerprint, a.defaultPublicKey())
		if err != nil {
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	}
	path := f.key
	if path == "" {
		var err error
		if path, err = a.defaultKeyPath(); err != nil {
			return nil, nil, err
		}
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, nil, usageError("no signing key at %s: create one with 'signoff keygen --identity YOU@EXAMPLE.COM', or pass --key or --agent", path)
		}
	}
	s, err := ledger.LoadKeyFile(path, a.passphrase(f.passphraseFile, path))
	if err != nil {
		return nil, nil, err
	}
	return s, func() {}, nil
}

// signing opens the chosen key and the home's ledger, for a command that
// signs an entry. done releases both.
func (a *app) signing(f *signFlags) (ledger.Signer, *ledger.Ledger, func(), error) {
	s, release, err := a.signer(f)
	if err != nil {
		return nil, nil, nil, err
	}
	l, err := a.openLedger()
	if err != nil {
		release()
		return nil, nil, nil, err
	}
	return s, l, func() { l.Close(); release() }, nil
}

// defaultPublicKey returns the home's public key, if there is one, so that
// --agent can prefer it when the agent holds several keys.
func (a *app) defaultPublicKey() ssh.PublicKey {
	path, err := a.defaultKeyPath()
	if err != nil {
		return nil
	}
	pub, _, err := ledger.ReadPublicKeyFile(path + ".pub")
	if err != nil {
		return nil
	}
	return pub
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
