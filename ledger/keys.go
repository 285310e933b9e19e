package ledger

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// A Signer signs entries: an ed25519 SSH key and the identity its holder
// claims.
type Signer interface {
	ssh.Signer
	// Identity is the identity claimed in each entry (an e-mail address),
	// or "" if the key has none.
	Identity() string
}

type keySigner struct {
	ssh.Signer
	identity string
}

func (k keySigner) Identity() string { return k.identity }

// NewSigner returns a Signer for an ed25519 ssh.Signer and an identity.
func NewSigner(s ssh.Signer, identity string) (Signer, error) {
	if _, err := ed25519Public(s.PublicKey()); err != nil {
		return nil, err
	}
	if identity != "" {
		if err := CheckIdentity(identity); err != nil {
			return nil, err
		}
	}
	return keySigner{s, identity}, nil
}

// Fingerprint returns the OpenSSH SHA256 fingerprint of k.
func Fingerprint(k ssh.PublicKey) string { return ssh.FingerprintSHA256(k) }

// ErrWrongPassphrase is returned when a key file's passphrase is wrong.
var ErrWrongPassphrase = errors.New("wrong passphrase")

// ErrKeyExists is returned by [GenerateKeyFile] when a key file is there.
var ErrKeyExists = errors.New("key file already exists")

// GenerateKeyFile writes a new ed25519 key in OpenSSH format to path (mode
// 0600) and its public key to path.pub, with identity as the comment. An
// empty passphrase leaves the key unencrypted. It never overwrites a file.
func GenerateKeyFile(path, identity string, passphrase []byte) (ssh.PublicKey, error) {
	if err := CheckIdentity(identity); err != nil {
		return nil, err
	}
	for _, p := range []string{path, path + ".pub"} {
		if _, err := os.Lstat(p); err == nil {
			return nil, fmt.Errorf("%s: %w", p, ErrKeyExists)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	var block *pem.Block
	if len(passphrase) == 0 {
		block, err = ssh.MarshalPrivateKey(priv, identity)
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, identity, passphrase)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to encode key: %w", err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := writeNew(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))) + " " + identity + "\n"
	if err := writeNew(path+".pub", []byte(line), 0o644); err != nil {
		os.Remove(path)
		return nil, err
	}
	return sshPub, nil
}

// writeNew creates path exclusively, writes data and syncs it.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: %w", path, ErrKeyExists)
		}
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// maxKeyFile bounds a key file read from disk.
const maxKeyFile = 64 << 10

// LoadKeyFile reads an OpenSSH ed25519 private key. If the key is encrypted,
// passphrase is called for its passphrase; a nil passphrase makes an
// encrypted key an error. The identity comes from path.pub when present.
func LoadKeyFile(path string, passphrase func() ([]byte, error)) (Signer, error) {
	data, err := ReadBounded(path, maxKeyFile)
	if err != nil {
		return nil, fmt.Errorf("failed to read key: %w", err)
	}
	raw, err := ssh.ParseRawPrivateKey(data)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if passphrase == nil {
			return nil, fmt.Errorf("key %s is encrypted and no passphrase was given", path)
		}
		pass, perr := passphrase()
		if perr != nil {
			return nil, perr
		}
		raw, err = ssh.ParseRawPrivateKeyWithPassphrase(data, pass)
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, fmt.Errorf("key %s: %w", path, ErrWrongPassphrase)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("key %s is not an OpenSSH private key: %v", path, err)
	}
	var priv ed25519.PrivateKey
	switch k := raw.(type) {
	case ed25519.PrivateKey:
		priv = k
	case *ed25519.PrivateKey:
		priv = *k
	default:
		return nil, fmt.Errorf("key %s is a %T; signoff signs with ed25519 keys only", path, raw)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, err
	}
	identity := ""
	if pubData, err := ReadBounded(path+".pub", maxKeyFile); err == nil {
		pub, comment, _, _, err := ssh.ParseAuthorizedKey(pubData)
		if err == nil && bytes.Equal(pub.Marshal(), s.PublicKey().Marshal()) && CheckIdentity(comment) == nil {
			identity = comment
		}
	}
	return keySigner{s, identity}, nil
}

// ReadPublicKeyFile reads an OpenSSH public key line and its comment.
func ReadPublicKeyFile(path string) (ssh.PublicKey, string, error) {
	data, err := ReadBounded(path, maxKeyFile)
	if err != nil {
		return nil, "", err
	}
	pub, comment, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		return nil, "", fmt.Errorf("%s is not an OpenSSH public key: %v", path, err)
	}
	return pub, comment, nil
}

// AgentSigner is a Signer whose key is held by ssh-agent. Close it when
// done with it.
type AgentSigner struct {
	keySigner
	conn net.Conn
}

// Close closes the connection to the agent.
func (a *AgentSigner) Close() error { return a.conn.Close() }

// NewAgentSigner connects to the ssh-agent at socket and picks its ed25519
// key whose fingerprint is fingerprint. With an empty fingerprint the agent
// must hold exactly one ed25519 key, or prefer (if not nil) must be among
// them.
func NewAgentSigner(socket, fingerprint string, prefer ssh.PublicKey) (*AgentSigner, error) {
	if socket == "" {
		return nil, errors.New("no ssh-agent: SSH_AUTH_SOCK is not set")
	}
	conn, err := net.Dial("unix", socket)
	if err != nil {
		return nil, fmt.Errorf("failed to reach ssh-agent at %s: %v", socket, err)
	}
	s, err := pickAgentKey(agent.NewClient(conn), fingerprint, prefer)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &AgentSigner{s, conn}, nil
}

func pickAgentKey(ag agent.ExtendedAgent, fingerprint string, prefer ssh.PublicKey) (keySigner, error) {
	keys, err := ag.List()
	if err != nil {
		return keySigner{}, fmt.Errorf("failed to list ssh-agent keys: %v", err)
	}
	var all, match []*agent.Key
	var fps []string
	for _, k := range keys {
		if k.Type() != ssh.KeyAlgoED25519 {
			continue
		}
		all = append(all, k)
		fp := ssh.FingerprintSHA256(k)
		fps = append(fps, fp)
		if fp == fingerprint || fingerprint == "" && prefer != nil && bytes.Equal(k.Marshal(), prefer.Marshal()) {
			match = append(match, k)
		}
	}
	switch {
	case len(all) == 0:
		return keySigner{}, errors.New("ssh-agent holds no ed25519 key: add one with ssh-add")
	case fingerprint != "" && len(match) == 0:
		return keySigner{}, fmt.Errorf("ssh-agent holds no key %s (it holds %s)", fingerprint, strings.Join(fps, ", "))
	case len(match) == 0 && len(all) == 1:
		match = all
	case len(match) == 0:
		return keySigner{}, fmt.Errorf("ssh-agent holds %d ed25519 keys (%s): choose one with --fingerprint", len(all), strings.Join(fps, ", "))
	}
	k := match[0]
	signers, err := ag.Signers()
	if err != nil {
		return keySigner{}, fmt.Errorf("failed to list ssh-agent keys: %v", err)
	}
	for _, s := range signers {
		if bytes.Equal(s.PublicKey().Marshal(), k.Marshal()) {
			identity := ""
			if CheckIdentity(k.Comment) == nil {
				identity = k.Comment
			}
			return keySigner{s, identity}, nil
		}
	}
	return keySigner{}, fmt.Errorf("ssh-agent key %s disappeared", ssh.FingerprintSHA256(k))
}
