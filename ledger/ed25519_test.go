package ledger

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"testing"
)

// edgeKeys are public keys the standard library treats specially: small
// order points, a non-canonical encoding, the identity, bytes that do not
// decode.
var edgeKeys = []string{
	"0000000000000000000000000000000000000000000000000000000000000000",
	"0100000000000000000000000000000000000000000000000000000000000000", // identity
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // -1 (order 2)
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // non-canonical
	"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	"0200000000000000000000000000000000000000000000000000000000000000", // not on the curve
}

// stdlibAgrees checks that a decodedKey decides as crypto/ed25519 does,
// both before and after the key has its table of multiples.
func stdlibAgrees(t *testing.T, pub ed25519.PublicKey, msg, sig []byte) {
	t.Helper()
	want := ed25519.Verify(pub, msg, sig)
	k := newDecodedKey(pub)
	if got := k.verify(msg, sig); got != want {
		t.Fatalf("decodedKey.verify = %v, crypto/ed25519.Verify = %v\npub %x\nmsg %x\nsig %x", got, want, pub, msg, sig)
	}
	if !k.valid {
		return
	}
	k.table = newNielsTable(&k.minusA)
	if got := k.verify(msg, sig); got != want {
		t.Fatalf("decodedKey.verify with table = %v, crypto/ed25519.Verify = %v\npub %x\nmsg %x\nsig %x", got, want, pub, msg, sig)
	}
}

// TestDecodedKeyMatchesStdlib checks the cached-key verifier against
// crypto/ed25519 on valid signatures, every single-bit change of them, the
// S+L malleation, and edge-case keys and signatures.
func TestDecodedKeyMatchesStdlib(t *testing.T) {
	rounds := 20
	if ciRace() {
		rounds = 5 // pure arithmetic: the race detector only slows it
	}
	for range rounds {
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		msg := make([]byte, 108)
		rand.Read(msg)
		sig := ed25519.Sign(priv, msg)
		stdlibAgrees(t, pub, msg, sig)
		for bit := range 8 * len(sig) {
			bad := append([]byte(nil), sig...)
			bad[bit/8] ^= 1 << (bit % 8)
			stdlibAgrees(t, pub, msg, bad)
		}
		for bit := range 8 * len(pub) {
			bad := append(ed25519.PublicKey(nil), pub...)
			bad[bit/8] ^= 1 << (bit % 8)
			stdlibAgrees(t, bad, msg, sig)
		}
		stdlibAgrees(t, pub, msg[:len(msg)-1], sig)
		stdlibAgrees(t, pub, msg, sig[:63])
		// S + L: the same signature with a non-canonical scalar.
		l, _ := hex.DecodeString("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
		mall := append([]byte(nil), sig...)
		var carry uint16
		for i := range 32 {
			v := uint16(mall[32+i]) + uint16(l[i]) + carry
			mall[32+i], carry = byte(v), v>>8
		}
		stdlibAgrees(t, pub, msg, mall)
	}
	for _, h := range edgeKeys {
		pub, _ := hex.DecodeString(h)
		sig := make([]byte, 64)
		stdlibAgrees(t, pub, []byte("m"), sig)
		copy(sig, pub) // R = A
		stdlibAgrees(t, pub, []byte("m"), sig)
	}
}

func FuzzDecodedKey(f *testing.F) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	msg := []byte("signoff")
	f.Add([]byte(pub), msg, ed25519.Sign(priv, msg))
	for _, h := range edgeKeys {
		k, _ := hex.DecodeString(h)
		f.Add(k, msg, make([]byte, 64))
	}
	f.Fuzz(func(t *testing.T, pub, msg, sig []byte) {
		if len(pub) != ed25519.PublicKeySize {
			return // crypto/ed25519 panics on other lengths
		}
		stdlibAgrees(t, pub, msg, sig)
	})
}
