package common

import (
	"errors"

	"github.com/signoff-dev/signoff/ledger"
)

// ErrNeedPassphrase asks the decision form for the key's passphrase.
var ErrNeedPassphrase = errors.New("the key is encrypted: type its passphrase")

// MyFeed returns the signer's key feed and the identity it claims,
// without opening the private key.
func (c *Common) MyFeed() (ledger.Feed, string, error) {
	pub, identity, err := c.Opt.Home.PublicKey(c.Opt.Key)
	if err != nil {
		return ledger.Feed{}, "", err
	}
	return ledger.FeedOf(pub.Marshal()), identity, nil
}

// OpenSigner opens the signing key (home.Home.Signer, as the CLI does):
// from ssh-agent, or the key file with the passphrase typed
// ([ErrNeedPassphrase] if it is encrypted and none was). The caller calls
// the function returned when done signing.
func (c *Common) OpenSigner(pass string) (ledger.Signer, func(), error) {
	k := c.Opt.Key
	k.Passphrase = func() ([]byte, error) {
		if pass == "" {
			return nil, ErrNeedPassphrase
		}
		return []byte(pass), nil
	}
	return c.Opt.Home.Signer(k)
}

// KeyName names the signing key for the passphrase prompt.
func (c *Common) KeyName() string { return c.Opt.Home.KeyFile(c.Opt.Key) }
