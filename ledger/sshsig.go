package ledger

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Namespace is the SSHSIG namespace of every entry signature. Stock OpenSSH
// checks an entry with `ssh-keygen -Y verify -n signoff.entry.v1`.
const Namespace = "signoff.entry.v1"

const (
	sigMagic   = "SSHSIG"
	sigVersion = 1
	sigHash    = "sha512"

	armorBegin = "-----BEGIN SSH SIGNATURE-----"
	armorEnd   = "-----END SSH SIGNATURE-----"

	// maxSignatureBlob bounds a signature blob; an ed25519 SSHSIG is 186 bytes.
	maxSignatureBlob = 1024
)

// ErrBadSignature is returned when a signature does not verify.
var ErrBadSignature = errors.New("signature does not verify")

// Signature is a parsed OpenSSH SSHSIG signature made by an ed25519 key.
type Signature struct {
	PublicKey ed25519.PublicKey
	Namespace string
	Sig       []byte // 64-byte ed25519 signature
}

// signedData is the blob an SSHSIG signer signs: the magic preamble, the
// namespace, the reserved field, the hash algorithm and the message hash.
func signedData(namespace string, message []byte) []byte {
	h := sha512.Sum512(message)
	b := make([]byte, 0, 6+4+len(namespace)+4+4+len(sigHash)+4+len(h))
	b = append(b, sigMagic...)
	b = appendString(b, namespace)
	b = appendString(b, "")
	b = appendString(b, sigHash)
	b = appendString(b, string(h[:]))
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// ed25519KeyBlob is the SSH wire encoding of an ed25519 public key.
func ed25519KeyBlob(pub ed25519.PublicKey) []byte {
	b := appendString(nil, ssh.KeyAlgoED25519)
	return appendString(b, string(pub))
}

// signSSHSIG signs message under namespace with s, which must hold an
// ed25519 key, and returns the binary SSHSIG blob.
func signSSHSIG(s ssh.Signer, namespace string, message []byte) ([]byte, error) {
	pub, err := ed25519Public(s.PublicKey())
	if err != nil {
		return nil, err
	}
	sig, err := s.Sign(rand.Reader, signedData(namespace, message))
	if err != nil {
		return nil, fmt.Errorf("failed to sign: %w", err)
	}
	if sig.Format != ssh.KeyAlgoED25519 || len(sig.Blob) != ed25519.SignatureSize {
		return nil, fmt.Errorf("signer returned a %q signature, want ssh-ed25519", sig.Format)
	}
	b := make([]byte, 0, 160)
	b = append(b, sigMagic...)
	b = binary.BigEndian.AppendUint32(b, sigVersion)
	b = appendString(b, string(ed25519KeyBlob(pub)))
	b = appendString(b, namespace)
	b = appendString(b, "")
	b = appendString(b, sigHash)
	sb := appendString(nil, ssh.KeyAlgoED25519)
	sb = appendString(sb, string(sig.Blob))
	b = appendString(b, string(sb))
	return b, nil
}

// ed25519Public returns the ed25519 key inside an SSH public key. It reads
// the wire form, so it works for keys from files and from ssh-agent alike.
func ed25519Public(k ssh.PublicKey) (ed25519.PublicKey, error) {
	if k.Type() != ssh.KeyAlgoED25519 {
		return nil, fmt.Errorf("key type %s is not supported: signoff signs with ed25519 keys only", k.Type())
	}
	r := wireReader{b: k.Marshal()}
	algo, pub := r.string(), r.string()
	if r.err || len(r.b) != 0 || string(algo) != ssh.KeyAlgoED25519 || len(pub) != ed25519.PublicKeySize {
		return nil, errors.New("malformed ed25519 public key")
	}
	return ed25519.PublicKey(bytes.Clone(pub)), nil
}

// ParseSignature parses a binary SSHSIG blob. It accepts only what signoff
// writes: version 1, an ssh-ed25519 key and signature, an empty reserved
// field, the sha512 hash and no trailing bytes.
func ParseSignature(blob []byte) (*Signature, error) {
	if len(blob) > maxSignatureBlob {
		return nil, fmt.Errorf("signature is %d bytes, more than %d", len(blob), maxSignatureBlob)
	}
	r := wireReader{b: blob}
	if string(r.bytes(len(sigMagic))) != sigMagic {
		return nil, errors.New("signature does not start with SSHSIG")
	}
	if v := r.uint32(); v != sigVersion {
		return nil, fmt.Errorf("signature version %d, want %d", v, sigVersion)
	}
	key := wireReader{b: r.string()}
	if string(key.string()) != ssh.KeyAlgoED25519 {
		return nil, errors.New("signature key is not ssh-ed25519")
	}
	pub := key.string()
	if len(pub) != ed25519.PublicKeySize || key.err || len(key.b) != 0 {
		return nil, errors.New("malformed ed25519 public key in signature")
	}
	ns := r.string()
	if reserved := r.string(); len(reserved) != 0 {
		return nil, errors.New("signature reserved field is not empty")
	}
	if string(r.string()) != sigHash {
		return nil, errors.New("signature hash algorithm is not sha512")
	}
	sig := wireReader{b: r.string()}
	if string(sig.string()) != ssh.KeyAlgoED25519 {
		return nil, errors.New("signature format is not ssh-ed25519")
	}
	raw := sig.string()
	if len(raw) != ed25519.SignatureSize || sig.err || len(sig.b) != 0 {
		return nil, errors.New("malformed ed25519 signature")
	}
	if r.err {
		return nil, errors.New("truncated signature")
	}
	if len(r.b) != 0 {
		return nil, errors.New("trailing bytes after signature")
	}
	return &Signature{
		PublicKey: ed25519.PublicKey(bytes.Clone(pub)),
		Namespace: string(ns),
		Sig:       bytes.Clone(raw),
	}, nil
}

// Verify checks s over message in namespace.
func (s *Signature) Verify(namespace string, message []byte) error {
	if s.Namespace != namespace {
		return fmt.Errorf("signature namespace %q, want %q", s.Namespace, namespace)
	}
	if !ed25519.Verify(s.PublicKey, signedData(namespace, message), s.Sig) {
		return ErrBadSignature
	}
	return nil
}

// Armor encodes a binary SSHSIG blob in the armored form ssh-keygen reads.
func Armor(blob []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(blob)
	var b strings.Builder
	b.WriteString(armorBegin + "\n")
	for len(enc) > 70 {
		b.WriteString(enc[:70] + "\n")
		enc = enc[70:]
	}
	b.WriteString(enc + "\n" + armorEnd + "\n")
	return []byte(b.String())
}

// Unarmor decodes an armored SSH signature into its binary blob.
func Unarmor(armored []byte) ([]byte, error) {
	s := strings.TrimSpace(string(armored))
	if !strings.HasPrefix(s, armorBegin) || !strings.HasSuffix(s, armorEnd) {
		return nil, errors.New("not an armored SSH signature")
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, armorBegin), armorEnd)
	s = strings.Join(strings.Fields(s), "")
	blob, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("armored SSH signature: %w", err)
	}
	return blob, nil
}

// wireReader reads SSH wire-format fields, remembering the first overrun.
type wireReader struct {
	b   []byte
	err bool
}

func (r *wireReader) bytes(n int) []byte {
	if r.err || n < 0 || len(r.b) < n {
		r.err = true
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *wireReader) uint32() uint32 {
	b := r.bytes(4)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

func (r *wireReader) string() []byte {
	n := r.uint32()
	if r.err || uint64(n) > uint64(len(r.b)) {
		r.err = true
		return nil
	}
	return r.bytes(int(n))
}
