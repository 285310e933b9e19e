package home

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signoff-dev/signoff/ledger"
)

const digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
const digestB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

func TestOpenNeverCreates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "typo")
	_, err := Open(dir)
	var ie *InputError
	if !errors.Is(err, ErrNoHome) || !errors.As(err, &ie) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "signoff keygen") {
		t.Fatalf("Open of a missing home: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open made %s", dir)
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := Open(file); !errors.Is(err, ErrNoHome) {
		t.Errorf("Open of a file: %v", err)
	}
	h, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err != nil {
		t.Fatalf("Open after Create: %v", err)
	}
	// A home with no ledger: read and write-existing both say so and make
	// nothing.
	for name, open := range map[string]func() (*ledger.Ledger, error){"ReadLedger": h.ReadLedger, "WriteLedger": h.WriteLedger} {
		if _, err := open(); !errors.Is(err, ledger.ErrNoLedger) || !strings.Contains(err.Error(), "signoff sync") {
			t.Errorf("%s with no ledger: %v", name, err)
		}
	}
	if _, err := os.Stat(h.Path(LedgerDir)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a read made the ledger")
	}
	l, err := h.Ledger()
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	l, err = h.ReadLedger()
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
}

func TestPin(t *testing.T) {
	h, _ := Create(t.TempDir())
	if d, err := h.Pin(); d != "" || err != nil {
		t.Fatalf("no pin: %q, %v", d, err)
	}
	if ok, err := h.SetPin("sha256:short"); ok || err == nil {
		t.Errorf("pinned a bad digest: %v, %v", ok, err)
	}
	if ok, err := h.SetPin(digestA); !ok || err != nil {
		t.Fatalf("first pin: %v, %v", ok, err)
	}
	// The one writer never replaces the pin.
	if ok, err := h.SetPin(digestB); ok || err != nil {
		t.Fatalf("second pin: %v, %v", ok, err)
	}
	if d, _ := h.Pin(); d != digestA {
		t.Fatalf("pin %q, want the first, %s", d, digestA)
	}
	if fi, _ := os.Stat(h.Path(RootPin)); fi.Mode().Perm() != 0o600 {
		t.Errorf("root.pin mode %o", fi.Mode().Perm())
	}
	for flag, want := range map[string]string{"": digestA, digestB: digestB} {
		if d, err := h.KnownAnchor(flag); d != want || err != nil {
			t.Errorf("KnownAnchor(%q) = %q, %v; want %q", flag, d, err, want)
		}
	}
	var ie *InputError
	if _, err := h.KnownAnchor("sha256:nope"); !errors.As(err, &ie) {
		t.Errorf("a bad --root: %v", err)
	}
	os.WriteFile(h.Path(RootPin), []byte("garbage\n"), 0o600)
	if _, err := h.Pin(); !errors.Is(err, ErrBadPin) || !errors.As(err, &ie) {
		t.Errorf("a bad pin: %v", err)
	}
}

func TestConfigAndRemotes(t *testing.T) {
	h, _ := Create(t.TempDir())
	if c, err := h.Config(); err != nil || c.Theme != "" {
		t.Fatalf("no config: %+v, %v", c, err)
	}
	os.WriteFile(h.Path(ConfigFile), []byte("theme: dark\n"), 0o600)
	if c, err := h.Config(); err != nil || c.Theme != "dark" {
		t.Errorf("config: %+v, %v", c, err)
	}
	os.WriteFile(h.Path(ConfigFile), []byte("colour: red\n"), 0o600)
	if _, err := h.Config(); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("an unknown setting: %v", err)
	}

	r := Remote{URL: "s3://b/p", Endpoint: "http://127.0.0.1:9000"}
	if err := h.AddRemote("bank", r); err != nil {
		t.Fatal(err)
	}
	if err := h.AddRemote("bank", r); err != nil {
		t.Errorf("the same remote again: %v", err)
	}
	if err := h.AddRemote("bank", Remote{URL: "/elsewhere"}); err == nil || !strings.Contains(err.Error(), "already s3://b/p") {
		t.Errorf("renaming a remote: %v", err)
	}
	if err := h.AddRemote("Bad Name", r); err == nil {
		t.Error("a bad remote name was taken")
	}
	rs, err := h.Remotes()
	if err != nil || rs["bank"] != r || len(rs) != 1 {
		t.Errorf("remotes: %v, %v", rs, err)
	}

	if data, err := h.RemoteState("bank"); data != nil || err != nil {
		t.Errorf("no state yet: %q, %v", data, err)
	}
	if err := h.SaveRemoteState("bank", []byte(`{"last_batch":3}`)); err != nil {
		t.Fatal(err)
	}
	if data, err := h.RemoteState("bank"); string(data) != `{"last_batch":3}` || err != nil {
		t.Errorf("state: %q, %v", data, err)
	}
	if _, err := h.RemoteState("../escape"); err == nil {
		t.Error("a state key outside remotes/ was read")
	}
}

func TestKeys(t *testing.T) {
	h, _ := Create(t.TempDir())
	var ie *InputError
	if _, _, err := h.Signer(Key{}); !errors.Is(err, ErrNoKey) || !errors.As(err, &ie) {
		t.Fatalf("no key: %v", err)
	}
	if _, _, err := h.PublicKey(Key{}); !errors.Is(err, ErrNoKey) {
		t.Fatalf("no public key: %v", err)
	}
	if _, _, err := h.Signer(Key{Fingerprint: "SHA256:x"}); !errors.As(err, &ie) {
		t.Errorf("--fingerprint without --agent: %v", err)
	}
	if _, err := ledger.GenerateKeyFile(h.KeyPath(), "ann@example.com", nil); err != nil {
		t.Fatal(err)
	}
	s, done, err := h.Signer(Key{})
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	pub, id, err := h.PublicKey(Key{})
	if err != nil || id != "ann@example.com" || ledger.FeedOf(pub.Marshal()) != ledger.FeedOf(s.PublicKey().Marshal()) {
		t.Errorf("public key: %v %q %v", pub, id, err)
	}
}
