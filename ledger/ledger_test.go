package ledger

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"runtime/debug"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// testSigner returns an in-memory ed25519 signer claiming identity.
func testSigner(t testing.TB, identity string) Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := NewSigner(s, identity)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func openTest(t testing.TB) *Ledger {
	t.Helper()
	l, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

var t0 = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

func comment(i int) []byte { return []byte(fmt.Sprintf(`{"text":"comment %d"}`, i)) }

func mustVerify(t testing.TB, l *Ledger, full bool) *Report {
	t.Helper()
	r, err := l.Verify(context.Background(), VerifyOptions{Full: full})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAppendVerifyExportImport(t *testing.T) {
	l := openTest(t)
	alice, bob := testSigner(t, "alice@example.com"), testSigner(t, "bob@example.com")
	var last *Entry
	for i := range 10 {
		s := alice
		if i%3 == 0 {
			s = bob
		}
		e, err := l.Append(s, "comment", comment(i), t0.Add(time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		last = e
	}
	if last.Seq != 4 || last.Identity != "bob@example.com" {
		t.Fatalf("last entry seq %d identity %q, want 4 bob", last.Seq, last.Identity)
	}
	got, err := l.Get(last.ID)
	if err != nil || !bytes.Equal(got.Payload, last.Payload) {
		t.Fatalf("Get = %v, %v", got, err)
	}
	r := mustVerify(t, l, false)
	if !r.OK() || r.Checked != 10 || len(r.Feeds) != 2 || !r.CheckpointWritten {
		t.Fatalf("verify: %+v", r)
	}
	r = mustVerify(t, l, false)
	if !r.OK() || r.Checked != 0 || r.Skipped != 10 {
		t.Fatalf("second verify should use the checkpoint: %+v", r)
	}
	if _, err := l.Append(bob, "comment", comment(99), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	r = mustVerify(t, l, false)
	if !r.OK() || r.Checked != 1 || r.Skipped != 10 {
		t.Fatalf("verify after one append: %+v", r)
	}

	var buf bytes.Buffer
	n, err := l.Export(&buf)
	if err != nil || n != 11 {
		t.Fatalf("Export = %d, %v", n, err)
	}
	l2 := openTest(t)
	res, err := l2.Import(bytes.NewReader(buf.Bytes()), ImportOptions{})
	if err != nil || res.Added != 11 {
		t.Fatalf("Import = %+v, %v", res, err)
	}
	res, err = l2.Import(bytes.NewReader(buf.Bytes()), ImportOptions{})
	if err != nil || res.Added != 0 || res.Present != 11 {
		t.Fatalf("second Import = %+v, %v", res, err)
	}
	if r := mustVerify(t, l2, true); !r.OK() || r.Checked != 11 {
		t.Fatalf("verify imported: %+v", r)
	}
	var buf2 bytes.Buffer
	l2.Export(&buf2)
	if !bytes.Equal(buf.Bytes(), buf2.Bytes()) {
		t.Fatal("export of the imported ledger differs")
	}
	var kinds []string
	l2.Entries(Query{}, func(e *Entry) error { kinds = append(kinds, e.Time.Format("15:04")); return nil })
	if len(kinds) != 11 || kinds[0] != "10:00" {
		t.Fatalf("entries newest first: %v", kinds)
	}
}

func TestSecondOpenIsLocked(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = Open(dir)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	t.Log(err)
}

// ciRace reports whether the test binary was built with -race.
func ciRace() bool {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" {
				return s.Value == "true"
			}
		}
	}
	return false
}
