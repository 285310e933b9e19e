//go:build unix

package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// roFixture is a closed ledger, written and verified by a writer: two
// feeds appended, one imported, a blob.
type roFixture struct {
	dir     string
	export  []byte
	entries []*Entry
	blob    string
	alice   Signer
}

func newROFixture(t *testing.T) *roFixture {
	t.Helper()
	fx := &roFixture{dir: filepath.Join(t.TempDir(), "ledger"), alice: testSigner(t, "alice@example.com")}
	l, err := Open(fx.dir)
	if err != nil {
		t.Fatal(err)
	}
	bob := testSigner(t, "bob@example.com")
	for i := range 10 {
		s := fx.alice
		if i%3 == 0 {
			s = bob
		}
		e, err := l.AppendSubject(s, "comment", "model:fraud:3", comment(i), t0.Add(time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		fx.entries = append(fx.entries, e)
	}
	carol := sjChain(t, testSigner(t, "carol@example.com"), 5, func(i int) Header {
		return Header{Kind: "comment", Time: t0.Add(time.Duration(i) * time.Hour), Body: comment(50 + i)}
	})
	ciImport(t, l, ciLines(carol))
	fx.entries = append(fx.entries, carol...)
	if fx.blob, err = l.PutBlob([]byte("model card")); err != nil {
		t.Fatal(err)
	}
	if r := mustVerify(t, l, false); !r.OK() || !r.CheckpointWritten {
		t.Fatalf("verify: %+v", r)
	}
	fx.export = ciExport(t, l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return fx
}

// roSnapshot lists every file and directory under dir with its size,
// mode and modification time.
func roSnapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		snap[path] = fmt.Sprintf("%v %d %v", info.Mode(), info.Size(), info.ModTime().UnixNano())
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return snap
}

func roSameSnapshot(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for p, v := range after {
		if before[p] != v {
			t.Errorf("%s: %s is %q, before %q", what, p, v, before[p])
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			t.Errorf("%s: %s is gone", what, p)
		}
	}
}

func openRO(t *testing.T, dir string) *Ledger {
	t.Helper()
	l, err := OpenReadOnly(dir)
	if err != nil {
		t.Fatalf("OpenReadOnly: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// roCheckReads checks that l holds exactly the fixture's entries and blob.
func roCheckReads(t *testing.T, l *Ledger, fx *roFixture) {
	t.Helper()
	if got := ciExport(t, l); !bytes.Equal(got, fx.export) {
		t.Fatalf("read-only export has %d lines, the writer's %d", bytes.Count(got, []byte("\n")), bytes.Count(fx.export, []byte("\n")))
	}
	for _, e := range fx.entries {
		got, err := l.Get(e.ID)
		if err != nil || !bytes.Equal(got.Payload, e.Payload) {
			t.Fatalf("Get(%s) = %v, %v", e.ID.Short(), got, err)
		}
	}
	if id, err := l.Resolve(fx.entries[3].ID.Short()); err != nil || id != fx.entries[3].ID {
		t.Errorf("Resolve = %v, %v", id, err)
	}
	n := 0
	if err := l.Entries(Query{Subject: "model:fraud:3"}, func(*Entry) error { n++; return nil }); err != nil || n != 10 {
		t.Errorf("Entries by subject: %d, %v; want 10", n, err)
	}
	if heads, err := l.Heads(); err != nil || len(heads) != 3 {
		t.Errorf("Heads = %v, %v; want 3 feeds", heads, err)
	}
	if keys, err := l.Keys(); err != nil || len(keys) != 3 {
		t.Errorf("Keys = %v, %v; want 3", keys, err)
	}
	if data, err := l.Blob(fx.blob); err != nil || string(data) != "model card" {
		t.Errorf("Blob = %q, %v", data, err)
	}
	if l.arrivalCount() != uint64(len(fx.entries)) {
		t.Errorf("%d arrivals, want %d", l.arrivalCount(), len(fx.entries))
	}
}

// TestOpenReadOnlyNoLedger: where there is no ledger, OpenReadOnly says
// so and creates nothing.
func TestOpenReadOnlyNoLedger(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(dir string) error
	}{
		{"missing dir", func(string) error { return nil }},
		{"missing parent", nil},
		{"empty dir", func(dir string) error { return os.Mkdir(dir, 0o700) }},
		{"empty store dir", func(dir string) error { return os.MkdirAll(filepath.Join(dir, "db"), 0o700) }},
		{"store without a manifest", func(dir string) error {
			if err := os.MkdirAll(filepath.Join(dir, "db"), 0o700); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, "db", "KEYREGISTRY"), nil, 0o600)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "ledger")
			if tc.setup == nil {
				dir = filepath.Join(root, "home", "ledger")
			} else if err := tc.setup(dir); err != nil {
				t.Fatal(err)
			}
			before := roSnapshot(t, root)
			l, err := OpenReadOnly(dir)
			if !errors.Is(err, ErrNoLedger) || !strings.Contains(err.Error(), dir) {
				if l != nil {
					l.Close()
				}
				t.Fatalf("OpenReadOnly = %v, want ErrNoLedger naming %s", err, dir)
			}
			t.Log(err)
			roSameSnapshot(t, "after OpenReadOnly", before, roSnapshot(t, root))
		})
	}
}

// TestOpenReadOnlyReads: a ledger open read-only reads every committed
// entry and blob, verifies, and changes no file.
func TestOpenReadOnlyReads(t *testing.T) {
	fx := newROFixture(t)
	before := roSnapshot(t, fx.dir)
	l := openRO(t, fx.dir)
	roCheckReads(t, l, fx)
	r := mustVerify(t, l, false)
	if !r.OK() || !r.CheckpointUsed || r.Skipped != len(fx.entries) || r.CheckpointWritten {
		t.Errorf("Verify: %+v; want OK, the writer's checkpoint used and none written", r)
	}
	if r := mustVerify(t, l, true); !r.OK() || r.Checked != len(fx.entries) || r.CheckpointWritten {
		t.Errorf("Verify Full: %+v; want OK, every entry checked and no checkpoint written", r)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	roSameSnapshot(t, "after a read-only open, reads and Close", before, roSnapshot(t, fx.dir))
}

// TestOpenReadOnlyWrites: every write to a ledger open read-only gives
// ErrReadOnly and changes nothing.
func TestOpenReadOnlyWrites(t *testing.T) {
	fx := newROFixture(t)
	other := openTest(t)
	if _, err := other.Append(testSigner(t, "dave@example.com"), "comment", comment(1), t0); err != nil {
		t.Fatal(err)
	}
	otherExport := ciExport(t, other)
	before := roSnapshot(t, fx.dir)
	l := openRO(t, fx.dir)
	for _, w := range []struct {
		name  string
		write func() error
	}{
		{"Append", func() error { _, err := l.Append(fx.alice, "comment", comment(99), t0.Add(time.Hour)); return err }},
		{"AppendSubject", func() error {
			_, err := l.AppendSubject(fx.alice, "comment", "model:fraud:4", comment(99), t0.Add(time.Hour))
			return err
		}},
		{"Import", func() error { _, err := l.Import(bytes.NewReader(otherExport), ImportOptions{}); return err }},
		{"Import of known entries", func() error { _, err := l.Import(bytes.NewReader(fx.export), ImportOptions{}); return err }},
		{"PutBlob", func() error { _, err := l.PutBlob([]byte("another card")); return err }},
		{"writeCheckpoint", func() error { return l.writeCheckpoint(&Report{}) }},
	} {
		err := w.write()
		if !errors.Is(err, ErrReadOnly) || !strings.Contains(err.Error(), fx.dir) {
			t.Errorf("%s: %v, want ErrReadOnly naming the ledger", w.name, err)
		}
	}
	roCheckReads(t, l, fx)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	roSameSnapshot(t, "after the writes", before, roSnapshot(t, fx.dir))
}

// TestOpenReadOnlyLocks: readers share a ledger; a writer and a reader
// exclude each other.
func TestOpenReadOnlyLocks(t *testing.T) {
	fx := newROFixture(t)
	r1, err := OpenReadOnly(fx.dir)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := OpenReadOnly(fx.dir)
	if err != nil {
		t.Fatalf("a second reader: %v", err)
	}
	roCheckReads(t, r1, fx)
	roCheckReads(t, r2, fx)
	if w, err := Open(fx.dir); !errors.Is(err, ErrLocked) {
		if w != nil {
			w.Close()
		}
		t.Fatalf("Open while readers hold the ledger: %v, want ErrLocked", err)
	} else {
		t.Log(err)
	}
	r1.Close()
	if w, err := Open(fx.dir); !errors.Is(err, ErrLocked) {
		if w != nil {
			w.Close()
		}
		t.Fatalf("Open while a reader holds the ledger: %v, want ErrLocked", err)
	}
	r2.Close()

	w, err := Open(fx.dir)
	if err != nil {
		t.Fatalf("Open once the readers closed: %v", err)
	}
	if r, err := OpenReadOnly(fx.dir); !errors.Is(err, ErrLocked) {
		if r != nil {
			r.Close()
		}
		t.Fatalf("OpenReadOnly while a writer holds the ledger: %v, want ErrLocked", err)
	} else {
		t.Log(err)
	}
	e, err := w.Append(fx.alice, "comment", comment(100), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	r := openRO(t, fx.dir)
	if got, err := r.Get(e.ID); err != nil || !bytes.Equal(got.Payload, e.Payload) {
		t.Fatalf("the reader after the writer closed: Get = %v, %v", got, err)
	}
}

// TestOpenReadOnlyWithoutLockFile: a ledger copied without its LOCK file
// is read without creating one, locked through its store.
func TestOpenReadOnlyWithoutLockFile(t *testing.T) {
	fx := newROFixture(t)
	if err := os.Remove(filepath.Join(fx.dir, "LOCK")); err != nil {
		t.Fatal(err)
	}
	before := roSnapshot(t, fx.dir)
	r1 := openRO(t, fx.dir)
	r2 := openRO(t, fx.dir)
	roCheckReads(t, r1, fx)
	roCheckReads(t, r2, fx)
	r2.Close()
	roSameSnapshot(t, "after the readers", before, roSnapshot(t, fx.dir))
	// The writer makes a LOCK file, but the reader holds the store.
	if w, err := Open(fx.dir); err == nil {
		w.Close()
		t.Fatal("Open while a reader holds the store succeeded")
	} else {
		t.Log(err)
	}
	r1.Close()
}

// TestOpenReadOnlyCheckpointKey: without a checkpoint key, a read-only
// Verify checks everything and makes no key.
func TestOpenReadOnlyCheckpointKey(t *testing.T) {
	for _, empty := range []bool{false, true} {
		t.Run(fmt.Sprintf("empty file %v", empty), func(t *testing.T) {
			fx := newROFixture(t)
			key := filepath.Join(fx.dir, "checkpoint.key")
			if err := os.Remove(key); err != nil {
				t.Fatal(err)
			}
			if empty {
				if err := os.WriteFile(key, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			before := roSnapshot(t, fx.dir)
			l := openRO(t, fx.dir)
			r := mustVerify(t, l, false)
			if !r.OK() || r.CheckpointUsed || r.Checked != len(fx.entries) || r.CheckpointWritten || !strings.Contains(r.CheckpointNote, "no checkpoint key") {
				t.Errorf("Verify without a checkpoint key: %+v; want everything checked, and why", r)
			}
			t.Log(r.CheckpointNote)
			l.Close()
			roSameSnapshot(t, "after Verify", before, roSnapshot(t, fx.dir))
		})
	}
}

// TestOpenReadOnlyRecovers: a ledger that must be recovered before it can
// be read is recovered, as Open would, and then read.
func TestOpenReadOnlyRecovers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, l *Ledger) // through the writer
		file   string                        // an empty file left in the store after it closed
	}{
		{name: "entries staged above the committed count", damage: func(t *testing.T, l *Ledger) {
			es := sjChain(t, testSigner(t, "erin@example.com"), 3, func(i int) Header {
				return Header{Kind: "comment", Time: t0, Subject: "model:x:1", Body: comment(i)}
			})
			err := l.db.Update(func(txn *badger.Txn) error {
				for i, e := range es {
					if err := putEntry(txn.Set, e, l.arrivalCount()+uint64(i)+1); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}},
		{name: "a blob staged", damage: func(t *testing.T, l *Ledger) {
			k, _ := blobKey(BlobDigest([]byte("staged")))
			rawSet(t, l, append([]byte{pBlobStaged}, k[1:]...), nil)
			rawSet(t, l, k, []byte("staged"))
		}},
		{name: "no committed count", damage: func(t *testing.T, l *Ledger) {
			rawDelete(t, l, committedKey)
		}},
		{name: "an empty memtable", file: "00042.mem"},
		{name: "an empty value log", file: "000042.vlog"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newROFixture(t)
			l, err := Open(fx.dir)
			if err != nil {
				t.Fatal(err)
			}
			if tc.damage != nil {
				tc.damage(t, l)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if tc.file != "" {
				if err := os.WriteFile(filepath.Join(fx.dir, "db", tc.file), nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			roMustNeedRecovery(t, fx.dir)
			r := openRO(t, fx.dir)
			roCheckReads(t, r, fx)
			if !r.HasBlob(fx.blob) || r.HasBlob(BlobDigest([]byte("staged"))) {
				t.Error("after recovery the blobs are not the committed ones")
			}
			if probs := ciIndexProblems(t, r); len(probs) > 0 {
				t.Fatalf("after recovery the indexes do not match the entries:\n  %s", strings.Join(probs, "\n  "))
			}
			if c := ciPrefixCounts(t, r); c[pBlobStaged] != 0 || c[pArrival] != len(fx.entries) {
				t.Errorf("after recovery the keys by prefix are %s", ciFormatCounts(c))
			}
			if rep := mustVerify(t, r, true); !rep.OK() {
				t.Errorf("after recovery Verify: %v", rep.Problems)
			}
		})
	}
}

// roMustNeedRecovery checks that the ledger in dir cannot be opened
// read-only as it is: the test tests the recovery.
func roMustNeedRecovery(t *testing.T, dir string) {
	t.Helper()
	l, why, err := openReadOnly(dir)
	if err != nil {
		t.Fatalf("openReadOnly: %v", err)
	}
	if why == "" {
		l.Close()
		t.Fatal("the ledger needs no recovery: the test does not test it")
	}
	t.Logf("needs recovery: %s", why)
}

// TestOpenReadOnlyAfterCrash kills a process importing into a ledger,
// once while the store holds part of an entry and once after the import
// committed: OpenReadOnly recovers the ledger and reads exactly what was
// committed.
func TestOpenReadOnlyAfterCrash(t *testing.T) {
	dir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	l, err := Open(filepath.Join(dir, "setup"))
	if err != nil {
		t.Fatal(err)
	}
	feeds := []*ciFeed{newCIFeed(t, "old@example.com"), newCIFeed(t, "other@example.com")}
	old := ciAppend(t, l, feeds, 6, t0)
	ciExportOrder(old)
	before := ciShape{name: "before the import", export: ciExport(t, l), entries: len(old), feeds: 2, identities: 2}
	feeds = append(feeds, newCIFeed(t, "new@example.com"))
	const n = 9000
	more, split := ciTornLayout(t, l.db, feeds, ciPads(rng, n), t0.Add(time.Hour), uint64(len(old)), false, 2)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "import.jsonl")
	if err := os.WriteFile(file, ciLines(more), 0o600); err != nil {
		t.Fatal(err)
	}
	all := append(slices.Clone(old), more...)
	ciExportOrder(all)
	after := ciShape{name: "imported", export: ciLines(all), entries: len(all), feeds: 3, identities: 3}

	for _, run := range []struct {
		name string
		env  []string
		want ciShape
	}{
		{"killed holding part of an entry", []string{fmt.Sprintf("%s=%d", ciEnvTorn, split+1)}, before},
		{"killed after it committed", nil, after},
	} {
		t.Run(run.name, func(t *testing.T) {
			ledgerDir := filepath.Join(t.TempDir(), "ledger")
			ciCopyDir(t, filepath.Join(dir, "setup"), ledgerDir)
			got := ciChild(t, run.name, ledgerDir, file, -1, run.env...)
			if got.committed != (run.want.name == after.name) {
				t.Fatalf("the child committed: %v (torn: %q); want it to reach %s", got.committed, got.torn, run.want.name)
			}
			roMustNeedRecovery(t, ledgerDir)
			r := openRO(t, ledgerDir)
			ciWhichShape(t, r, "read-only after SIGKILL", run.want)
			ciCheckShape(t, r, "read-only after SIGKILL", run.want, true)
		})
	}
}

// TestVerifyReadOnlyNeverWrites: a read-only Verify, clean or not, leaves
// the store as it was; the writer's next Verify still uses its own
// checkpoint.
func TestVerifyReadOnlyNeverWrites(t *testing.T) {
	fx := newROFixture(t)
	l := openRO(t, fx.dir)
	for range 2 {
		if r, err := l.Verify(context.Background(), VerifyOptions{}); err != nil || r.CheckpointWritten {
			t.Fatalf("Verify: %+v, %v", r, err)
		}
	}
	counts := ciPrefixCounts(t, l)
	if counts[pCheckpoint] != 1 {
		t.Errorf("%d checkpoints, want the writer's one", counts[pCheckpoint])
	}
}
