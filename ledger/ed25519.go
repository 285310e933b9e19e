package ledger

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha512"

	"filippo.io/edwards25519"
)

// decodedKey is an ed25519 public key decoded once, so that checking many
// signatures of one feed does not decompress the same point each time
// (about a tenth of the cost of a verification).
//
// verify is crypto/ed25519.Verify step for step (the cofactorless equation
// [S]B = R + [k]A, canonical S, R compared as bytes), on filippo.io/
// edwards25519, the package the standard library's is copied from. It
// accepts exactly the signatures the standard library and OpenSSH accept;
// TestDecodedKeyMatchesStdlib and FuzzDecodedKey check that.
type decodedKey struct {
	pub    [ed25519.PublicKeySize]byte
	minusA edwards25519.Point
	valid  bool // pub decodes to a point
}

func newDecodedKey(pub ed25519.PublicKey) *decodedKey {
	k := &decodedKey{}
	if len(pub) != ed25519.PublicKeySize {
		return k
	}
	copy(k.pub[:], pub)
	var a edwards25519.Point
	if _, err := a.SetBytes(pub); err != nil {
		return k
	}
	k.minusA.Negate(&a)
	k.valid = true
	return k
}

// verify reports whether sig is a valid ed25519 signature of message.
func (k *decodedKey) verify(message, sig []byte) bool {
	if !k.valid || len(sig) != ed25519.SignatureSize || sig[63]&224 != 0 {
		return false
	}
	h := sha512.New()
	h.Write(sig[:32])
	h.Write(k.pub[:])
	h.Write(message)
	var digest [sha512.Size]byte
	kScalar, err := edwards25519.NewScalar().SetUniformBytes(h.Sum(digest[:0]))
	if err != nil {
		return false
	}
	s, err := edwards25519.NewScalar().SetCanonicalBytes(sig[32:])
	if err != nil {
		return false
	}
	var r edwards25519.Point
	r.VarTimeDoubleScalarBaseMult(kScalar, &k.minusA, s)
	return bytes.Equal(sig[:32], r.Bytes())
}
