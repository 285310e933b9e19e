package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"
	"golang.org/x/term"

	"github.com/signoff-dev/signoff/ledger"
)

func (a *app) keygenCmd() *cobra.Command {
	var identity, out, passFile string
	var noPass bool
	c := &cobra.Command{
		Use:   "keygen --identity EMAIL",
		Short: "Create an ed25519 signing key",
		Long: `Create a new ed25519 key in OpenSSH format for signing entries.

The private key goes to --out (default HOME/keys/id_ed25519, mode 0600) and
the public key beside it as .pub, with the identity as its comment. The key
is encrypted with a passphrase: typed twice at the terminal, or read from
--passphrase-file. --no-passphrase leaves it unencrypted (for demos and
machines whose disk is the protection). An existing key is never
overwritten.

The key works with stock OpenSSH: 'ssh-add' puts it in ssh-agent for
'signoff --agent', and 'ssh-keygen -Y verify' checks its signatures.`,
		Example: `  signoff keygen --identity alice@example.com
  signoff keygen --identity ci@example.com --no-passphrase --out ./ci_key`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if identity == "" {
				return usageError("keygen needs --identity EMAIL: the identity your entries claim")
			}
			if err := ledger.CheckIdentity(identity); err != nil {
				return usageError("%v", err)
			}
			path := out
			if path == "" {
				h, err := a.createHome()
				if err != nil {
					return err
				}
				path = h.KeyPath()
			}
			var pass []byte
			switch {
			case noPass:
			case passFile != "":
				var err error
				if pass, err = readPassphraseFile(passFile); err != nil {
					return err
				}
			default:
				var err error
				if pass, err = a.newPassphrase(); err != nil {
					return err
				}
			}
			pub, err := ledger.GenerateKeyFile(path, identity, pass)
			if errors.Is(err, ledger.ErrKeyExists) {
				return usageError("%v: signoff never overwrites a key; choose another --out", err)
			} else if err != nil {
				return fmt.Errorf("failed to create key: %w", err)
			}
			fmt.Fprintf(a.stderr, "wrote %s and %s.pub\n", path, path)
			fmt.Fprintf(a.stdout, "%s %s\n", strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))), identity)
			fmt.Fprintf(a.stdout, "%s\n", ssh.FingerprintSHA256(pub))
			return nil
		},
	}
	c.Flags().StringVar(&identity, "identity", "", "identity (e-mail) the key signs as")
	c.Flags().StringVar(&out, "out", "", "where to write the private key (default HOME/keys/id_ed25519)")
	c.Flags().StringVar(&passFile, "passphrase-file", "", "encrypt the key with the first line of this file")
	c.Flags().BoolVar(&noPass, "no-passphrase", false, "leave the key unencrypted")
	c.MarkFlagsMutuallyExclusive("passphrase-file", "no-passphrase")
	return c
}

// newPassphrase asks twice at the terminal.
func (a *app) newPassphrase() ([]byte, error) {
	fd, ok := a.terminal()
	if !ok {
		return nil, usageError("no terminal to ask for a passphrase: pass --passphrase-file FILE, or --no-passphrase for an unencrypted key")
	}
	fmt.Fprint(a.stderr, "Passphrase for the new key: ")
	p1, err := term.ReadPassword(fd)
	fmt.Fprintln(a.stderr)
	if err != nil {
		return nil, fmt.Errorf("failed to read passphrase: %w", err)
	}
	if len(p1) == 0 {
		return nil, usageError("empty passphrase: use --no-passphrase for an unencrypted key")
	}
	fmt.Fprint(a.stderr, "Same passphrase again: ")
	p2, err := term.ReadPassword(fd)
	fmt.Fprintln(a.stderr)
	if err != nil {
		return nil, fmt.Errorf("failed to read passphrase: %w", err)
	}
	if !bytes.Equal(p1, p2) {
		return nil, usageError("the passphrases differ; nothing written")
	}
	return p1, nil
}
