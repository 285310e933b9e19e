package ledger

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// Seed files, in testdata:
//
//   - export.jsonl: an export of entries signed by fixed keys, written by
//     go test -run TestSeedExport -update-seeds. It seeds the fuzzers and
//     must keep importing and verifying: entries signed by an earlier build
//     stay valid.
//   - sshkeygen/: a payload signed with stock `ssh-keygen -Y sign -n
//     signoff.entry.v1` and the public key, for OpenSSH compatibility.
//
// Inputs the fuzzers find that fail are written by go test to
// testdata/fuzz/FuzzX/ and then run as regression tests.

var updateSeeds = flag.Bool("update-seeds", false, "rewrite testdata/export.jsonl")

const seedExport = "testdata/export.jsonl"

// fixedSigner returns a signer whose key is derived from name, so that its
// signatures (ed25519 is deterministic) are the same on every run.
func fixedSigner(t testing.TB, name, identity string) Signer {
	t.Helper()
	seed := sha256.Sum256([]byte("signoff fuzz seed " + name))
	s, err := ssh.NewSignerFromKey(ed25519.NewKeyFromSeed(seed[:]))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := NewSigner(s, identity)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// TestSeedExport checks that the committed seed export imports into a
// fresh ledger, verifies and exports to the same bytes. With
// -update-seeds it first rewrites the file.
func TestSeedExport(t *testing.T) {
	if *updateSeeds {
		l := openTest(t)
		alice := fixedSigner(t, "alice", "alice@example.com")
		bob := fixedSigner(t, "bob", "bob+risk@example.org")
		anon := fixedSigner(t, "anon", "")
		appends := []struct {
			s    Signer
			kind string
			body string
		}{
			{alice, "comment", `{"text":"first"}`},
			{bob, "request", `{"subject":{"model":"churn","version":"1.4.0","bundle":"sha256:0000000000000000000000000000000000000000000000000000000000000000"},"evidence":[]}`},
			{anon, "comment", `{}`},
			{alice, "decision", `{"verdict":"approve","role":"risk","reason":"Grüße, 你好 \u2028 \"quoted\"\n","ticket":"RISK-1"}`},
			{bob, "comment", `{"text":"nested","n":[1,2.5,-3e10,true,false,null,{"a":{"b":[]}}]}`},
			{anon, "incident-review", `{"text":"` + strings.Repeat("long ", 200) + `"}`},
			{alice, "comment", `{"text":"third"}`},
			{alice, "comment", `{"text":"fourth"}`},
			{bob, "restrict", `{"reason":"drift"}`},
			{anon, "comment", `{"a":1}`},
		}
		for i, a := range appends {
			now := t0.Add(time.Duration(i)*time.Minute + time.Duration(i*123456789))
			if _, err := l.Append(a.s, a.kind, []byte(a.body), now); err != nil {
				t.Fatal(err)
			}
		}
		var buf bytes.Buffer
		if _, err := l.Export(&buf); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(seedExport, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(seedExport)
	if err != nil {
		t.Fatal(err)
	}
	l := openTest(t)
	res, err := l.Import(bytes.NewReader(data), ImportOptions{})
	if err != nil || res.Added != bytes.Count(data, []byte("\n")) {
		t.Fatalf("Import of %s = %+v, %v", seedExport, res, err)
	}
	if r := mustVerify(t, l, true); !r.OK() || len(r.Feeds) != 3 {
		t.Fatalf("Verify of %s: %+v", seedExport, r)
	}
	var buf bytes.Buffer
	l.Export(&buf)
	sorted := func(b []byte) []byte {
		lines := bytes.SplitAfter(b, []byte("\n"))
		slices.SortFunc(lines, bytes.Compare)
		return bytes.Join(lines, nil)
	}
	if !bytes.Equal(sorted(buf.Bytes()), sorted(data)) {
		t.Fatalf("re-export of %s holds other lines", seedExport)
	}
}

// sshKeygenSeed returns the payload and armored signature made by ssh-keygen.
func sshKeygenSeed(t testing.TB) (payload, armored []byte, pub ssh.PublicKey) {
	t.Helper()
	dir := filepath.Join("testdata", "sshkeygen")
	payload, err := os.ReadFile(filepath.Join(dir, "entry.payload"))
	if err != nil {
		t.Fatal(err)
	}
	armored, err = os.ReadFile(filepath.Join(dir, "entry.payload.sig"))
	if err != nil {
		t.Fatal(err)
	}
	pub, _, err = ReadPublicKeyFile(filepath.Join(dir, "id_ed25519.pub"))
	if err != nil {
		t.Fatal(err)
	}
	return payload, armored, pub
}

// TestSSHKeygenSignature checks that a signature made by stock ssh-keygen
// over a payload is a valid entry, and that its blob is in the one form
// signoff writes.
func TestSSHKeygenSignature(t *testing.T) {
	payload, armored, pub := sshKeygenSeed(t)
	blob, err := Unarmor(armored)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(Armor(blob), armored) {
		t.Errorf("Armor does not reproduce ssh-keygen's armor:\n%s\nwant\n%s", Armor(blob), armored)
	}
	sig, err := ParseSignature(blob)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(encodeSSHSIG(sig), blob) {
		t.Fatal("ssh-keygen's blob does not re-encode to itself")
	}
	e, err := ParseEntry(payload, blob)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Verify(); err != nil {
		t.Fatalf("entry signed by ssh-keygen: %v", err)
	}
	if e.Feed != FeedOf(pub.Marshal()) || e.Feed.String() != ssh.FingerprintSHA256(pub) {
		t.Fatalf("feed %s, key %s", e.Feed, ssh.FingerprintSHA256(pub))
	}
	if err := flippedPayload(e, 3).Verify(); err == nil {
		t.Fatal("a tampered ssh-keygen entry verifies")
	}
}

func flippedPayload(e *Entry, i int) *Entry {
	c := *e
	c.Payload = flipByte(e.Payload, i)
	return &c
}

// TestParseLineRejectsTrailingData: a line is one envelope and nothing
// after it.
func TestParseLineRejectsTrailingData(t *testing.T) {
	e := seedEntries(t)[0]
	line := e.MarshalLine()
	if _, err := ParseLine(line); err != nil {
		t.Fatal(err)
	}
	var accepted []string
	for _, suffix := range []string{" x", "{}", "}", "]", "}}", "]]]", "} garbage"} {
		if _, err := ParseLine(append(bytes.Clone(line), suffix...)); err == nil {
			accepted = append(accepted, suffix)
		}
	}
	if len(accepted) > 0 {
		t.Errorf("BUG: ParseLine accepts an envelope followed by %q: json.Decoder.More reports "+
			"false when the next byte is '}' or ']', so the \"data after the envelope\" check lets them through", accepted)
	}
}

// encodeSSHSIG writes s as signoff writes a signature blob.
func encodeSSHSIG(s *Signature) []byte {
	b := []byte(sigMagic)
	b = binary.BigEndian.AppendUint32(b, sigVersion)
	b = appendString(b, string(ed25519KeyBlob(s.PublicKey)))
	b = appendString(b, s.Namespace)
	b = appendString(b, "")
	b = appendString(b, sigHash)
	sb := appendString(nil, ssh.KeyAlgoED25519)
	sb = appendString(sb, string(s.Sig))
	return appendString(b, string(sb))
}

// seedEntries returns the entries of the seed export and the one signed by
// ssh-keygen.
func seedEntries(t testing.TB) []*Entry {
	t.Helper()
	data, err := os.ReadFile(seedExport)
	if err != nil {
		t.Fatal(err)
	}
	var es []*Entry
	for line := range bytes.Lines(data) {
		e, err := ParseLine(bytes.TrimSpace(line))
		if err != nil {
			t.Fatalf("%s: %v", seedExport, err)
		}
		es = append(es, e)
	}
	payload, armored, _ := sshKeygenSeed(t)
	blob, err := Unarmor(armored)
	if err != nil {
		t.Fatal(err)
	}
	e, err := ParseEntry(payload, blob)
	if err != nil {
		t.Fatal(err)
	}
	return append(es, e)
}

func seedB64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func FuzzParseLine(f *testing.F) {
	es := seedEntries(f)
	for _, e := range es {
		f.Add(e.MarshalLine())
	}
	f.Add(seedSubjectEntry(f).MarshalLine())
	e := es[1]
	p, s := seedB64(e.Payload), seedB64(e.Signature)
	for _, line := range []string{
		``, `{}`, `null`, `[]`, `"x"`,
		`{"payload":"","signature":""}`,
		`{"payload":"` + p + `"}`,
		`{"payload":"` + p + `","signature":"` + s + `","extra":1}`,
		`{"signature":"` + s + `","payload":"` + p + `"}`,
		`{"PAYLOAD":"` + p + `","Signature":"` + s + `"}`,
		`{"payload":"` + p + `","payload":"` + seedB64(es[0].Payload) + `","signature":"` + s + `"}`,
		`{"payload":"` + p[:20] + `\n` + p[20:] + `","signature":"` + s + `"}`,
		`{"payload":"` + p + `","signature":"` + s + `"}}`,
		`{"payload":"` + p + `","signature":"` + s + `"} {}`,
		`{"payload":"` + p[:len(p)-4] + `","signature":"` + s + `"}`,
		`{"payload":"` + strings.TrimRight(p, "=") + `","signature":"` + s + `"}`,
		`{"payload":"` + seedB64(flipByte(e.Payload, 40)) + `","signature":"` + s + `"}`,
		`{"payload":"` + p + `","signature":"` + seedB64(flipByte(e.Signature, 100)) + `"}`,
		`{"payload":"` + p + `","signature":"` + seedB64(es[0].Signature) + `"}`,
		`{"payload":"` + p + `","signature":"` + seedB64(Armor(e.Signature)) + `"}`,
		"{\"payload\":\"" + p + "\",\"signature\":\"\xff\"}",
	} {
		f.Add([]byte(line))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		e, err := ParseLine(line)
		if err != nil {
			return
		}
		if !json.Valid(line) {
			t.Fatalf("BUG: ParseLine accepts %q, which is not one JSON value (see TestParseLineRejectsTrailingData)", line)
		}
		checkParsedEntry(t, e)
		m := e.MarshalLine()
		e2, err := ParseLine(m)
		if err != nil {
			t.Fatalf("MarshalLine of a parsed line does not parse: %v\n%s", err, m)
		}
		if !bytes.Equal(e2.Payload, e.Payload) || !bytes.Equal(e2.Signature, e.Signature) || e2.ID != e.ID {
			t.Fatalf("MarshalLine round trip changed the entry:\n%q\n%q", line, m)
		}
		if !sameHeader(&e.Header, &e2.Header) {
			t.Fatalf("MarshalLine round trip changed the header: %+v, %+v", e.Header, e2.Header)
		}
		if m2 := e2.MarshalLine(); !bytes.Equal(m, m2) {
			t.Fatalf("MarshalLine is not stable: %s, %s", m, m2)
		}
	})
}

// checkParsedEntry checks what holds of every entry that parses, and of
// every one that verifies.
func checkParsedEntry(t *testing.T, e *Entry) {
	t.Helper()
	if e.ID != sha256.Sum256(e.Payload) {
		t.Fatalf("id %s is not the payload's hash", e.ID)
	}
	if out := appendPayload(nil, &e.Header); !bytes.Equal(out, e.Payload) {
		t.Fatalf("header re-encodes to\n%q\nnot\n%q", out, e.Payload)
	}
	if err := e.Verify(); err != nil {
		return
	}
	key, err := e.PublicKey()
	if err != nil {
		t.Fatalf("entry verifies but has no key: %v", err)
	}
	if FeedOf(key) != e.Feed {
		t.Fatalf("entry verifies, but its feed %s is not its key's %s", e.Feed, FeedOf(key))
	}
	sig, err := ParseSignature(e.Signature)
	if err != nil || sig.Namespace != Namespace {
		t.Fatalf("entry verifies with signature %+v, %v", sig, err)
	}
}

func sameHeader(a, b *Header) bool {
	return a.Kind == b.Kind && a.Feed == b.Feed && a.Seq == b.Seq && a.Prev == b.Prev &&
		a.Time.Equal(b.Time) && a.Identity == b.Identity && a.Subject == b.Subject && bytes.Equal(a.Body, b.Body)
}

// seedSubjectEntry returns an entry about a subject, signed by a fixed
// key: the seed export predates the subject field.
func seedSubjectEntry(t testing.TB) *Entry {
	t.Helper()
	e, err := SignEntry(fixedSigner(t, "alice", "alice@example.com"), Header{
		Kind: "decision", Seq: 1, Time: t0, Subject: BlobDigest([]byte("seed bundle")),
		Body: []byte(`{"verdict":"approve","role":"risk","reason":"ok"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func FuzzParsePayload(f *testing.F) {
	es := seedEntries(f)
	for _, e := range es {
		f.Add(e.Payload)
	}
	p := string(es[1].Payload) // seq 1, with identity
	q := string(es[3].Payload) // seq 2
	sp := string(seedSubjectEntry(f).Payload)
	subj := `,"subject":"` + BlobDigest([]byte("seed bundle")) + `"`
	for _, s := range []string{
		``, `{}`, `{"v":1}`,
		strings.Replace(p, `"v":1`, `"v":2`, 1),
		strings.Replace(p, `"v":1`, `"v":01`, 1),
		strings.Replace(p, `,"kind"`, ` ,"kind"`, 1),
		strings.Replace(p, `"kind":"request"`, `"kind":"Request"`, 1),
		strings.Replace(p, `"kind":"request"`, `"kind":"req\u0075est"`, 1),
		strings.Replace(p, `"seq":1`, `"seq":0`, 1),
		strings.Replace(p, `"seq":1`, `"seq":9007199254740992`, 1),
		strings.Replace(p, `"seq":1`, `"seq":2`, 1),
		strings.Replace(q, `"seq":2`, `"seq":1`, 1),
		strings.Replace(q, `"prev":"sha256:`, `"prev":"SHA256:`, 1),
		strings.Replace(p, `Z"`, `+00:00"`, 1),
		strings.Replace(p, `Z"`, `.000Z"`, 1),
		strings.Replace(p, `,"identity":"bob+risk@example.org"`, ``, 1),
		strings.Replace(p, `"identity":"bob+risk@example.org"`, `"identity":""`, 1),
		strings.Replace(p, `"body":{`, `"body":[{`, 1),
		strings.Replace(p, `"body":{`, `"body": {`, 1),
		strings.TrimSuffix(p, "}") + " }",
		strings.TrimSuffix(p, "}") + "}}",
		p + "\n",
		`{"v":1,"kind":"comment","feed":"SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","seq":1,"prev":"","time":"1970-01-01T00:00:00Z","body":{}}`,
		`{"v":1,"kind":"comment","feed":"SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB","seq":1,"prev":"","time":"1970-01-01T00:00:00Z","body":{}}`,
		`{"v":1,"kind":"comment","feed":"SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","seq":1,"prev":"","time":"2200-12-31T23:59:59.999999999Z","body":{}}`,
		// The subject field: after the identity, or the time if none.
		sp,
		strings.Replace(p, `,"body":`, subj+`,"body":`, 1),
		strings.Replace(q, `,"body":`, `,"subject":"model-a.v2_x:1","body":`, 1),
		`{"v":1,"kind":"comment","feed":"SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","seq":1,"prev":"","time":"1970-01-01T00:00:00Z","subject":"a","body":{}}`,
		`{"v":1,"kind":"comment","feed":"SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","seq":1,"prev":"","time":"1970-01-01T00:00:00Z","subject":"` + strings.Repeat("z", 128) + `","body":{}}`,
		`{"v":1,"kind":"comment","feed":"SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","seq":1,"prev":"","time":"1970-01-01T00:00:00Z","subject":"` + strings.Repeat("z", 129) + `","body":{}}`,
		strings.Replace(sp, subj, `,"subject":""`, 1),
		strings.Replace(sp, subj, strings.ToUpper(subj), 1),
		strings.Replace(sp, subj, `,"subject":"model a"`, 1),
		strings.Replace(sp, subj, subj+subj, 1),
		strings.Replace(strings.Replace(sp, subj, "", 1), `,"identity"`, subj+`,"identity"`, 1),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		h, err := ParsePayload(p)
		if err != nil {
			return
		}
		if out := appendPayload(nil, h); !bytes.Equal(out, p) {
			t.Fatalf("payload re-encodes to\n%q\nnot\n%q", out, p)
		}
		if err := checkHeader(h); err != nil {
			t.Fatalf("parsed header fails checkHeader: %v", err)
		}
		h2, err := ParsePayload(appendPayload(nil, h))
		if err != nil || !sameHeader(h, h2) {
			t.Fatalf("re-encoded payload parses to %+v, %v", h2, err)
		}
		if h.Time.Location() != time.UTC {
			t.Fatalf("time %v is not in UTC", h.Time)
		}
	})
}

func FuzzParseSignature(f *testing.F) {
	es := seedEntries(f)
	for _, e := range es {
		f.Add(e.Signature)
		f.Add(Armor(e.Signature))
	}
	_, armored, _ := sshKeygenSeed(f)
	blob := es[0].Signature
	for _, s := range [][]byte{
		armored,
		bytes.ReplaceAll(armored, []byte("\n"), []byte("\r\n")),
		bytes.ReplaceAll(bytes.TrimSpace(armored), []byte("\n"), nil),
		[]byte(armorBegin + armorEnd),
		[]byte(armorBegin + "\n" + armorEnd),
		nil,
		[]byte(sigMagic),
		blob[:len(blob)-1],
		append(bytes.Clone(blob), 0),
		flipByte(blob, 9),  // version
		flipByte(blob, 13), // key blob length
		flipByte(blob, 88), // reserved tamperField length
		flipByte(blob, 96), // hash name
		bytes.Repeat([]byte{0xff}, 200),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, err := Unarmor(Armor(data)); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("Unarmor(Armor(x)) = %x, %v; want x = %x", got, err, data)
		}
		checkSignatureBlob(t, data)
		if blob, err := Unarmor(data); err == nil {
			if again, err := Unarmor(Armor(blob)); err != nil || !bytes.Equal(again, blob) {
				t.Fatalf("re-armored blob does not unarmor to itself: %v", err)
			}
			checkSignatureBlob(t, blob)
		}
	})
}

// checkSignatureBlob checks that a blob that parses re-encodes to itself
// and that checking it does not panic.
func checkSignatureBlob(t *testing.T, blob []byte) {
	t.Helper()
	sig, err := ParseSignature(blob)
	if err != nil {
		return
	}
	if len(sig.PublicKey) != ed25519.PublicKeySize || len(sig.Sig) != ed25519.SignatureSize {
		t.Fatalf("parsed key %d bytes, signature %d bytes", len(sig.PublicKey), len(sig.Sig))
	}
	if out := encodeSSHSIG(sig); !bytes.Equal(out, blob) {
		t.Fatalf("signature re-encodes to\n%x\nnot\n%x", out, blob)
	}
	msg := []byte(`{"v":1}`)
	if sig.Verify(Namespace, msg) == nil {
		t.Fatalf("a fuzzed signature verifies over %q", msg)
	}
	sig.Verify(sig.Namespace, blob)
	// The same blob as an entry's signature: a payload signed by a key
	// other than the feed's never verifies.
	e := &Entry{Header: Header{Feed: FeedOf(ed25519KeyBlob(sig.PublicKey))}, Payload: msg, Signature: blob}
	if e.Verify() == nil {
		t.Fatalf("a fuzzed signature verifies as an entry")
	}
	e.Feed[0] ^= 1
	if err := e.Verify(); err == nil || !strings.Contains(err.Error(), "key other than the feed's") {
		t.Fatalf("signature by another key: %v", err)
	}
}
