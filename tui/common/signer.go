package common

import (
	"errors"

	"golang.org/x/crypto/ssh"

	"github.com/signoff-dev/signoff/ledger"
)

// ErrNeedPassphrase asks the decision form for the key's passphrase.
var ErrNeedPassphrase = errors.New("the key is encrypted: type its passphrase")

// MyFeed returns the signer's key feed and the identity it claims.
func (c *Common) MyFeed() (ledger.Feed, string, error) {
	if c.Opt.Agent && c.Opt.KeyPath == "" {
		s, err := ledger.NewAgentSigner(c.Opt.AgentSocket, c.Opt.Fingerprint, nil)
		if err != nil {
			return ledger.Feed{}, "", err
		}
		defer s.Close()
		return ledger.FeedOf(s.PublicKey().Marshal()), s.Identity(), nil
	}
	pub, comment, err := ledger.ReadPublicKeyFile(c.Opt.KeyPath + ".pub")
	if err != nil {
		return ledger.Feed{}, "", err
	}
	return ledger.FeedOf(pub.Marshal()), comment, nil
}

// OpenSigner opens the signing key: from ssh-agent, or the key file with
// the passphrase typed ([ErrNeedPassphrase] if it is encrypted and none
// was). The caller calls the function returned when done signing.
func (c *Common) OpenSigner(pass string) (ledger.Signer, func(), error) {
	if c.Opt.Agent {
		s, err := ledger.NewAgentSigner(c.Opt.AgentSocket, c.Opt.Fingerprint, c.preferredKey())
		if err != nil {
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	}
	s, err := ledger.LoadKeyFile(c.Opt.KeyPath, func() ([]byte, error) {
		if pass == "" {
			return nil, ErrNeedPassphrase
		}
		return []byte(pass), nil
	})
	if err != nil {
		return nil, nil, err
	}
	return s, func() {}, nil
}

// preferredKey is the home's public key, for choosing among agent keys.
func (c *Common) preferredKey() ssh.PublicKey {
	if c.Opt.KeyPath == "" {
		return nil
	}
	pub, _, err := ledger.ReadPublicKeyFile(c.Opt.KeyPath + ".pub")
	if err != nil {
		return nil
	}
	return pub
}
