package home

import (
	"errors"
	"io/fs"
	"os"

	"golang.org/x/crypto/ssh"

	"github.com/signoff-dev/signoff/ledger"
)

// A Key says which key signs for the home's signer: a key file (the
// home's own unless File names another), or a key held in ssh-agent,
// such as one on a hardware token.
type Key struct {
	File        string // a private key file; "" for the home's
	Agent       bool   // sign with a key in ssh-agent
	AgentSocket string // the agent's socket ($SSH_AUTH_SOCK)
	Fingerprint string // with Agent: which key (SHA256:…), if it holds several
	// Passphrase is asked for an encrypted key file.
	Passphrase func() ([]byte, error)
}

// ErrNoKey: the home has no signing key, and none was named.
var ErrNoKey = errors.New("no signing key")

// KeyFile is the key file k names (the home's own unless k.File names
// another).
func (h *Home) KeyFile(k Key) string {
	if k.File != "" {
		return k.File
	}
	return h.KeyPath()
}

// Signer opens the key k names. The returned func releases it.
func (h *Home) Signer(k Key) (ledger.Signer, func(), error) {
	if k.Fingerprint != "" && !k.Agent {
		return nil, nil, inputErrorf("--fingerprint picks an ssh-agent key: use it with --agent")
	}
	if k.Agent {
		s, err := ledger.NewAgentSigner(k.AgentSocket, k.Fingerprint, h.publicKey(k))
		if err != nil {
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	}
	path := h.KeyFile(k)
	if _, err := os.Stat(path); k.File == "" && errors.Is(err, fs.ErrNotExist) {
		return nil, nil, inputErrorf("%w at %s: create one with 'signoff keygen --identity YOU@EXAMPLE.COM', or pass --key or --agent", ErrNoKey, path)
	}
	s, err := ledger.LoadKeyFile(path, k.Passphrase)
	if err != nil {
		return nil, nil, err
	}
	return s, func() {}, nil
}

// PublicKey returns the public half of the key k names and the identity
// it claims, without opening the private key (nor asking a passphrase).
func (h *Home) PublicKey(k Key) (ssh.PublicKey, string, error) {
	if k.Agent && k.File == "" {
		if _, err := os.Stat(h.KeyPath() + ".pub"); err != nil {
			s, err := ledger.NewAgentSigner(k.AgentSocket, k.Fingerprint, nil)
			if err != nil {
				return nil, "", err
			}
			defer s.Close()
			return s.PublicKey(), s.Identity(), nil
		}
	}
	pub, comment, err := ledger.ReadPublicKeyFile(h.KeyFile(k) + ".pub")
	if errors.Is(err, fs.ErrNotExist) && k.File == "" {
		return nil, "", inputErrorf("%w at %s: create one with 'signoff keygen --identity YOU@EXAMPLE.COM', or pass --key or --agent", ErrNoKey, h.KeyPath())
	}
	return pub, comment, err
}

// publicKey is the key file's public half, if there is one, so that an
// agent holding several keys can prefer it.
func (h *Home) publicKey(k Key) ssh.PublicKey {
	pub, _, err := ledger.ReadPublicKeyFile(h.KeyFile(k) + ".pub")
	if err != nil {
		return nil
	}
	return pub
}
