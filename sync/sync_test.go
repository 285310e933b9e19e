package sync

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/signoff-dev/signoff/ledger"
)

var t0 = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

// signer is a signer whose key is derived from its identity.
func signer(t testing.TB, id string) ledger.Signer {
	t.Helper()
	sum := sha256.Sum256([]byte(id))
	s, err := ssh.NewSignerFromKey(ed25519.NewKeyFromSeed(sum[:]))
	if err != nil {
		t.Fatal(err)
	}
	ls, err := ledger.NewSigner(s, id)
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

func open(t *testing.T) *ledger.Ledger {
	l, err := ledger.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func count(t *testing.T, l *ledger.Ledger) int {
	n := 0
	if err := l.Entries(ledger.Query{}, func(*ledger.Entry) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDirSync: three homes meet through a directory.
func TestDirSync(t *testing.T) { converge(t, DirStore{Root: t.TempDir()}) }

// converge: three homes meet through remote; each gets every entry and
// blob once; a sync with nothing new costs three requests; an empty home
// pulls everything once.
func converge(t *testing.T, remote Store) {
	ctx := context.Background()
	homes := []*ledger.Ledger{open(t), open(t), open(t)}
	states := make([]State, 3)
	for i, l := range homes {
		s := signer(t, []string{"ann@example.com", "ben@example.com", "cat@example.com"}[i])
		for j := range 5 {
			if _, err := l.Append(s, "comment", []byte(`{"n":1}`), t0.Add(time.Duration(i*10+j)*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
	}
	blob, err := homes[0].PutBlob([]byte("evidence"))
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		for i, l := range homes {
			if _, err := Sync(ctx, l, remote, &states[i]); err != nil {
				t.Fatalf("round %d, home %d: %v", round, i, err)
			}
		}
	}
	for i, l := range homes {
		if n := count(t, l); n != 15 {
			t.Errorf("home %d holds %d entries, want 15", i, n)
		}
		if !l.HasBlob(blob) {
			t.Errorf("home %d lacks the blob", i)
		}
	}
	res, err := Sync(ctx, homes[1], remote, &states[1])
	if err != nil || res.Requests != 3 || res.Pushed != 0 || res.Pulled != 0 {
		t.Errorf("a sync with nothing new: %+v, %v", res, err)
	}
	fresh := open(t)
	var st State
	if res, err := Sync(ctx, fresh, remote, &st); err != nil || res.Pulled != 15 || res.Pushed != 0 || !fresh.HasBlob(blob) {
		t.Errorf("a fresh home: %+v, %v", res, err)
	}
}

// TestRollbackAndTamper: a remote that drops or changes a batch already
// seen is caught, and nothing local changes.
func TestRollbackAndTamper(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	remote := DirStore{Root: root}
	l := open(t)
	if _, err := l.Append(signer(t, "dee@example.com"), "comment", []byte(`{}`), t0); err != nil {
		t.Fatal(err)
	}
	var st State
	if _, err := Sync(ctx, l, remote, &st); err != nil {
		t.Fatal(err)
	}
	batch := filepath.Join(root, "log", "00000000000000000001")
	data, err := os.ReadFile(batch)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(batch)
	os.WriteFile(batch, []byte(strings.Replace(string(data), "a", "b", 1)), 0o644)
	if _, err := Sync(ctx, l, remote, &st); !errors.Is(err, ErrTampered) {
		t.Errorf("a changed batch: %v", err)
	}
	os.Remove(batch)
	if _, err := Sync(ctx, l, remote, &st); !errors.Is(err, ErrRollback) {
		t.Errorf("a dropped batch: %v", err)
	}
}

// TestBadEntriesRefusedRestKept: a batch holding a bad line keeps the
// good entries and reports the bad one.
func TestBadEntriesRefusedRestKept(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	src := open(t)
	s1, s2 := signer(t, "eve@example.com"), signer(t, "fay@example.com")
	a, _ := src.Append(s1, "comment", []byte(`{}`), t0)
	b, _ := src.Append(s2, "comment", []byte(`{}`), t0)
	bad := strings.Replace(string(b.MarshalLine()), "A", "B", 1)
	os.MkdirAll(filepath.Join(root, "log"), 0o755)
	os.WriteFile(filepath.Join(root, "log", "00000000000000000001"), []byte(string(a.MarshalLine())+"\n"+bad+"\n"), 0o644)
	dst := open(t)
	var st State
	res, err := Sync(ctx, dst, DirStore{Root: root}, &st)
	if err != nil {
		t.Fatal(err)
	}
	if res.Pulled != 1 || len(res.Refused) != 1 || !strings.Contains(res.Refused[0], "line 2") {
		t.Errorf("pulled %d, refused %q", res.Pulled, res.Refused)
	}
	if _, err := dst.Get(a.ID); err != nil {
		t.Errorf("the good entry: %v", err)
	}
}

// TestOlderBatchAudited: a batch older than the last, changed, is caught
// within as many syncs as there are batches.
func TestOlderBatchAudited(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	remote := DirStore{Root: root}
	l := open(t)
	s := signer(t, "gil@example.com")
	var st State
	for i := range 4 {
		if _, err := l.Append(s, "comment", []byte(`{}`), t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := Sync(ctx, l, remote, &st); err != nil {
			t.Fatal(err)
		}
	}
	batch := filepath.Join(root, "log", "00000000000000000002")
	os.Remove(batch)
	os.WriteFile(batch, []byte("truncated"), 0o644)
	for i := range 4 {
		if _, err := Sync(ctx, l, remote, &st); errors.Is(err, ErrTampered) {
			return
		} else if err != nil {
			t.Fatal(err)
		} else if i == 3 {
			t.Fatal("a truncated older batch was never caught")
		}
	}
}

// TestJunkBatch: a batch of 17,000 junk lines around a good entry, then
// a good batch: the good entries are kept, the junk counted and the
// first of it listed, in one pass.
func TestJunkBatch(t *testing.T) {
	root := t.TempDir()
	src := open(t)
	s := signer(t, "junk@example.com")
	a, _ := src.Append(s, "comment", []byte(`{}`), t0)
	b, _ := src.Append(s, "comment", []byte(`{}`), t0.Add(time.Minute))
	junk := strings.Repeat("{}\n", 17000)
	os.MkdirAll(filepath.Join(root, "log"), 0o755)
	os.WriteFile(filepath.Join(root, "log", "00000000000000000001"), []byte(junk+string(a.MarshalLine())+"\n"+junk), 0o644)
	os.WriteFile(filepath.Join(root, "log", "00000000000000000002"), append(b.MarshalLine(), '\n'), 0o644)
	dst := open(t)
	var st State
	res, err := Sync(context.Background(), dst, DirStore{Root: root}, &st)
	if err != nil {
		t.Fatal(err)
	}
	if res.Pulled != 2 || res.RefusedCount != 34000 || len(res.Refused) != maxRefusals {
		t.Errorf("pulled %d, refused %d (%d listed)", res.Pulled, res.RefusedCount, len(res.Refused))
	}
}

// TestSyncFileLocked: a second sync on a file another holds is told so,
// and leaves it alone.
func TestSyncFileLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "usb.jsonl")
	l := open(t)
	if _, err := l.Append(signer(t, "lock@example.com"), "comment", []byte(`{}`), t0); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	var st State
	if _, err := SyncFile(context.Background(), l, path, &st); err == nil || !strings.Contains(err.Error(), "another sync is using this file") {
		t.Errorf("a locked file: %v", err)
	}
	if fi, _ := os.Stat(path); fi.Size() != 0 {
		t.Error("the locked file was written")
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	if res, err := SyncFile(context.Background(), l, path, &st); err != nil || res.Pushed != 1 {
		t.Errorf("once free: %+v, %v", res, err)
	}
}
