//go:build unix

package ledger

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// The import crash tests check how an import is staged: its entries are
// written to the store while the file is still being checked, above the
// committed entry count, and one synced write commits them. A child process
// importing a big file is SIGKILLed at random moments; after each kill the
// ledger must hold exactly what it held before the import or exactly
// everything, with no index key of an entry it does not hold. A failed
// import must leave the ledger as it was, and a ledger written before the
// committed count existed must keep its entries.
//
// The staged entries go through a badger.WriteBatch, which commits a
// transaction of its own whenever the next key would make the current one
// too big: the commits can fall between two keys of one entry. The files
// these tests import are laid out (see [ciTornLayout]) so that the first
// such commit does: a crash, or a failed import, must not leave that
// entry's first keys behind.

const (
	ciEnvDir    = "SIGNOFF_CRASH_IMPORT_LEDGER"
	ciEnvFile   = "SIGNOFF_CRASH_IMPORT_FILE"
	ciEnvTorn   = "SIGNOFF_CRASH_IMPORT_TORN"
	ciStarted   = "importing"
	ciCommitted = "committed"
	ciTorn      = "torn"
)

// Sizes of TestCrashDuringImport: L0 has ciOldFeeds feeds of ciOldEntries;
// the file extends them and adds ciNewFeeds feeds, ciNewEntries() new
// entries in all.
const (
	ciOldFeeds   = 3
	ciOldEntries = 50
	ciNewFeeds   = 5
	ciRounds     = 6
)

// ciNewEntries is enough new entries for the import to take a while (most
// of a second) and for its WriteBatch to commit twice before the end; fewer
// under the race detector, which makes importing and verifying about eight
// times slower.
func ciNewEntries() int {
	if ciRace() {
		return 8_000
	}
	return 16_000
}

// TestCrashImportHelper is the child process of the import crash tests,
// not a test: with the environment they set, it opens the ledger, says
// "importing", imports the file and says "committed" once Import has
// returned nil. Then it waits to be killed. With SIGNOFF_CRASH_IMPORT_TORN
// set to the line of an entry that a WriteBatch commit splits, it looks at
// the store at each progress report (after that line, until that commit
// has landed) and kills itself once the store holds some but not all keys
// of an entry.
func TestCrashImportHelper(t *testing.T) {
	dir := os.Getenv(ciEnvDir)
	if dir == "" {
		t.Skip("helper process for the import crash tests")
	}
	fail := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "crash import helper: "+format+"\n", args...)
		os.Exit(3)
	}
	data, err := os.ReadFile(os.Getenv(ciEnvFile))
	if err != nil {
		fail("%v", err)
	}
	l, err := Open(dir)
	if err != nil {
		fail("%v", err)
	}
	var opts ImportOptions
	if v := os.Getenv(ciEnvTorn); v != "" {
		splitLine, err := strconv.Atoi(v)
		if err != nil {
			fail("%s=%q", ciEnvTorn, v)
		}
		opts.Progress = func(done int) {
			// The import waits while Progress runs; a WriteBatch commit
			// already under way does not.
			deadline := time.Now().Add(10 * time.Second)
			for {
				c := ciPrefixCounts(t, l)
				if c[pEntry] != c[pID] || c[pID] != c[pArrival] || c[pArrival] != c[pTime] || c[pTime] != c[pKind] {
					// os.Stdout is unbuffered: the parent gets the line.
					fmt.Fprintf(os.Stdout, "%s %s\n", ciTorn, ciFormatCounts(c))
					syscall.Kill(os.Getpid(), syscall.SIGKILL)
					select {}
				}
				if done <= splitLine || time.Now().After(deadline) {
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
	if _, err := fmt.Fprintln(os.Stdout, ciStarted); err != nil {
		fail("write: %v", err)
	}
	res, err := l.Import(bytes.NewReader(data), opts)
	if err != nil {
		fail("import: %v", err)
	}
	if _, err := fmt.Fprintf(os.Stdout, "%s %d\n", ciCommitted, res.Added); err != nil {
		fail("write: %v", err)
	}
	// Wait for SIGKILL; exit if the parent goes away.
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// ciFeed generates the entries of one signer's feed, from its head on.
type ciFeed struct {
	signer Signer
	feed   Feed
	seq    uint64
	prev   ID
}

func newCIFeed(t testing.TB, identity string) *ciFeed {
	t.Helper()
	s := testSigner(t, identity)
	pub, err := ed25519Public(s.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return &ciFeed{signer: s, feed: FeedOf(ed25519KeyBlob(pub))}
}

// ciAppend appends n comments round-robin over feeds to l and moves the
// feeds' heads along.
func ciAppend(t testing.TB, l *Ledger, feeds []*ciFeed, n int, at time.Time) []*Entry {
	t.Helper()
	var es []*Entry
	for i := range n {
		f := feeds[i%len(feeds)]
		e, err := l.Append(f.signer, "comment", comment(i), at.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		f.seq, f.prev = e.Seq, e.ID
		es = append(es, e)
	}
	return es
}

// ciUnsigned is a generated entry before ciSign signs it.
type ciUnsigned struct {
	signer  Signer
	payload []byte
}

// ciGenerate makes len(pads) entries round-robin over feeds, one second
// apart from at, the body of entry i padded with pads[i] bytes, and moves
// the feeds' heads along.
func ciGenerate(feeds []*ciFeed, pads []int, at time.Time) []ciUnsigned {
	es := make([]ciUnsigned, 0, len(pads))
	for i, pad := range pads {
		f := feeds[i%len(feeds)]
		f.seq++
		h := Header{
			Kind:     "comment",
			Feed:     f.feed,
			Seq:      f.seq,
			Prev:     f.prev,
			Time:     at.Add(time.Duration(i) * time.Second),
			Identity: f.signer.Identity(),
			Body:     fmt.Appendf(nil, `{"text":"import %d %s"}`, f.seq, strings.Repeat("x", pad)),
		}
		p := appendPayload(nil, &h)
		f.prev = sha256.Sum256(p)
		es = append(es, ciUnsigned{f.signer, p})
	}
	return es
}

// ciSign signs es on all cores.
func ciSign(t testing.TB, es []ciUnsigned) []*Entry {
	t.Helper()
	out := make([]*Entry, len(es))
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(es) || failed.Load() != nil {
					return
				}
				sig, err := signSSHSIG(es[i].signer, Namespace, es[i].payload)
				if err == nil {
					out[i], err = ParseEntry(es[i].payload, sig)
				}
				if err != nil {
					failed.Store(&err)
					return
				}
			}
		})
	}
	wg.Wait()
	if p := failed.Load(); p != nil {
		t.Fatal(*p)
	}
	return out
}

// ciExportOrder sorts es as Export writes them: by feed, then seq.
func ciExportOrder(es []*Entry) {
	slices.SortFunc(es, func(a, b *Entry) int {
		if c := bytes.Compare(a.Feed[:], b.Feed[:]); c != 0 {
			return c
		}
		return int(a.Seq) - int(b.Seq)
	})
}

// ciStageCosts returns, for each key that Import stages for es (new
// entries, staged in this order above base), its size as a badger
// transaction counts it (Entry.estimateSize: key, value and two meta bytes;
// txn.checkSize adds 10 for the version), which entry it is of and which
// of its keys.
func ciStageCosts(es []*Entry, base uint64) (cost []int64, entry, nth []int) {
	for i, e := range es {
		k := 0
		putEntry(func(key, v []byte) error {
			cost = append(cost, int64(len(key)+len(v))+2+10)
			entry = append(entry, i)
			nth = append(nth, k)
			k++
			return nil
		}, e, base+uint64(i)+1)
	}
	return cost, entry, nth
}

// ciFirstCommit returns the index of the key before which a WriteBatch
// holding keys of these costs first commits (the key goes into the next
// transaction), with shift added to the first key's cost, or -1.
func ciFirstCommit(db *badger.DB, cost []int64, shift int64) int {
	maxSize, maxCount := db.MaxBatchSize(), db.MaxBatchCount()
	var size, count int64
	for i, c := range cost {
		if i == 0 {
			c += shift
		}
		if count+1 >= maxCount || size+c >= maxSize {
			return i
		}
		size += c
		count++
	}
	return -1
}

// ciTornLayout generates len(pads) entries over feeds (see ciGenerate),
// to be staged above base in generation order or, if sorted, in export
// order, with one entry's padding grown so that the import's WriteBatch
// first commits inside an entry: after its first keep keys (of the four
// putEntry writes), before the others. It returns them signed, in staging
// order, and the index of the entry that commit splits.
func ciTornLayout(t testing.TB, db *badger.DB, feeds []*ciFeed, pads []int, at time.Time, base uint64, sorted bool, keep int) ([]*Entry, int) {
	t.Helper()
	pads = slices.Clone(pads)
	heads := make([]ciFeed, len(feeds))
	for i, f := range feeds {
		heads[i] = *f
	}
	gen := func() []ciUnsigned {
		for i, f := range feeds {
			*f = heads[i]
		}
		return ciGenerate(feeds, pads, at)
	}
	order := func(es []*Entry) {
		if sorted {
			ciExportOrder(es)
		}
	}

	// Sizes with a stand-in signature of the right length: the first
	// commit's place depends only on them.
	probe, err := signSSHSIG(feeds[0].signer, Namespace, []byte("probe"))
	if err != nil {
		t.Fatal(err)
	}
	unsigned := gen()
	es := make([]*Entry, len(unsigned))
	genIndex := make(map[ID]int)
	for i, u := range unsigned {
		if es[i], err = ParseEntry(u.payload, make([]byte, len(probe))); err != nil {
			t.Fatal(err)
		}
		genIndex[es[i].ID] = i
	}
	order(es)
	cost, _, nth := ciStageCosts(es, base)
	// Growing the first staged entry's payload by d bytes grows its first
	// key's cost by d and moves every later key by d.
	shift := -1
	for d := range 4096 {
		if k := ciFirstCommit(db, cost, int64(d)); k > 0 && nth[k] == keep {
			shift = d
			break
		}
	}
	if shift < 0 {
		t.Fatalf("no padding makes the import's first WriteBatch commit fall after key %d of an entry (%d keys)", keep, len(cost))
	}
	pads[genIndex[es[0].ID]] += shift

	es = ciSign(t, gen())
	order(es)
	cost, entry, nth := ciStageCosts(es, base)
	k := ciFirstCommit(db, cost, 0)
	if k <= 0 || nth[k] != keep {
		t.Fatalf("layout: the first WriteBatch commit is before key %d, not after key %d of an entry", k, keep)
	}
	return es, entry[k]
}

func ciPads(rng *rand.Rand, n int) []int {
	pads := make([]int, n)
	for i := range pads {
		pads[i] = rng.IntN(64)
	}
	return pads
}

func ciLines(es []*Entry) []byte {
	var b bytes.Buffer
	for _, e := range es {
		b.Write(e.MarshalLine())
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func ciExport(t testing.TB, l *Ledger) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := l.Export(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func ciImport(t testing.TB, l *Ledger, data []byte) *ImportResult {
	t.Helper()
	res, err := l.Import(bytes.NewReader(data), ImportOptions{})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	return res
}

// ciPrefixCounts counts the store's keys by their first byte.
func ciPrefixCounts(t testing.TB, l *Ledger) map[byte]int {
	t.Helper()
	n := make(map[byte]int)
	err := l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n[it.Item().Key()[0]]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func ciFormatCounts(n map[byte]int) string {
	var parts []string
	for _, p := range slices.Sorted(maps.Keys(n)) {
		parts = append(parts, fmt.Sprintf("%c:%d", p, n[p]))
	}
	return strings.Join(parts, " ")
}

// ciIndexProblems cross-checks the entries and their index keys, whatever
// their format: the store's entry, id, arrival and time keys must be
// exactly those putEntry writes for the stored entries, each under one
// arrival number, and the arrival numbers must run from 1 to the number of
// entries. It returns what is wrong.
func ciIndexProblems(t testing.TB, l *Ledger) []string {
	t.Helper()
	var probs []string
	add := func(format string, args ...any) {
		if len(probs) < 20 {
			probs = append(probs, fmt.Sprintf(format, args...))
		}
	}
	indexed := []byte{pEntry, pID, pArrival, pTime, pKind, pSubject}
	stored := make(map[string][]byte) // the indexed keys and their values
	var entries []*Entry
	err := l.db.View(func(txn *badger.Txn) error {
		for _, p := range indexed {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{p}})
			for it.Rewind(); it.Valid(); it.Next() {
				v, err := it.Item().ValueCopy(nil)
				if err != nil {
					it.Close()
					return err
				}
				stored[string(it.Item().Key())] = v
				if p == pEntry {
					e, err := readEntry(it.Item())
					if err != nil {
						add("%v", err)
						continue
					}
					entries = append(entries, e)
				}
			}
			it.Close()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// writes returns the keys and values putEntry writes for e, arrival n.
	// An arrival value names the entry, not the number.
	writes := func(e *Entry, n uint64) map[string][]byte {
		w := make(map[string][]byte)
		putEntry(func(k, v []byte) error { w[string(k)] = v; return nil }, e, n)
		return w
	}
	byArrivalValue := make(map[string]*Entry)
	for _, e := range entries {
		for k, v := range writes(e, 0) {
			if k[0] == pArrival {
				byArrivalValue[string(v)] = e
			}
		}
	}
	arrivalOf := make(map[ID]uint64)
	var arrivals []uint64
	for k, v := range stored {
		if k[0] != pArrival {
			continue
		}
		n := binary.BigEndian.Uint64([]byte(k[1:]))
		arrivals = append(arrivals, n)
		e := byArrivalValue[string(v)]
		switch {
		case e == nil:
			add("arrival %d names no stored entry", n)
		case arrivalOf[e.ID] != 0:
			add("entry %s (feed %s seq %d) arrived twice, %d and %d", e.ID, e.Feed, e.Seq, arrivalOf[e.ID], n)
		default:
			arrivalOf[e.ID] = n
		}
	}
	want := make(map[string][]byte)
	for _, e := range entries {
		n := arrivalOf[e.ID]
		if n == 0 {
			add("entry %s (feed %s seq %d) has no arrival key", e.ID, e.Feed, e.Seq)
			continue
		}
		maps.Copy(want, writes(e, n))
	}
	for k, v := range stored {
		if w, ok := want[k]; !ok {
			add("%q key %x belongs to no entry with an arrival key", k[0], k[1:])
		} else if !bytes.Equal(v, w) {
			add("%q key %x holds %x, want %x", k[0], k[1:], v, w)
		}
	}
	for k := range want {
		if _, ok := stored[k]; !ok {
			add("missing %q key %x", k[0], k[1:])
		}
	}
	slices.Sort(arrivals)
	for i, a := range arrivals {
		if a != uint64(i+1) {
			add("arrival %d is number %d of the arrival keys", a, i+1)
			break
		}
	}
	return probs
}

// ciArrivalValue returns what putEntry stores under e's arrival key.
func ciArrivalValue(e *Entry) []byte {
	var av []byte
	putEntry(func(k, v []byte) error {
		if k[0] == pArrival {
			av = v
		}
		return nil
	}, e, 1)
	return av
}

// ciShape is a state a ledger may be found in.
type ciShape struct {
	name       string
	export     []byte
	entries    int
	feeds      int // 'k' keys
	identities int // 'i' keys
}

// ciCheckShape checks that l is exactly in state want beyond its export (see
// ciCheckCounts), that its indexes match its entries, and, if verify, that
// it verifies in full.
func ciCheckShape(t *testing.T, l *Ledger, what string, want ciShape, verify bool) {
	t.Helper()
	ciCheckCounts(t, l, what, want)
	if probs := ciIndexProblems(t, l); len(probs) > 0 {
		t.Fatalf("%s: the indexes do not match the entries:\n  %s", what, strings.Join(probs, "\n  "))
	}
	if verify {
		ciVerifyFull(t, l, what, want)
	}
}

func ciVerifyFull(t *testing.T, l *Ledger, what string, want ciShape) {
	t.Helper()
	r := mustVerify(t, l, true)
	if !r.OK() || r.Checked != want.entries || len(r.Feeds) != want.feeds {
		t.Fatalf("%s: Verify Full: OK %v, checked %d of %d, %d feeds of %d; problems %v, equivocations %v",
			what, r.OK(), r.Checked, want.entries, len(r.Feeds), want.feeds, r.Problems, r.Equivocations)
	}
}

// ciCheckCounts checks l's committed count and its keys: one of each index
// per entry, none of an entry it does not hold, the feeds' keys and
// identities, no fork marker.
func ciCheckCounts(t *testing.T, l *Ledger, what string, want ciShape) {
	t.Helper()
	n := want.entries
	if got := l.arrivalCount(); got != uint64(n) {
		t.Errorf("%s: %d arrivals, want %d (%s)", what, got, n, want.name)
	}
	if v := rawGet(t, l, committedKey); len(v) != 8 || binary.BigEndian.Uint64(v) != uint64(n) {
		t.Errorf("%s: committed count %x, want %d (%s)", what, v, n, want.name)
	}
	c := ciPrefixCounts(t, l)
	for _, p := range []byte{pEntry, pID, pArrival, pTime, pKind} {
		if c[p] != n {
			t.Errorf("%s: %d %q keys, want one per entry: %d (%s); keys by prefix: %s", what, c[p], p, n, want.name, ciFormatCounts(c))
		}
	}
	if c[pKey] != want.feeds || c[pIdentity] != want.identities || c[pFork] != 0 || c[pMeta] != 1 {
		t.Errorf("%s: keys by prefix %s, want %d 'k', %d 'i', no 'x', one 'm' (%s)", what, ciFormatCounts(c), want.feeds, want.identities, want.name)
	}
	if t.Failed() {
		t.FailNow()
	}
}

// ciWhichShape returns the state whose export l's export is, or fails.
func ciWhichShape(t *testing.T, l *Ledger, what string, shapes ...ciShape) ciShape {
	t.Helper()
	got := ciExport(t, l)
	for _, s := range shapes {
		if bytes.Equal(got, s.export) {
			return s
		}
	}
	var desc []string
	for _, s := range shapes {
		desc = append(desc, fmt.Sprintf("%s (%d entries)", s.name, s.entries))
	}
	t.Fatalf("%s: the ledger exports %d entries and is none of %s; %d arrivals committed; keys by prefix %s; the indexes:\n  %s",
		what, bytes.Count(got, []byte("\n")), strings.Join(desc, ", "), l.arrivalCount(),
		ciFormatCounts(ciPrefixCounts(t, l)), strings.Join(ciIndexProblems(t, l), "\n  "))
	panic("unreachable")
}

// ciCopyDir copies the regular files under src to dst.
func ciCopyDir(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// ciRun is what one run of the helper did.
type ciRun struct {
	committed bool          // it said it committed
	took      time.Duration // from "importing" to "committed", as the parent saw them
	torn      string        // the key counts it saw when it killed itself, or ""
}

// ciChild runs the helper, with extra environment env, on ledgerDir and
// file. It SIGKILLs the child delay after it said it was importing or, if
// delay < 0, once it said it committed; or the child kills itself. The
// child must end killed by SIGKILL.
func ciChild(t *testing.T, what, ledgerDir, file string, delay time.Duration, env ...string) ciRun {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashImportHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), ciEnvDir+"="+ledgerDir, ciEnvFile+"="+file)
	cmd.Env = append(cmd.Env, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var run ciRun
	var start time.Time
	parse := func(line string) {
		switch {
		case line == ciStarted:
			start = time.Now()
		case strings.HasPrefix(line, ciCommitted+" "):
			if start.IsZero() {
				t.Errorf("%s: the child committed before it started importing", what)
			}
			run.committed, run.took = true, time.Since(start)
		case strings.HasPrefix(line, ciTorn+" "):
			run.torn = strings.TrimPrefix(line, ciTorn+" ")
		}
	}

	timeout := time.NewTimer(2 * time.Minute)
	defer timeout.Stop()
	var kill <-chan time.Time
	for done := false; !done; {
		select {
		case line, ok := <-lines:
			if !ok {
				done = true // the child is gone
				break
			}
			parse(line)
			if line == ciStarted && delay >= 0 {
				kill = time.After(delay)
			}
			if run.committed && delay < 0 {
				kill = time.After(0)
			}
		case <-timeout.C:
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("%s: the child was not done in 2 minutes: %s", what, stderr.Bytes())
		case <-kill:
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatalf("%s: kill: %v", what, err)
			}
			done = true
		}
	}
	// Whatever the child wrote before it died is in the pipe.
	for line := range lines {
		parse(line)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("%s: child: %v, want killed by SIGKILL: %s", what, err, stderr.Bytes())
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("%s: child ended with %v, want killed by SIGKILL: %s", what, err, stderr.Bytes())
	}
	return run
}

// TestCrashDuringImport SIGKILLs a process importing a big file F into a
// small ledger L0 at moments spread over the import, and checks each time
// that the ledger reopens holding exactly L0 or exactly everything, that
// recovery left no key of an entry it does not hold, and that importing F
// again gives the full ledger.
func TestCrashDuringImport(t *testing.T) {
	if testing.Short() {
		t.Skip("imports a 16,150-entry file several times")
	}
	newEntries := ciNewEntries()
	if ciRace() {
		t.Logf("race detector: %d new entries", newEntries)
	}
	dir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	setup := time.Now()

	// L0: ciOldFeeds feeds of ciOldEntries, appended.
	l0Dir := filepath.Join(dir, "l0")
	l0, err := Open(l0Dir)
	if err != nil {
		t.Fatal(err)
	}
	var feeds []*ciFeed
	for i := range ciOldFeeds {
		feeds = append(feeds, newCIFeed(t, fmt.Sprintf("old%d@example.com", i)))
	}
	old := ciAppend(t, l0, feeds, ciOldFeeds*ciOldEntries, t0)
	ciExportOrder(old)
	l0Shape := ciShape{name: "L0", export: ciExport(t, l0), entries: len(old), feeds: ciOldFeeds, identities: ciOldFeeds}
	if !bytes.Equal(l0Shape.export, ciLines(old)) {
		t.Fatal("the export of L0 is not its entries by feed and seq")
	}

	// F: the export of L0 with its feeds extended and new feeds, laid out so
	// that the import's first WriteBatch commit splits an entry.
	for i := range ciNewFeeds {
		feeds = append(feeds, newCIFeed(t, fmt.Sprintf("new%d@example.com", i)))
	}
	more, split := ciTornLayout(t, l0.db, feeds, ciPads(rng, newEntries), t0.Add(time.Hour), uint64(len(old)), true, 1)
	if err := l0.Close(); err != nil {
		t.Fatal(err)
	}
	all := append(slices.Clone(old), more...)
	ciExportOrder(all)
	full := ciShape{name: "full", export: ciLines(all), entries: len(all), feeds: len(feeds), identities: len(feeds)}
	file := filepath.Join(dir, "export.jsonl")
	if err := os.WriteFile(file, full.export, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("setup: L0 %d entries, F %d entries (%d KiB), the first WriteBatch commit splits new entry %d, in %v",
		l0Shape.entries, full.entries, len(full.export)>>10, split+1, time.Since(setup).Round(time.Millisecond))

	// check reopens the ledger after a kill, checks that it is L0 or full
	// (full if the child said it committed), imports F again and checks
	// that the ledger is full.
	check := func(what, ledgerDir string, committed bool) string {
		t.Helper()
		l, err := Open(ledgerDir)
		if err != nil {
			t.Fatalf("%s: Open after SIGKILL: %v", what, err)
		}
		defer l.Close()
		got := ciWhichShape(t, l, what, l0Shape, full)
		if committed && got.name != full.name {
			t.Fatalf("%s: the child said it committed, but the ledger reopened as %s", what, got.name)
		}
		ciCheckShape(t, l, what+": reopened as "+got.name, got, true)
		res, err := l.Import(bytes.NewReader(full.export), ImportOptions{})
		if err != nil {
			t.Fatalf("%s: importing F again into %s: %v", what, got.name, err)
		}
		if res.Added != full.entries-got.entries || res.Present != got.entries {
			t.Errorf("%s: importing F again into %s: added %d, present %d; want %d, %d",
				what, got.name, res.Added, res.Present, full.entries-got.entries, got.entries)
		}
		if !bytes.Equal(ciExport(t, l), full.export) {
			t.Fatalf("%s: after importing F again into %s, the export is not F", what, got.name)
		}
		what += ": F imported again into " + got.name
		ciCheckCounts(t, l, what, full)
		if got.name != full.name { // else verified just now
			ciVerifyFull(t, l, what, full)
		}
		return got.name
	}

	// An uninterrupted import, killed once it committed, measures how long
	// an import takes.
	ledgerDir := filepath.Join(dir, "round0")
	ciCopyDir(t, l0Dir, ledgerDir)
	run := ciChild(t, "round 0", ledgerDir, file, -1)
	if !run.committed {
		t.Fatal("round 0: the child did not commit")
	}
	check("round 0", ledgerDir, true)
	took := run.took
	t.Logf("round 0: the import committed %v after it started", took.Round(time.Millisecond))
	os.RemoveAll(ledgerDir)

	// The kills: one at a random moment in each of ciRounds equal slices of
	// the import's duration.
	states := make(map[string]int)
	for round := 1; round <= ciRounds; round++ {
		what := fmt.Sprintf("round %d", round)
		delay := time.Duration((float64(round-1) + rng.Float64()) / ciRounds * float64(took))
		ledgerDir := filepath.Join(dir, what)
		ciCopyDir(t, l0Dir, ledgerDir)
		t.Logf("%s: kill %v after the import started", what, delay.Round(time.Microsecond))
		run := ciChild(t, what, ledgerDir, file, delay)
		state := check(what, ledgerDir, run.committed)
		states[state]++
		t.Logf("%s: the child said it committed: %v; reopened as %s", what, run.committed, state)
		os.RemoveAll(ledgerDir)
	}
	t.Logf("%d kills: %d reopened as L0, %d as full", ciRounds, states[l0Shape.name], states[full.name])
}

// TestCrashDuringImportTornEntry kills the importing process,
// deterministically, at a moment when the store holds some but not all
// keys of an entry: a WriteBatch commit has split the entry, and the rest
// of it is in the transaction being filled. The ledger must reopen as it
// was before.
func TestCrashDuringImportTornEntry(t *testing.T) {
	dir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))

	l0Dir := filepath.Join(dir, "ledger")
	l, err := Open(l0Dir)
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

	run := ciChild(t, "torn", l0Dir, file, -1, fmt.Sprintf("%s=%d", ciEnvTorn, split+1))
	if run.committed || run.torn == "" {
		t.Fatalf("the child never saw an entry split by a WriteBatch commit (committed %v); the first commit was to split new entry %d of %d",
			run.committed, split+1, n)
	}
	t.Logf("the child killed itself holding keys %s (new entry %d split)", run.torn, split+1)

	l, err = Open(l0Dir)
	if err != nil {
		t.Fatalf("Open after SIGKILL: %v", err)
	}
	defer l.Close()
	ciWhichShape(t, l, "after SIGKILL", before)
	ciCheckShape(t, l, "after SIGKILL", before, true)
	res := ciImport(t, l, ciLines(more))
	if res.Added != n {
		t.Fatalf("importing the file again: %+v, want %d added", res, n)
	}
	all := append(slices.Clone(old), more...)
	ciExportOrder(all)
	after := ciShape{name: "imported", export: ciLines(all), entries: len(all), feeds: 3, identities: 3}
	ciWhichShape(t, l, "imported again", after)
	ciCheckShape(t, l, "imported again", after, true)
}

// TestImportFailureRollsBack imports a file whose last line has a bad
// signature, after the import has staged thousands of entries in the store
// (and a WriteBatch commit has split one of them): the ledger must be
// exactly as it was.
func TestImportFailureRollsBack(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	l := openTest(t)
	feeds := []*ciFeed{newCIFeed(t, "alice@example.com"), newCIFeed(t, "bob@example.com"), newCIFeed(t, "carol@example.com")}
	old := ciAppend(t, l, feeds, 30, t0)
	exportBefore := ciExport(t, l)
	countsBefore := ciPrefixCounts(t, l)
	committedBefore := rawGet(t, l, committedKey)
	arrivalsBefore := l.arrivalCount()
	alice := *feeds[0] // alice's head before the import

	// The file: the ledger's own export, then new entries extending
	// alice's and bob's feeds and in two new feeds; the last line's
	// signature is bad.
	feeds = append(feeds[:2], newCIFeed(t, "dave@example.com"), newCIFeed(t, "erin@example.com"))
	const n = 9000
	more, split := ciTornLayout(t, l.db, feeds, ciPads(rng, n), t0.Add(time.Hour), arrivalsBefore, false, 1)
	lines := slices.Collect(bytes.Lines(append(slices.Clone(exportBefore), ciLines(more)...)))
	last := more[n-1]
	lines[len(lines)-1] = append(envelopeLine(last.Payload, flipByte(last.Signature, len(last.Signature)-1)), '\n')
	// Progress reports come every 4096 lines: one must come after the
	// commit.
	splitLine := len(old) + split + 1
	if (splitLine/4096+1)*4096 > len(lines) {
		t.Fatalf("the first WriteBatch commit splits the entry on line %d of %d: no progress report after it", splitLine, len(lines))
	}
	staged := 0
	res, err := l.Import(bytes.NewReader(bytes.Join(lines, nil)), ImportOptions{Progress: func(done int) {
		// Progress runs under the import's lock: count in the store. The
		// import waits while Progress runs; a WriteBatch commit already
		// under way does not.
		deadline := time.Now().Add(10 * time.Second)
		for {
			staged = max(staged, ciPrefixCounts(t, l)[pArrival]-int(arrivalsBefore))
			if staged > 0 || done <= splitLine || time.Now().After(deadline) {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}})
	var ie *ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("Import = %+v, %v; want an *ImportError", res, err)
	}
	if ie.Total != 1 || ie.Problems[0].Line != len(lines) || ie.Problems[0].ID != last.ID {
		t.Fatalf("import problems %v (total %d), want the last line, %d", ie.Problems, ie.Total, len(lines))
	}
	if staged == 0 {
		t.Fatal("no staged entry reached the store before the import failed: the test does not test the rollback")
	}
	t.Logf("%d entries were staged in the store when the import failed; the first WriteBatch commit split new entry %d", staged, split+1)

	// Exactly as before.
	if got := ciExport(t, l); !bytes.Equal(got, exportBefore) {
		t.Errorf("after the failed import the ledger exports %d entries, %d before", bytes.Count(got, []byte("\n")), len(old))
	}
	if c := ciPrefixCounts(t, l); !maps.Equal(c, countsBefore) {
		t.Errorf("after the failed import the keys by prefix are %s, before %s; the indexes:\n  %s",
			ciFormatCounts(c), ciFormatCounts(countsBefore), strings.Join(ciIndexProblems(t, l), "\n  "))
	}
	if got := rawGet(t, l, committedKey); !bytes.Equal(got, committedBefore) || l.arrivalCount() != arrivalsBefore {
		t.Errorf("after the failed import the committed count is %x (%d arrivals), before %x (%d)", got, l.arrivalCount(), committedBefore, arrivalsBefore)
	}
	if t.Failed() {
		t.FailNow()
	}
	ciCheckShape(t, l, "after the failed import", ciShape{name: "before", entries: len(old), feeds: 3, identities: 3}, true)

	// Alice's feed goes on from where it was before the import.
	e, err := l.Append(alice.signer, "comment", comment(100), t0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if e.Seq != alice.seq+1 || e.Prev != alice.prev {
		t.Fatalf("Append after the failed import: seq %d prev %s, want seq %d prev %s", e.Seq, e.Prev, alice.seq+1, alice.prev)
	}
	if v, ok := ciRawLookup(t, l, u64Key(pArrival, arrivalsBefore+1)); !ok || !bytes.Equal(v, ciArrivalValue(e)) {
		t.Fatalf("the appended entry is not arrival %d", arrivalsBefore+1)
	}

	// The file without alice's new entries (which the append forked) and
	// with its good last line imports.
	var good []*Entry
	for _, e := range more {
		if e.Feed != alice.feed {
			good = append(good, e)
		}
	}
	res, err = l.Import(bytes.NewReader(ciLines(good)), ImportOptions{})
	if err != nil || res.Added != len(good) || len(res.Equivocations) != 0 {
		t.Fatalf("the good import: %+v, %v; want %d added", res, err, len(good))
	}
	all := append(append(slices.Clone(old), e), good...)
	ciExportOrder(all)
	want := ciShape{name: "after the good import", export: ciLines(all), entries: len(all), feeds: 5, identities: 5}
	ciWhichShape(t, l, "after the good import", want)
	ciCheckShape(t, l, "after the good import", want, true)
}

// TestRecoverWithoutCommittedKey opens a ledger written before the
// committed entry count was stored: every entry it holds is committed.
func TestRecoverWithoutCommittedKey(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	feeds := []*ciFeed{newCIFeed(t, "alice@example.com"), newCIFeed(t, "bob@example.com")}
	ciAppend(t, l, feeds, 12, t0)
	imported := ciSign(t, ciGenerate([]*ciFeed{newCIFeed(t, "carol@example.com")}, make([]int, 20), t0.Add(time.Hour)))
	ciImport(t, l, ciLines(imported))
	const n = 32
	shape := ciShape{name: "all", export: ciExport(t, l), entries: n, feeds: 3, identities: 3}
	ciCheckShape(t, l, "before", shape, false)
	counts := ciPrefixCounts(t, l)
	delete(counts, pMeta)
	rawDelete(t, l, committedKey)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	// The first open without the count, and the next.
	for i := range 2 {
		what := fmt.Sprintf("open %d without the committed count", i+1)
		l, err = Open(dir)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if l.arrivalCount() != n {
			t.Fatalf("%s: %d arrivals, want %d", what, l.arrivalCount(), n)
		}
		// Open may record the count it found.
		if v, ok := ciRawLookup(t, l, committedKey); ok && (len(v) != 8 || binary.BigEndian.Uint64(v) != n) {
			t.Fatalf("%s: Open recorded committed count %x, want %d", what, v, n)
		}
		c := ciPrefixCounts(t, l)
		delete(c, pMeta)
		delete(c, pCheckpoint) // the last Verify wrote one
		if !maps.Equal(c, counts) {
			t.Fatalf("%s: keys by prefix %s, want %s", what, ciFormatCounts(c), ciFormatCounts(counts))
		}
		ciWhichShape(t, l, what, shape)
		if probs := ciIndexProblems(t, l); len(probs) > 0 {
			t.Fatalf("%s: the indexes do not match the entries:\n  %s", what, strings.Join(probs, "\n  "))
		}
		ciVerifyFull(t, l, what, shape)
		if i == 0 {
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	defer l.Close()

	// Appends go on after the highest arrival, and store the count.
	e, err := l.Append(feeds[0].signer, "comment", comment(99), t0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if e.Seq != feeds[0].seq+1 || e.Prev != feeds[0].prev {
		t.Fatalf("Append: seq %d prev %s, want seq %d prev %s", e.Seq, e.Prev, feeds[0].seq+1, feeds[0].prev)
	}
	if v, ok := ciRawLookup(t, l, u64Key(pArrival, n+1)); !ok || !bytes.Equal(v, ciArrivalValue(e)) {
		t.Fatalf("the appended entry is not arrival %d", n+1)
	}
	shape.entries++
	shape.export = nil
	ciCheckShape(t, l, "after an append", shape, true)
}
