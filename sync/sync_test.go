package sync

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	stdsync "sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
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

// The sync tests' governance: a root, and a keyring naming everyone the
// tests sign as, so that every home's root admits them.
var testMembers = []string{"ann@example.com", "ben@example.com", "cat@example.com", "dee@example.com", "eve@example.com",
	"fay@example.com", "gil@example.com", "junk@example.com", "lock@example.com", "tam@example.com", "ack@example.com",
	"race-0@example.com", "race-1@example.com",
	"reviewer0@example.com", "reviewer1@example.com", "reviewer2@example.com", "reviewer3@example.com", "reviewer4@example.com",
	"reviewer5@example.com", "reviewer6@example.com", "reviewer7@example.com", "reviewer8@example.com", "reviewer9@example.com"}

// testGovEntries is how many entries the governance takes.
const testGovEntries = 2

var (
	testGovOnce   stdsync.Once
	testGovLines  []byte // the adoptions, in the export format
	testAnchor    string // the root's digest
	testGovErrMsg string
)

// testGovernance signs the root and keyring once per process.
func testGovernance(t testing.TB) ([]byte, string) {
	t.Helper()
	testGovOnce.Do(func() {
		admin := signer(t, "admin@example.com")
		key := func(s ledger.Signer) string {
			return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.PublicKey())))
		}
		root := fmt.Sprintf("version: 1\nthreshold: 1\nadmins:\n  - identity: admin@example.com\n    keys: [%q]\n", key(admin))
		var kr strings.Builder
		kr.WriteString("version: 1\nmembers:\n")
		for _, id := range testMembers {
			fmt.Fprintf(&kr, "  - identity: %s\n    roles: [model-owner]\n    keys: [%q]\n", id, key(signer(t, id)))
		}
		var prev *ledger.Entry
		for i, text := range []string{root, kr.String()} {
			doc, err := policy.ParseDocument("doc", []byte(text))
			if err != nil {
				testGovErrMsg = err.Error()
				return
			}
			h := ledger.Header{Kind: doc.Kind, Seq: 1, Time: t0.Add(-time.Hour + time.Duration(i)*time.Second),
				Body: (&policy.Body{Version: doc.Version, Digest: doc.Digest, Document: text}).Marshal()}
			if prev != nil {
				h.Seq, h.Prev = 2, prev.ID
			} else {
				testAnchor = doc.Digest
			}
			e, err := ledger.SignEntry(admin, h)
			if err != nil {
				testGovErrMsg = err.Error()
				return
			}
			testGovLines = append(append(testGovLines, e.MarshalLine()...), '\n')
			prev = e
		}
	})
	if testGovErrMsg != "" {
		t.Fatal(testGovErrMsg)
	}
	return testGovLines, testAnchor
}

// open returns a new home ledger holding the tests' governance.
func open(t testing.TB) *ledger.Ledger {
	t.Helper()
	l, err := ledger.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	gov, _ := testGovernance(t)
	if _, err := l.Import(bytes.NewReader(gov), ledger.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	return l
}

// openBare returns a new ledger holding nothing.
func openBare(t testing.TB) *ledger.Ledger {
	t.Helper()
	l, err := ledger.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// count counts l's entries but the governance every home holds.
func count(t *testing.T, l *ledger.Ledger) int {
	n := 0
	err := l.Entries(ledger.Query{}, func(e *ledger.Entry) error {
		if e.Kind != policy.KindRoot && e.Kind != policy.KindKeyring {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// carry signs s's request carrying blob as evidence, as signoff request
// does, so that the homes that pull it take the blob too.
func carry(t *testing.T, l *ledger.Ledger, s ledger.Signer, blob []byte, at time.Time) {
	t.Helper()
	d, err := l.PutBlob(blob)
	if err != nil {
		t.Fatal(err)
	}
	subj := policy.Subject{Model: "m", Version: "1", Bundle: d, From: "staging", To: "production"}
	body := &policy.Body{Subject: &subj, Tier: "high", Change: "standard", Evidence: map[string]string{"card.md": d}}
	if _, err := l.AppendSubject(s, policy.KindRequest, subj.Bundle+","+policy.VersionSubject("m", "1"), body.Marshal(), at); err != nil {
		t.Fatal(err)
	}
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
	carry(t, homes[0], signer(t, "ann@example.com"), []byte("evidence"), t0.Add(time.Hour))
	blob := ledger.BlobDigest([]byte("evidence"))
	for round := range 2 {
		for i, l := range homes {
			if _, err := Sync(ctx, l, remote, &states[i], testAnchor); err != nil {
				t.Fatalf("round %d, home %d: %v", round, i, err)
			}
		}
	}
	for i, l := range homes {
		if n := count(t, l); n != 16 {
			t.Errorf("home %d holds %d entries, want 16", i, n)
		}
		if !l.HasBlob(blob) {
			t.Errorf("home %d lacks the blob", i)
		}
	}
	res, err := Sync(ctx, homes[1], remote, &states[1], testAnchor)
	if err != nil || res.Requests != 3 || res.Pushed != 0 || res.Pulled != 0 {
		t.Errorf("a sync with nothing new: %+v, %v", res, err)
	}
	fresh := open(t)
	var st State
	if res, err := Sync(ctx, fresh, remote, &st, testAnchor); err != nil || res.Pulled != 16 || res.Pushed != 0 || !fresh.HasBlob(blob) {
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
	if _, err := Sync(ctx, l, remote, &st, testAnchor); err != nil {
		t.Fatal(err)
	}
	batch := filepath.Join(root, "log", "00000000000000000001")
	data, err := os.ReadFile(batch)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(batch)
	os.WriteFile(batch, []byte(strings.Replace(string(data), "a", "b", 1)), 0o644)
	if _, err := Sync(ctx, l, remote, &st, testAnchor); !errors.Is(err, ErrTampered) {
		t.Errorf("a changed batch: %v", err)
	}
	os.Remove(batch)
	if _, err := Sync(ctx, l, remote, &st, testAnchor); !errors.Is(err, ErrRollback) {
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
	res, err := Sync(ctx, dst, DirStore{Root: root}, &st, testAnchor)
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
		if _, err := Sync(ctx, l, remote, &st, testAnchor); err != nil {
			t.Fatal(err)
		}
	}
	batch := filepath.Join(root, "log", "00000000000000000002")
	os.Remove(batch)
	os.WriteFile(batch, []byte("truncated"), 0o644)
	for i := range 4 {
		if _, err := Sync(ctx, l, remote, &st, testAnchor); errors.Is(err, ErrTampered) {
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
	res, err := Sync(context.Background(), dst, DirStore{Root: root}, &st, testAnchor)
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
	if _, err := SyncFile(context.Background(), l, path, &st, testAnchor); err == nil || !strings.Contains(err.Error(), "another sync is using this file") {
		t.Errorf("a locked file: %v", err)
	}
	if fi, _ := os.Stat(path); fi.Size() != 0 {
		t.Error("the locked file was written")
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	if res, err := SyncFile(context.Background(), l, path, &st, testAnchor); err != nil || res.Pushed != 1+testGovEntries {
		t.Errorf("once free: %+v, %v", res, err)
	}
}

// TestForeignRootRefused: a remote holding another organisation's ledger
// (entries under another root) gives a home none of them; the home names
// the other root, and what its own root admits still comes in.
func TestForeignRootRefused(t *testing.T) {
	ctx := context.Background()
	remote := DirStore{Root: t.TempDir()}
	// The other organisation: its own root, keyring and a member's
	// comments, pushed to the shared remote.
	other := openBare(t)
	otherAdmin, otherMember := signer(t, "boss@other.example"), signer(t, "staff@other.example")
	key := func(s ledger.Signer) string {
		return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.PublicKey())))
	}
	var otherRoot string
	for i, text := range []string{
		fmt.Sprintf("version: 1\nthreshold: 1\nadmins:\n  - identity: boss@other.example\n    keys: [%q]\n", key(otherAdmin)),
		fmt.Sprintf("version: 1\nmembers:\n  - identity: staff@other.example\n    roles: [risk]\n    keys: [%q]\n", key(otherMember)),
	} {
		doc, err := policy.ParseDocument("doc", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := policy.Adopt(other, otherAdmin, doc, nil, t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			otherRoot = doc.Digest
		}
	}
	for j := range 3 {
		if _, err := other.Append(otherMember, "comment", []byte(`{}`), t0.Add(time.Duration(10+j)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Sync(ctx, other, remote, &State{}, otherRoot); err != nil {
		t.Fatal(err)
	}
	// This organisation's home, with one entry of its own there too.
	mine := open(t)
	if _, err := mine.Append(signer(t, "ann@example.com"), "comment", []byte(`{}`), t0); err != nil {
		t.Fatal(err)
	}
	if _, err := Sync(ctx, mine, remote, &State{}, testAnchor); err != nil {
		t.Fatal(err)
	}
	fresh := open(t)
	var st State
	res, err := Sync(ctx, fresh, remote, &st, testAnchor)
	if err != nil {
		t.Fatal(err)
	}
	if res.Pulled != 1 || res.NotAdmitted != 5 || res.RefusedCount != 5 {
		t.Errorf("pulled %d, not admitted %d, refused %d; want 1, 5, 5", res.Pulled, res.NotAdmitted, res.RefusedCount)
	}
	if len(res.Foreign) != 1 || res.Foreign[0].Digest != otherRoot || !slices.Equal(res.Foreign[0].Admins, []string{"boss@other.example"}) {
		t.Errorf("foreign roots: %+v, want %s (boss@other.example)", res.Foreign, otherRoot)
	}
	if !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, "another root, "+otherRoot) }) {
		t.Errorf("no warning names the other root: %q", res.Warnings)
	}
	if n := count(t, fresh); n != 1 {
		t.Errorf("the home holds %d entries of its own, want 1: another organisation's flowed in", n)
	}
	for _, kind := range []string{policy.KindRoot, policy.KindKeyring} {
		n := 0
		fresh.Entries(ledger.Query{Kind: kind}, func(*ledger.Entry) error { n++; return nil })
		if n != 1 {
			t.Errorf("the home holds %d %s adoptions, want its own 1", n, kind)
		}
	}
	// A second sync reports nothing again and costs what a quiet one does.
	res, err = Sync(ctx, fresh, remote, &st, testAnchor)
	if err != nil || res.RefusedCount != 0 || res.Pulled != 0 {
		t.Errorf("a second sync: %+v, %v", res, err)
	}
}

// TestLaterGovernanceAdmits: entries whose signer only a keyring in a
// later batch admits are kept back and taken once it arrives, with no
// refusal.
func TestLaterGovernanceAdmits(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	src := open(t)
	admin, newcomer := signer(t, "admin@example.com"), signer(t, "new@example.com")
	c1, _ := src.Append(newcomer, "comment", []byte(`{}`), t0.Add(time.Hour))
	c2, _ := src.Append(newcomer, "comment", []byte(`{}`), t0.Add(time.Hour+time.Minute))
	key := func(s ledger.Signer) string {
		return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.PublicKey())))
	}
	kr := fmt.Sprintf("version: 2\nmembers:\n  - identity: new@example.com\n    roles: [risk]\n    keys: [%q]\n    valid_from: %s\n", key(newcomer), t0.Format(time.RFC3339))
	doc, err := policy.ParseDocument("kr", []byte(kr))
	if err != nil {
		t.Fatal(err)
	}
	k2, err := policy.Adopt(src, admin, doc, nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	// Batch 1 holds the newcomer's entries, batch 2 the keyring admitting
	// them: as a big push cut in two leaves them.
	os.MkdirAll(filepath.Join(root, "log"), 0o755)
	os.WriteFile(filepath.Join(root, "log", "00000000000000000001"), []byte(string(c1.MarshalLine())+"\n"+string(c2.MarshalLine())+"\n"), 0o644)
	os.WriteFile(filepath.Join(root, "log", "00000000000000000002"), append(k2.MarshalLine(), '\n'), 0o644)
	dst := open(t)
	res, err := Sync(ctx, dst, DirStore{Root: root}, &State{}, testAnchor)
	if err != nil {
		t.Fatal(err)
	}
	if res.Pulled != 3 || res.RefusedCount != 0 || res.NotAdmitted != 0 {
		t.Errorf("pulled %d, refused %q, not admitted %d; want 3, none, 0", res.Pulled, res.Refused, res.NotAdmitted)
	}
}

// TestFIFOInRemote: a FIFO put where a batch was (by whoever can write a
// shared folder) is refused at once, not waited on.
func TestFIFOInRemote(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "log"), 0o755)
	p := filepath.Join(root, "log", "00000000000000000001")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := DirStore{Root: root}.Get(context.Background(), "log/00000000000000000001", 1<<20)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("a FIFO read as a batch: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Get waited on a FIFO")
	}
}

// TestHeldBackBounded: junk that fills the entries kept back cannot make
// a home drop one of its own organisation's entries unseen: an entry with
// no room is refused at once (and reported), and junk offered again
// makes room for what comes later, which its keyring then admits.
func TestHeldBackBounded(t *testing.T) {
	defer func(n int) { maxHeldLines = n }(maxHeldLines)
	maxHeldLines = 8
	ctx := context.Background()
	root := t.TempDir()
	remote := DirStore{Root: root}
	os.MkdirAll(filepath.Join(root, "log"), 0o755)
	// batch writes the next batch of the log, after those the homes wrote.
	batch := func(_ int, lines ...[]byte) {
		var b bytes.Buffer
		for _, l := range lines {
			b.Write(l)
			b.WriteByte('\n')
		}
		if err := remote.PutNew(context.Background(), nextBatchName(t, remote), b.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	var junk [][]byte
	for i := range 9 {
		e, err := ledger.SignEntry(signer(t, fmt.Sprintf("junk%d@nowhere.example", i)), ledger.Header{Kind: "comment", Seq: 1, Time: t0, Body: []byte(`{}`)})
		if err != nil {
			t.Fatal(err)
		}
		junk = append(junk, e.MarshalLine())
	}
	batch(1, junk...)
	home := open(t)
	var st State
	res, err := Sync(ctx, home, remote, &st, testAnchor)
	if err != nil || res.RefusedCount != 9 || len(st.Held) != 8 {
		t.Fatalf("nine junk entries, room for eight: refused %d (want all 9 reported), kept %d, %v", res.RefusedCount, len(st.Held), err)
	}
	junk = junk[:8]
	// A newcomer's entry, before the keyring that admits them: the junk,
	// offered once already, gives it room.
	newcomer := signer(t, "new@example.com")
	c, _ := ledger.SignEntry(newcomer, ledger.Header{Kind: "comment", Seq: 1, Time: t0.Add(time.Hour), Body: []byte(`{}`)})
	batch(2, c.MarshalLine())
	if res, err = Sync(ctx, home, remote, &st, testAnchor); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(st.Held, func(h HeldEntry) bool { return h.Line == string(c.MarshalLine()) }) || len(st.Held) != 8 {
		t.Fatalf("the newcomer's entry was not kept (%d kept); refused %q", len(st.Held), res.Refused)
	}
	if res.RefusedCount != 1 {
		t.Errorf("the newcomer's entry, not admitted yet, is reported once: refused %d", res.RefusedCount)
	}
	// The keyring that admits them arrives: their entry is taken.
	src := open(t)
	key := func(s ledger.Signer) string {
		return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.PublicKey())))
	}
	doc, _ := policy.ParseDocument("kr", []byte(fmt.Sprintf("version: 2\nmembers:\n  - {identity: new@example.com, roles: [risk], keys: [%q]}\n", key(newcomer))))
	k2, err := policy.Adopt(src, signer(t, "admin@example.com"), doc, nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	batch(3, k2.MarshalLine())
	if _, err := Sync(ctx, home, remote, &st, testAnchor); err != nil {
		t.Fatal(err)
	}
	if _, err := home.Get(c.ID); err != nil {
		t.Fatalf("the newcomer's entry was never taken: %v", err)
	}

	// With the list full of entries none of which was offered again yet,
	// a new one has no room: take refuses it, and says so, at once.
	var st2 State
	for _, j := range junk {
		st2.Held = append(st2.Held, HeldEntry{Line: string(j)})
	}
	if st2.holdBack(c.MarshalLine()) {
		t.Fatal("room was made by dropping entries never offered again")
	}
}

// nextBatchName is the name of the batch after the last in remote.
func nextBatchName(t *testing.T, remote Store) string {
	t.Helper()
	names, err := remote.List(context.Background(), "log/", "", listPage)
	if err != nil {
		t.Fatal(err)
	}
	return batchName(uint64(len(names) + 1))
}

// TestSeenNeedsNoGap: a later entry of a feed copied alone into a remote
// (by whoever can write it) does not make the feed's owner skip pushing
// the entries before it; every other home then gets them all.
func TestSeenNeedsNoGap(t *testing.T) {
	ctx := context.Background()
	remote := DirStore{Root: t.TempDir()}
	owner := open(t)
	s := signer(t, "ann@example.com")
	e1, _ := owner.Append(s, "comment", []byte(`{"text":"a rejection, say"}`), t0)
	e2, _ := owner.Append(s, "comment", []byte(`{"text":"later"}`), t0.Add(time.Minute))
	if err := remote.PutNew(ctx, batchName(1), append(e2.MarshalLine(), '\n')); err != nil {
		t.Fatal(err)
	}
	var st State
	res, err := Sync(ctx, owner, remote, &st, testAnchor)
	if err != nil {
		t.Fatal(err)
	}
	if res.Pushed < 2 {
		t.Fatalf("the owner pushed %d entries: the copied later one hid the one before", res.Pushed)
	}
	other := open(t)
	if _, err := Sync(ctx, other, remote, &State{}, testAnchor); err != nil && !strings.Contains(err.Error(), "refused") {
		t.Fatal(err)
	}
	for _, e := range []*ledger.Entry{e1, e2} {
		if _, err := other.Get(e.ID); err != nil {
			t.Errorf("another home lacks seq %d: %v", e.Seq, err)
		}
	}
}

// TestStrayBlobRefused: a blob no request this home holds carries is not
// taken from a remote: strangers cannot fill a home's store.
func TestStrayBlobRefused(t *testing.T) {
	root := t.TempDir()
	remote := DirStore{Root: root}
	if err := remote.PutNew(context.Background(), batchName(1), append(ledger.BlobLine([]byte("stray")), '\n')); err != nil {
		t.Fatal(err)
	}
	home := open(t)
	res, err := Sync(context.Background(), home, remote, &State{}, testAnchor)
	if err != nil {
		t.Fatal(err)
	}
	if home.HasBlob(ledger.BlobDigest([]byte("stray"))) || res.RefusedCount != 1 || !strings.Contains(res.Refused[0], "evidence of no request this home holds") {
		t.Errorf("a stray blob: refused %q", res.Refused)
	}
}

// TestBlobAfterItsRequest: a blob big enough that a file is read in
// another chunk than its request (or a batch cut before it) still comes
// in: batches carry entries before blobs, so a reader has the request
// that admits the blob by the time the blob comes.
func TestBlobAfterItsRequest(t *testing.T) {
	ctx := context.Background()
	big := make([]byte, 20<<20)
	rand.NewChaCha8([32]byte{1}).Read(big) // incompressible, as a model file is
	a, b := open(t), open(t)
	carry(t, a, signer(t, "ann@example.com"), big, t0)
	path := filepath.Join(t.TempDir(), "usb.jsonl")
	if _, err := SyncFile(ctx, a, path, &State{}, testAnchor); err != nil {
		t.Fatal(err)
	}
	res, err := SyncFile(ctx, b, path, &State{}, testAnchor)
	if err != nil {
		t.Fatal(err)
	}
	if !b.HasBlob(ledger.BlobDigest(big)) || res.RefusedCount != 0 {
		t.Fatalf("the request's blob did not come in: refused %q", res.Refused)
	}
}

// TestBlobsOfLaterBatches: one pull of batches that each bring a request
// and its blob takes every blob, the later requests' too.
func TestBlobsOfLaterBatches(t *testing.T) {
	ctx := context.Background()
	remote := DirStore{Root: t.TempDir()}
	a, b := open(t), open(t)
	var st State
	for i := range 3 {
		carry(t, a, signer(t, "ann@example.com"), []byte(fmt.Sprint("evidence ", i)), t0.Add(time.Duration(i)*time.Minute))
		if _, err := Sync(ctx, a, remote, &st, testAnchor); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Sync(ctx, b, remote, &State{}, testAnchor)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if !b.HasBlob(ledger.BlobDigest([]byte(fmt.Sprint("evidence ", i)))) {
			t.Errorf("the blob of batch %d did not come in: refused %q", i+1, res.Refused)
		}
	}
}
