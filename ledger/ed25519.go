package ledger

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha512"
	"sync"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// decodedKey is an ed25519 public key prepared for checking many
// signatures: decoded once, and after a few signatures given a table of
// multiples so that each check costs about half of crypto/ed25519.Verify.
//
// verify decides exactly as crypto/ed25519.Verify (and OpenSSH) do: the
// cofactorless equation R = [S]B - [k]A with S canonical and R compared as
// bytes. Only the way the right side is computed differs: crypto/ed25519
// spends about 253 point doublings on it per signature; with a table of
// (m+1)·256^j·(-A) for the key, as ref10 keeps for B, it takes 64 table
// additions. TestDecodedKeyMatchesStdlib and FuzzDecodedKey check the two
// agree on every input.
type decodedKey struct {
	pub    [ed25519.PublicKeySize]byte
	minusA edwards25519.Point
	valid  bool // pub decodes to a point
	uses   int
	table  *nielsTable // built once the key has signed tableAfter entries
}

// tableAfter is how many signatures a key checks before it gets a table:
// building one costs about three verifications.
const tableAfter = 8

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

// verify reports whether sig is a valid ed25519 signature of message. A
// decodedKey is not safe for concurrent use.
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
	if k.uses++; k.uses > tableAfter && k.table == nil {
		k.table = newNielsTable(&k.minusA)
	}
	if k.table == nil {
		r.VarTimeDoubleScalarBaseMult(kScalar, &k.minusA, s)
	} else if !doubleFixedBaseMult(&r, s, baseTable(), kScalar, k.table) {
		return false
	}
	return bytes.Equal(sig[:32], r.Bytes())
}

// nielsPoint is a point in affine Niels form (y+x, y-x, 2dxy), ready to be
// added to an extended point.
type nielsPoint struct{ yPlusX, yMinusX, xy2d field.Element }

// nielsTable holds (m+1)·256^j·P for j < 32, m < 8.
type nielsTable [32][8]nielsPoint

var (
	d2 = func() *field.Element { // 2d, d = -121665/121666
		var num, den, d field.Element
		num.SetBytes(le32(121665))
		den.SetBytes(le32(121666))
		d.Multiply(num.Negate(&num), den.Invert(&den))
		return d.Add(&d, &d)
	}()
	baseTable = sync.OnceValue(func() *nielsTable { return newNielsTable(edwards25519.NewGeneratorPoint()) })
)

func le32(v uint32) []byte {
	b := make([]byte, 32)
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	return b
}

// newNielsTable computes the table of p, converting all 256 points to
// affine form with one inversion.
func newNielsTable(p *edwards25519.Point) *nielsTable {
	var pts [256]edwards25519.Point
	base := new(edwards25519.Point).Set(p)
	for j := range 32 {
		pts[8*j].Set(base)
		for m := 1; m < 8; m++ {
			pts[8*j+m].Add(&pts[8*j+m-1], base)
		}
		for range 8 {
			base.Add(base, base)
		}
	}
	// Batch inversion: prefix products, one inversion, then back.
	var xs, ys, zs, prefix [256]field.Element
	for i := range pts {
		x, y, z, _ := pts[i].ExtendedCoordinates()
		xs[i], ys[i], zs[i] = *x, *y, *z
		if i == 0 {
			prefix[0] = zs[0]
		} else {
			prefix[i].Multiply(&prefix[i-1], &zs[i])
		}
	}
	var inv field.Element
	inv.Invert(&prefix[255])
	t := new(nielsTable)
	for i := 255; i >= 0; i-- {
		var zinv, x, y field.Element
		if i == 0 {
			zinv = inv
		} else {
			zinv.Multiply(&inv, &prefix[i-1])
			inv.Multiply(&inv, &zs[i])
		}
		x.Multiply(&xs[i], &zinv)
		y.Multiply(&ys[i], &zinv)
		n := &t[i/8][i%8]
		n.yPlusX.Add(&y, &x)
		n.yMinusX.Subtract(&y, &x)
		n.xy2d.Multiply(&x, &y)
		n.xy2d.Multiply(&n.xy2d, d2)
	}
	return t
}

// extPoint is a point in extended coordinates: x = X/Z, y = Y/Z, xy = T/Z.
type extPoint struct{ X, Y, Z, T field.Element }

// add sets p to p + q, or p - q if neg (ref10's ge_madd and ge_msub, then
// back to extended coordinates).
func (p *extPoint) add(q *nielsPoint, neg bool) {
	var ypx, ymx, pp, mm, tt, zz, x3, y3, z3, t3 field.Element
	ypx.Add(&p.Y, &p.X)
	ymx.Subtract(&p.Y, &p.X)
	if neg {
		pp.Multiply(&ypx, &q.yMinusX)
		mm.Multiply(&ymx, &q.yPlusX)
	} else {
		pp.Multiply(&ypx, &q.yPlusX)
		mm.Multiply(&ymx, &q.yMinusX)
	}
	tt.Multiply(&p.T, &q.xy2d)
	zz.Add(&p.Z, &p.Z)
	x3.Subtract(&pp, &mm)
	y3.Add(&pp, &mm)
	if neg {
		z3.Subtract(&zz, &tt)
		t3.Add(&zz, &tt)
	} else {
		z3.Add(&zz, &tt)
		t3.Subtract(&zz, &tt)
	}
	p.X.Multiply(&x3, &t3)
	p.Y.Multiply(&y3, &z3)
	p.Z.Multiply(&z3, &t3)
	p.T.Multiply(&x3, &y3)
}

// double sets p to 2p (ref10's ge_p2_dbl, then back to extended).
func (p *extPoint) double() {
	var xx, yy, zz2, s, ss, x3, y3, z3, t3 field.Element
	xx.Square(&p.X)
	yy.Square(&p.Y)
	zz2.Square(&p.Z)
	zz2.Add(&zz2, &zz2)
	s.Add(&p.X, &p.Y)
	ss.Square(&s)
	y3.Add(&yy, &xx)
	z3.Subtract(&yy, &xx)
	x3.Subtract(&ss, &y3)
	t3.Subtract(&zz2, &z3)
	p.X.Multiply(&x3, &t3)
	p.Y.Multiply(&y3, &z3)
	p.Z.Multiply(&z3, &t3)
	p.T.Multiply(&x3, &y3)
}

// addDigit adds digit·(entry) from one row of a table, digit in [-8, 8].
func (p *extPoint) addDigit(row *[8]nielsPoint, digit int8) {
	switch {
	case digit > 0:
		p.add(&row[digit-1], false)
	case digit < 0:
		p.add(&row[-digit-1], true)
	}
}

// radix16 writes the signed radix-16 digits of a scalar below 2^255:
// s = sum e[i]·16^i, each e[i] in [-8, 8].
func radix16(e *[64]int8, s []byte) {
	for i := range 32 {
		e[2*i] = int8(s[i] & 15)
		e[2*i+1] = int8(s[i] >> 4)
	}
	var carry int8
	for i := range 63 {
		e[i] += carry
		carry = (e[i] + 8) >> 4
		e[i] -= carry << 4
	}
	e[63] += carry
}

// doubleFixedBaseMult sets r = [a]A + [b]B from the tables of A and B.
func doubleFixedBaseMult(r *edwards25519.Point, a *edwards25519.Scalar, ta *nielsTable, b *edwards25519.Scalar, tb *nielsTable) bool {
	var ea, eb [64]int8
	radix16(&ea, a.Bytes())
	radix16(&eb, b.Bytes())
	var h extPoint
	h.Y.One()
	h.Z.One()
	for i := 1; i < 64; i += 2 {
		h.addDigit(&ta[i/2], ea[i])
		h.addDigit(&tb[i/2], eb[i])
	}
	h.double()
	h.double()
	h.double()
	h.double()
	for i := 0; i < 64; i += 2 {
		h.addDigit(&ta[i/2], ea[i])
		h.addDigit(&tb[i/2], eb[i])
	}
	_, err := r.SetExtendedCoordinates(&h.X, &h.Y, &h.Z, &h.T)
	return err == nil
}
