package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// The tamper tests build one ledger of interleaved entries from several
// feeds, export it, and change it in the ways an attacker (or a bad disk)
// could: in the export file, where Import must refuse the whole file and
// store nothing, and beneath the API in the Badger store, where Verify must
// name the first bad entry of the right feed.

const (
	tamperFeeds   = 4
	tamperEntries = 128
)

// tamperFixture is a ledger, its signers and its export.
type tamperFixture struct {
	l       *Ledger
	signers []Signer
	entries []*Entry   // in the order of the export's lines
	lines   [][]byte   // export lines, without the newline
	feeds   [][]*Entry // entries of each signer's feed, by seq-1
}

func newTamperFixture(t *testing.T) *tamperFixture {
	t.Helper()
	fx := &tamperFixture{l: openTest(t)}
	for i := range tamperFeeds {
		fx.signers = append(fx.signers, testSigner(t, fmt.Sprintf("officer%d@example.com", i)))
	}
	fx.feeds = make([][]*Entry, tamperFeeds)
	appended := make(map[ID]*Entry)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range tamperEntries {
		// Round-robin for the first appends, so that every feed has entries
		// early on, then random interleaving.
		k := i % tamperFeeds
		if i >= 2*tamperFeeds {
			k = rng.IntN(tamperFeeds)
		}
		e, err := fx.l.Append(fx.signers[k], "comment", comment(i), t0.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		appended[e.ID] = e
		fx.feeds[k] = append(fx.feeds[k], e)
	}
	for k, f := range fx.feeds {
		if len(f) < 10 {
			t.Fatalf("feed %d has only %d entries", k, len(f))
		}
	}
	var buf bytes.Buffer
	n, err := fx.l.Export(&buf)
	if err != nil || n != tamperEntries {
		t.Fatalf("Export = %d, %v", n, err)
	}
	// The export holds every entry once, each feed in seq order (what
	// Import requires); the tests take the line order as it comes.
	last := make(map[Feed]uint64)
	for line := range bytes.Lines(buf.Bytes()) {
		line = bytes.TrimSuffix(line, []byte("\n"))
		pe, err := ParseLine(line)
		if err != nil {
			t.Fatalf("export line %d: %v", len(fx.lines)+1, err)
		}
		e := appended[pe.ID]
		if e == nil || !bytes.Equal(line, e.MarshalLine()) {
			t.Fatalf("export line %d is not an appended entry, or is there twice", len(fx.lines)+1)
		}
		if e.Seq != last[e.Feed]+1 {
			t.Fatalf("export line %d: feed %s seq %d after seq %d", len(fx.lines)+1, e.Feed, e.Seq, last[e.Feed])
		}
		last[e.Feed] = e.Seq
		delete(appended, e.ID)
		fx.lines = append(fx.lines, line)
		fx.entries = append(fx.entries, e)
	}
	if len(fx.lines) != tamperEntries {
		t.Fatalf("export has %d lines, want %d", len(fx.lines), tamperEntries)
	}
	if r := mustVerify(t, fx.l, true); !r.OK() || r.Checked != tamperEntries {
		t.Fatalf("untampered ledger does not verify: %+v", r)
	}
	return fx
}

// lineOf returns the 0-based line of e in the export.
func (fx *tamperFixture) lineOf(e *Entry) int {
	for i, x := range fx.entries {
		if x.ID == e.ID {
			return i
		}
	}
	panic("entry not in fixture")
}

// sample returns five entries across three feeds: seq 1 and the head of
// feed 0, seq 1 and a middle entry of feed 1, the head of feed 2.
func (fx *tamperFixture) sample() []*Entry {
	f0, f1, f2 := fx.feeds[0], fx.feeds[1], fx.feeds[2]
	return []*Entry{f0[0], f1[len(f1)/2], f2[len(f2)-1], f1[0], f0[len(f0)-1]}
}

// withLine returns the export with line i replaced by repl (or removed, if
// repl is nil).
func (fx *tamperFixture) withLine(i int, repl []byte) [][]byte {
	out := slices.Clone(fx.lines)
	if repl == nil {
		return slices.Delete(out, i, i+1)
	}
	out[i] = repl
	return out
}

func envelopeLine(payload, sig []byte) []byte {
	return (&Entry{Payload: payload, Signature: sig}).MarshalLine()
}

func flipByte(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x01
	return c
}

func joinExportLines(lines [][]byte) []byte {
	var b bytes.Buffer
	for _, l := range lines {
		b.Write(l)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// importMustFail imports lines into dst, which must reject them with an
// *ImportError whose first problem is on line wantLine (1-based; 0 to not
// check) and store nothing.
func importMustFail(t *testing.T, dst *Ledger, lines [][]byte, wantLine int, what string) *ImportError {
	t.Helper()
	res, err := dst.Import(bytes.NewReader(joinExportLines(lines)), ImportOptions{})
	var ie *ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("%s: Import = %+v, %v; want an *ImportError", what, res, err)
	}
	if !errors.Is(err, ErrTampered) {
		t.Errorf("%s: import error %v does not wrap ErrTampered", what, err)
	}
	if len(ie.Problems) == 0 || ie.Total < len(ie.Problems) {
		t.Fatalf("%s: ImportError without problems: %+v", what, ie)
	}
	if wantLine > 0 && ie.Problems[0].Line != wantLine {
		t.Fatalf("%s: first problem %v is on line %d, want line %d", what, ie.Problems[0], ie.Problems[0].Line, wantLine)
	}
	mustBeEmpty(t, dst, what)
	return ie
}

// mustBeEmpty checks that l stores nothing at all.
func mustBeEmpty(t *testing.T, l *Ledger, what string) {
	t.Helper()
	if n := l.arrivalCount(); n != 0 {
		t.Fatalf("%s: rejected import left %d arrivals", what, n)
	}
	var keys []string
	l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if it.Item().Key()[0] == pMeta {
				continue // the committed count, 0: not an entry
			}
			keys = append(keys, fmt.Sprintf("%q", it.Item().Key()))
		}
		return nil
	})
	if len(keys) > 0 {
		t.Fatalf("%s: rejected import stored %d keys, e.g. %s", what, len(keys), keys[0])
	}
}

// Raw store access, beneath the append-only API.

// ciRawLookup returns the value of key, if the store has it.
func ciRawLookup(t testing.TB, l *Ledger, key []byte) ([]byte, bool) {
	t.Helper()
	var v []byte
	err := l.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		v, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return v, true
}

func rawGet(t testing.TB, l *Ledger, key []byte) []byte {
	t.Helper()
	v, ok := ciRawLookup(t, l, key)
	if !ok {
		t.Fatalf("raw get %x: no such key", key)
	}
	return v
}

func rawSet(t testing.TB, l *Ledger, key, value []byte) {
	t.Helper()
	if err := l.db.Update(func(txn *badger.Txn) error { return txn.Set(key, value) }); err != nil {
		t.Fatalf("raw set: %v", err)
	}
}

func rawDelete(t testing.TB, l *Ledger, key []byte) {
	t.Helper()
	if err := l.db.Update(func(txn *badger.Txn) error { return txn.Delete(key) }); err != nil {
		t.Fatalf("raw delete: %v", err)
	}
}

func storedValue(payload, sig []byte) []byte {
	return encodeValue(&Entry{Payload: payload, Signature: sig})
}

type feedSeq struct {
	feed Feed
	seq  uint64
}

// verifyMustFind runs Verify and checks that it is not OK and that its
// problems are exactly the first bad entries want (one per feed).
func verifyMustFind(t *testing.T, l *Ledger, full bool, what string, want ...feedSeq) *Report {
	t.Helper()
	r, err := l.Verify(context.Background(), VerifyOptions{Full: full})
	if err != nil {
		t.Fatalf("%s: Verify: %v", what, err)
	}
	if r.OK() {
		t.Fatalf("%s: Verify(Full: %v) reports the tampered ledger OK: %+v", what, full, r)
	}
	if r.CheckpointWritten {
		t.Errorf("%s: Verify wrote a checkpoint for a bad ledger", what)
	}
	// A full verify also compares the number of stored entries with the
	// number the ledger recorded: entries deleted beneath the API show
	// there too, as a problem of no feed.
	problems := slices.DeleteFunc(slices.Clone(r.Problems), func(p *EntryError) bool { return p.Feed == (Feed{}) })
	if len(problems) != len(want) {
		t.Fatalf("%s: Verify found problems %v, want first bad entries %v", what, r.Problems, want)
	}
	slices.SortFunc(want, func(a, b feedSeq) int { return bytes.Compare(a.feed[:], b.feed[:]) })
	for i, p := range problems {
		if p.Feed != want[i].feed || p.Seq != want[i].seq {
			t.Fatalf("%s: problem %d is %v (feed %s seq %d), want feed %s seq %d",
				what, i, p, p.Feed, p.Seq, want[i].feed, want[i].seq)
		}
	}
	return r
}

func where(e *Entry) feedSeq { return feedSeq{e.Feed, e.Seq} }

func storeKey(e *Entry) []byte { return entryKey(e.Feed, e.Seq, e.ID) }

// flipGroups returns two groups of victims for the byte-flip test, each
// with one entry of every feed: between them seq 1, seq 2, middle entries,
// the entry before a head and heads.
func (fx *tamperFixture) flipGroups() [2][]*Entry {
	f0, f1, f2, f3 := fx.feeds[0], fx.feeds[1], fx.feeds[2], fx.feeds[3]
	return [2][]*Entry{
		{f0[0], f1[len(f1)/2], f2[len(f2)-1], f3[1]},
		{f0[len(f0)-1], f1[0], f2[len(f2)/3], f3[len(f3)-2]},
	}
}

// tamperField selects the payload or the signature of an entry.
type tamperField struct {
	name string
	get  func(*Entry) []byte
	line func(e *Entry, b []byte) []byte // e's line with the field replaced by b
	// value is e's stored value with the field replaced by b.
	value func(e *Entry, b []byte) []byte
}

var tamperFields = []tamperField{
	{"payload", func(e *Entry) []byte { return e.Payload },
		func(e *Entry, b []byte) []byte { return envelopeLine(b, e.Signature) },
		func(e *Entry, b []byte) []byte { return storedValue(b, e.Signature) }},
	{"signature", func(e *Entry) []byte { return e.Signature },
		func(e *Entry, b []byte) []byte { return envelopeLine(e.Payload, b) },
		func(e *Entry, b []byte) []byte { return storedValue(e.Payload, b) }},
}

// A flipRun tampers several victims at once, each at its own position (or
// not at all, past the end of its field), and checks that each tampered
// victim is caught. Victims cannot mask each other: an import names every
// bad line, and a value rewritten under its own key makes only that entry
// bad, so Verify counts each victim in BadEntries and names the first of
// each feed.
type flipRun struct {
	victims []*Entry
	pos     []int // byte flipped in each victim, or -1
}

func (fr flipRun) any() bool { return slices.ContainsFunc(fr.pos, func(p int) bool { return p >= 0 }) }

func (fr flipRun) String() string {
	var b strings.Builder
	for i, v := range fr.victims {
		if fr.pos[i] >= 0 {
			fmt.Fprintf(&b, " [feed %s seq %d byte %d]", v.Feed, v.Seq, fr.pos[i])
		}
	}
	return b.String()
}

// plan returns the runs flipping, in run k, byte k*stride+offset(v) of each
// victim v, with offsets spread over the stride so that together the
// victims cover every residue (stride 1: every byte of every victim).
func flipPlan(victims []*Entry, f tamperField, stride int) []flipRun {
	var runs []flipRun
	for k := 0; ; k++ {
		fr := flipRun{victims: victims, pos: make([]int, len(victims))}
		for i, v := range victims {
			p := k*stride + i*stride/len(victims)
			if p >= len(f.get(v)) {
				p = -1
			}
			fr.pos[i] = p
		}
		if !fr.any() {
			return runs
		}
		runs = append(runs, fr)
	}
}

// importFlips imports lines, the lines of an export or part of one, with
// the runs' flips applied (victimLine[i] is the index in lines of victim i)
// into dst: each must be rejected with a problem on every tampered line,
// the first on the first tampered line, and leave dst as it was.
func importFlips(t *testing.T, dst *Ledger, lines [][]byte, victimLine []int, f tamperField, runs []flipRun, what string) {
	t.Helper()
	keysBefore, arrivalsBefore := countKeys(t, dst), dst.arrivalCount()
	for _, fr := range runs {
		tampered := slices.Clone(lines)
		first := len(lines)
		for i, v := range fr.victims {
			if p := fr.pos[i]; p >= 0 {
				tampered[victimLine[i]] = f.line(v, flipByte(f.get(v), p))
				first = min(first, victimLine[i])
			}
		}
		name := fmt.Sprintf("%s: %s flipped:%s", what, f.name, fr)
		res, err := dst.Import(bytes.NewReader(joinExportLines(tampered)), ImportOptions{})
		var ie *ImportError
		if !errors.As(err, &ie) || !errors.Is(err, ErrTampered) {
			t.Fatalf("%s: Import = %+v, %v; want an *ImportError", name, res, err)
		}
		if len(ie.Problems) == 0 || ie.Problems[0].Line != first+1 {
			t.Fatalf("%s: first problem %v, want one on line %d", name, ie.Problems, first+1)
		}
		for i := range fr.victims {
			if fr.pos[i] >= 0 && !slices.ContainsFunc(ie.Problems, func(p *EntryError) bool { return p.Line == victimLine[i]+1 }) {
				t.Fatalf("%s: no problem on tampered line %d: %v", name, victimLine[i]+1, ie.Problems)
			}
		}
		if k, a := countKeys(t, dst), dst.arrivalCount(); k != keysBefore || a != arrivalsBefore {
			t.Fatalf("%s: rejected import changed the ledger: %d keys and %d arrivals, were %d and %d", name, k, a, keysBefore, arrivalsBefore)
		}
	}
}

func countKeys(t *testing.T, l *Ledger) int {
	t.Helper()
	n := 0
	err := l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestTamperFlipEveryByte flips single bytes (xor 1) of the payload and of
// the signature of eight entries: seq 1, seq 2, middle entries, the entry
// before a head and heads, two of each feed.
//
// Every payload and signature costs a verification of every signature in
// what is imported or verified (about 80 ms for this ledger under -race),
// so the positions are covered at three densities:
//
//   - Import, every byte position of every victim: the tampered lines are
//     imported into a ledger that holds everything before them in their
//     feeds (a baseline import shows the untampered lines are valid there).
//     The file must be refused and the ledger left as it was.
//   - Import of the whole export into a fresh ledger: every 24th byte, the
//     victims at offsets 3 apart. The ledger must stay empty.
//   - In the store, the tampered value under the entry's own key, then
//     Verify Full: every 6th byte of the signature and every 8th of the
//     payload, the eight victims at offsets that together cover every
//     position of the signature and of the payload. Verify must name the
//     first victim of each feed and count every victim.
func TestTamperFlipEveryByte(t *testing.T) {
	fx := newTamperFixture(t)
	start := time.Now()
	groups := fx.flipGroups()
	imports, verifies := 0, 0

	// Every byte, in context.
	for g, victims := range groups {
		isVictim := make(map[ID]int)
		minSeq := make(map[Feed]uint64)
		for i, v := range victims {
			isVictim[v.ID] = i
			minSeq[v.Feed] = v.Seq
		}
		var pre, lines [][]byte
		victimLine := make([]int, len(victims))
		for i, e := range fx.entries {
			switch {
			case e.Seq < minSeq[e.Feed]:
				pre = append(pre, fx.lines[i])
			case e.Seq == minSeq[e.Feed]:
				victimLine[isVictim[e.ID]] = len(lines)
				lines = append(lines, fx.lines[i])
			}
		}
		base, dst := openTest(t), openTest(t)
		if len(pre) > 0 {
			mustImportLines(t, base, pre...)
			mustImportLines(t, dst, pre...)
		}
		if res := mustImportLines(t, base, lines...); res.Added != len(lines) {
			t.Fatalf("group %d: untampered file: %+v", g, res)
		}
		for _, f := range tamperFields {
			runs := flipPlan(victims, f, 1)
			importFlips(t, dst, lines, victimLine, f, runs, fmt.Sprintf("group %d in context", g))
			imports += len(runs)
		}
	}

	victims := append(slices.Clone(groups[0]), groups[1]...)
	victimLine := make([]int, len(victims))
	for i, v := range victims {
		victimLine[i] = fx.lineOf(v)
	}

	// A sample, in the whole export, into a fresh ledger.
	dst := openTest(t)
	for _, f := range tamperFields {
		runs := flipPlan(victims, f, 24)
		importFlips(t, dst, fx.lines, victimLine, f, runs, "whole export")
		imports += len(runs)
	}
	mustBeEmpty(t, dst, "whole export")

	// In the store.
	orig := make([][]byte, len(victims))
	for i, v := range victims {
		orig[i] = rawGet(t, fx.l, storeKey(v))
	}
	for _, f := range tamperFields {
		stride := map[string]int{"payload": 8, "signature": 6}[f.name]
		for _, fr := range flipPlan(victims, f, stride) {
			first := make(map[Feed]*Entry)
			flipped := 0
			for i, v := range victims {
				if p := fr.pos[i]; p >= 0 {
					rawSet(t, fx.l, storeKey(v), f.value(v, flipByte(f.get(v), p)))
					flipped++
					if w := first[v.Feed]; w == nil || v.Seq < w.Seq {
						first[v.Feed] = v
					}
				}
			}
			var want []feedSeq
			for _, v := range first {
				want = append(want, where(v))
			}
			r := verifyMustFind(t, fx.l, true, fmt.Sprintf("store: %s flipped:%s", f.name, fr), want...)
			if r.BadEntries != flipped {
				t.Fatalf("store: %s flipped:%s: %d bad entries, want %d", f.name, fr, r.BadEntries, flipped)
			}
			verifies++
			for i, v := range victims {
				rawSet(t, fx.l, storeKey(v), orig[i])
			}
		}
	}
	if r := mustVerify(t, fx.l, true); !r.OK() {
		t.Fatalf("restored ledger does not verify: %v", r.Problems)
	}
	t.Logf("%d rejected imports, %d failing verifications in %v", imports, verifies, time.Since(start))
}

// TestTamperFlipRewritesKey is the store tamperer who also rewrites the key
// so that it matches the tampered payload's id: the signature must catch it.
func TestTamperFlipRewritesKey(t *testing.T) {
	fx := newTamperFixture(t)
	for _, e := range fx.sample() {
		orig := rawGet(t, fx.l, storeKey(e))
		// Flip a byte of the body's text: the payload still parses.
		p := bytes.Index(e.Payload, []byte(`"comment `)) + 2
		forged, err := ParseEntry(flipByte(e.Payload, p), e.Signature)
		if err != nil {
			t.Fatal(err)
		}
		rawDelete(t, fx.l, storeKey(e))
		rawSet(t, fx.l, storeKey(forged), encodeValue(forged))
		verifyMustFind(t, fx.l, true, fmt.Sprintf("feed %s seq %d rewritten under a new key", e.Feed, e.Seq), where(e))
		rawDelete(t, fx.l, storeKey(forged))
		rawSet(t, fx.l, storeKey(e), orig)
	}
	if r := mustVerify(t, fx.l, true); !r.OK() {
		t.Fatalf("restored ledger does not verify: %v", r.Problems)
	}
}

// TestTamperDrop removes an entry from the middle of a feed.
func TestTamperDrop(t *testing.T) {
	fx := newTamperFixture(t)
	dst := openTest(t)
	for k, f := range fx.feeds {
		for _, s := range []int{0, len(f) / 2, len(f) - 2} { // seq 1, a middle one, the one before the head
			e, next := f[s], f[s+1]
			i := fx.lineOf(e)
			lines := fx.withLine(i, nil)
			// The next entry of the feed moved up one line.
			wantLine := fx.lineOf(next)
			ie := importMustFail(t, dst, lines, wantLine, fmt.Sprintf("feed %d without seq %d", k, e.Seq))
			if p := ie.Problems[0]; p.Feed != next.Feed || p.Seq != next.Seq || !strings.Contains(p.Error(), "missing") {
				t.Errorf("feed %d without seq %d: first problem %v, want seq %d naming the missing entry", k, e.Seq, p, next.Seq)
			}

			orig := rawGet(t, fx.l, storeKey(e))
			rawDelete(t, fx.l, storeKey(e))
			r := verifyMustFind(t, fx.l, true, fmt.Sprintf("store: feed %d without seq %d", k, e.Seq), where(e))
			if !slices.ContainsFunc(r.Problems, func(p *EntryError) bool {
				return p.Feed == (Feed{}) && strings.Contains(p.Err.Error(), "removed beneath it")
			}) {
				t.Errorf("store: feed %d without seq %d: full verify did not report the entry count: %v", k, e.Seq, r.Problems)
			}
			if i := slices.IndexFunc(r.Problems, func(p *EntryError) bool { return p.Feed != (Feed{}) }); i < 0 || !strings.Contains(r.Problems[i].Error(), "missing") {
				t.Errorf("gap reported as %v", r.Problems)
			}
			rawSet(t, fx.l, storeKey(e), orig)
		}
	}
	if r := mustVerify(t, fx.l, true); !r.OK() {
		t.Fatalf("restored ledger does not verify: %v", r.Problems)
	}
}

// TestTamperSwap swaps entries, or their payloads or signatures.
func TestTamperSwap(t *testing.T) {
	fx := newTamperFixture(t)
	dst := openTest(t)
	f0, f1 := fx.feeds[0], fx.feeds[1]
	type pair struct {
		name string
		a, b *Entry
	}
	pairs := []pair{
		{"adjacent seqs of one feed", f0[3], f0[4]},
		{"seq 1 and the head of one feed", f1[0], f1[len(f1)-1]},
		{"distant seqs of one feed", f0[1], f0[len(f0)-3]},
		{"two feeds", f0[5], f1[7]},
	}
	for _, pr := range pairs {
		a, b := pr.a, pr.b
		i, j := fx.lineOf(a), fx.lineOf(b)
		if i > j {
			a, b, i, j = b, a, j, i
		}
		sameFeed := a.Feed == b.Feed

		// (a) Swap the two lines.
		if sameFeed {
			lines := slices.Clone(fx.lines)
			lines[i], lines[j] = lines[j], lines[i]
			ie := importMustFail(t, dst, lines, i+1, pr.name+": lines swapped")
			found := false
			for _, p := range ie.Problems {
				if p.Line == j+1 && strings.Contains(p.Error(), "must be in seq order") {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: lines swapped: no problem on line %d says entries must be in seq order: %v", pr.name, j+1, ie.Problems)
			}
		}

		// (b) Swap the payloads, then the signatures.
		lines := slices.Clone(fx.lines)
		lines[i], lines[j] = envelopeLine(b.Payload, a.Signature), envelopeLine(a.Payload, b.Signature)
		importMustFail(t, dst, lines, i+1, pr.name+": payloads swapped")
		lines[i], lines[j] = envelopeLine(a.Payload, b.Signature), envelopeLine(b.Payload, a.Signature)
		ie := importMustFail(t, dst, lines, i+1, pr.name+": signatures swapped")
		if ie.Total < 2 {
			t.Errorf("%s: signatures swapped: %d problems, want both lines: %v", pr.name, ie.Total, ie.Problems)
		}

		// (c) In the store: swap the values under the two keys, then the
		// payloads, then the signatures.
		va, vb := rawGet(t, fx.l, storeKey(a)), rawGet(t, fx.l, storeKey(b))
		want := []feedSeq{where(a)}
		if !sameFeed {
			want = append(want, where(b))
		}
		for _, c := range []struct {
			name   string
			va, vb []byte
		}{
			{"values swapped", vb, va},
			{"payloads swapped", storedValue(b.Payload, a.Signature), storedValue(a.Payload, b.Signature)},
			{"signatures swapped", storedValue(a.Payload, b.Signature), storedValue(b.Payload, a.Signature)},
		} {
			if c.name == "values swapped" && !sameFeed {
				continue // the brief's case is within one feed; payloads swapped covers it across feeds
			}
			rawSet(t, fx.l, storeKey(a), c.va)
			rawSet(t, fx.l, storeKey(b), c.vb)
			verifyMustFind(t, fx.l, true, pr.name+": store: "+c.name, want...)
			rawSet(t, fx.l, storeKey(a), va)
			rawSet(t, fx.l, storeKey(b), vb)
		}
	}
	if r := mustVerify(t, fx.l, true); !r.OK() {
		t.Fatalf("restored ledger does not verify: %v", r.Problems)
	}
}

// TestTamperOtherKey replaces an entry with one signed by another key.
func TestTamperOtherKey(t *testing.T) {
	fx := newTamperFixture(t)
	dst := openTest(t)
	mallory := testSigner(t, "mallory@example.com")
	for _, e := range fx.sample() {
		i := fx.lineOf(e)
		name := fmt.Sprintf("feed %s seq %d", e.Feed, e.Seq)

		// The victim's payload, byte for byte, signed by mallory: the id
		// and the chain are unchanged; only the key gives it away.
		sig, err := signSSHSIG(mallory, Namespace, e.Payload)
		if err != nil {
			t.Fatal(err)
		}
		ie := importMustFail(t, dst, fx.withLine(i, envelopeLine(e.Payload, sig)), i+1, name+": same payload signed by another key")
		if ie.Total != 1 || !strings.Contains(ie.Problems[0].Error(), "key other than the feed's") {
			t.Errorf("%s: same payload signed by another key: %v (total %d), want the one line and the key named", name, ie.Problems, ie.Total)
		}
		orig := rawGet(t, fx.l, storeKey(e))
		rawSet(t, fx.l, storeKey(e), storedValue(e.Payload, sig))
		r := verifyMustFind(t, fx.l, true, name+": store: same payload signed by another key", where(e))
		if !strings.Contains(r.Problems[0].Error(), "key other than the feed's") {
			t.Errorf("%s: problem %v does not name the key", name, r.Problems[0])
		}
		rawSet(t, fx.l, storeKey(e), orig)

		// A new, well-formed entry claiming the victim's feed, seq and prev,
		// correctly signed by mallory.
		h := e.Header
		h.Body = []byte(`{"text":"approved, honest"}`)
		h.Identity = "mallory@example.com"
		payload := appendPayload(nil, &h)
		sig, err = signSSHSIG(mallory, Namespace, payload)
		if err != nil {
			t.Fatal(err)
		}
		forged, err := ParseEntry(payload, sig)
		if err != nil {
			t.Fatal(err)
		}
		if err := forged.Verify(); err == nil {
			t.Fatalf("%s: Entry.Verify accepts mallory's entry in the victim's feed", name)
		}
		importMustFail(t, dst, fx.withLine(i, forged.MarshalLine()), i+1, name+": re-signed by another key")
		// Under the victim's key, and under a key matching its own id.
		rawSet(t, fx.l, storeKey(e), encodeValue(forged))
		verifyMustFind(t, fx.l, true, name+": store: re-signed entry under the victim's key", where(e))
		rawDelete(t, fx.l, storeKey(e))
		rawSet(t, fx.l, storeKey(forged), encodeValue(forged))
		verifyMustFind(t, fx.l, true, name+": store: re-signed entry under its own key", where(e))
		rawDelete(t, fx.l, storeKey(forged))
		rawSet(t, fx.l, storeKey(e), orig)
	}
	if r := mustVerify(t, fx.l, true); !r.OK() {
		t.Fatalf("restored ledger does not verify: %v", r.Problems)
	}
}

// TestTamperIncremental checks that a Verify starting from a checkpoint
// still catches tampering with the checkpointed heads and with everything
// appended since.
func TestTamperIncremental(t *testing.T) {
	fx := newTamperFixture(t)
	l := fx.l
	if r := mustVerify(t, l, false); !r.OK() || !r.CheckpointWritten {
		t.Fatalf("first verify: %+v", r)
	}
	incremental := func(what string, want ...feedSeq) {
		t.Helper()
		r := verifyMustFind(t, l, false, what, want...)
		if !r.CheckpointUsed {
			t.Errorf("%s: the checkpoint was not used: %s", what, r.CheckpointNote)
		}
	}
	checkClean := func(what string) {
		t.Helper()
		r := mustVerify(t, l, false)
		if !r.OK() || !r.CheckpointUsed || r.Skipped == 0 {
			t.Fatalf("%s: restored ledger: %+v", what, r)
		}
	}

	// The checkpointed heads.
	for k, f := range fx.feeds {
		head := f[len(f)-1]
		orig := rawGet(t, l, storeKey(head))
		name := fmt.Sprintf("checkpointed head of feed %d (seq %d)", k, head.Seq)

		rawSet(t, l, storeKey(head), storedValue(flipByte(head.Payload, len(head.Payload)-3), head.Signature))
		incremental(name+": payload byte flipped", where(head))
		rawSet(t, l, storeKey(head), orig)

		// The key, the namespace and the ed25519 signature itself.
		var missed []string
		for _, p := range []int{20, 60, len(head.Signature) - 1} {
			rawSet(t, l, storeKey(head), storedValue(head.Payload, flipByte(head.Signature, p)))
			r, err := l.Verify(context.Background(), VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if r.OK() {
				missed = append(missed, fmt.Sprintf("byte %d (Verify Full: %v)", p, fullProblems(t, l)[0].Err))
			} else if len(r.Problems) != 1 || r.Problems[0].Feed != head.Feed || r.Problems[0].Seq != head.Seq {
				t.Errorf("%s: signature byte %d: problems %v", name, p, r.Problems)
			}
			rawSet(t, l, storeKey(head), orig)
		}
		if len(missed) > 0 {
			t.Errorf("BUG: %s: a Verify from the checkpoint says OK with a tampered signature: checkHeads "+
				"re-hashes the payload of a checkpointed head but never checks its signature; signature %s",
				name, strings.Join(missed, ", "))
		}

		rawDelete(t, l, storeKey(head))
		incremental(name+": deleted", where(head))
		rawSet(t, l, storeKey(head), orig)
	}
	checkClean("after head tampering")

	// Append to every feed after the checkpoint (it was just rewritten).
	var after []*Entry
	for i := range 3 * tamperFeeds {
		s := i % tamperFeeds
		e, err := l.Append(fx.signers[s], "comment", comment(1000+i), t0.Add(time.Hour+time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		after = append(after, e)
	}
	for _, e := range after {
		name := fmt.Sprintf("entry appended after the checkpoint, feed %s seq %d", e.Feed, e.Seq)
		orig := rawGet(t, l, storeKey(e))
		for _, p := range []int{0, 30, len(e.Payload) / 2, len(e.Payload) - 1} {
			rawSet(t, l, storeKey(e), storedValue(flipByte(e.Payload, p), e.Signature))
			incremental(fmt.Sprintf("%s: payload byte %d", name, p), where(e))
		}
		for _, p := range []int{10, 30, 60, 100, len(e.Signature) - 1} {
			rawSet(t, l, storeKey(e), storedValue(e.Payload, flipByte(e.Signature, p)))
			incremental(fmt.Sprintf("%s: signature byte %d", name, p), where(e))
		}
		rawSet(t, l, storeKey(e), orig)
	}
	// Drop the first entry after the checkpoint of one feed: a gap.
	e := after[0]
	orig := rawGet(t, l, storeKey(e))
	rawDelete(t, l, storeKey(e))
	incremental("first entry after the checkpoint deleted", where(e))
	rawSet(t, l, storeKey(e), orig)
	checkClean("after tampering with new entries")
}

func fullProblems(t *testing.T, l *Ledger) []*EntryError {
	t.Helper()
	return mustVerify(t, l, true).Problems
}

// forkOf signs a second, different entry at e's feed and seq with s, e's
// signer: proof that s equivocated.
func forkOf(t *testing.T, s Signer, e *Entry) *Entry {
	t.Helper()
	h := e.Header
	h.Body = []byte(`{"text":"the other story"}`)
	payload := appendPayload(nil, &h)
	sig, err := signSSHSIG(s, Namespace, payload)
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseEntry(payload, sig)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Verify(); err != nil {
		t.Fatal(err)
	}
	return f
}

func mustImportLines(t *testing.T, l *Ledger, lines ...[]byte) *ImportResult {
	t.Helper()
	res, err := l.Import(bytes.NewReader(joinExportLines(lines)), ImportOptions{})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	return res
}

// hasEquivocation checks that r reports exactly one equivocation, at e's
// feed and seq, naming the ids want.
func hasEquivocation(t *testing.T, what string, got []Equivocation, feed Feed, seq uint64, want ...ID) {
	t.Helper()
	if len(got) != 1 {
		t.Fatalf("%s: %d equivocations reported, want 1: %v", what, len(got), got)
	}
	q := got[0]
	ids := slices.Clone(q.IDs)
	want = slices.Clone(want)
	cmp := func(a, b ID) int { return bytes.Compare(a[:], b[:]) }
	slices.SortFunc(ids, cmp)
	slices.SortFunc(want, cmp)
	if q.Feed != feed || q.Seq != seq || !slices.Equal(ids, want) {
		t.Fatalf("%s: equivocation %v, want feed %s seq %d ids %s", what, q, feed, seq, idList(want))
	}
}

// TestTamperEquivocation imports a validly signed second entry at an
// existing feed and seq: it is kept as evidence and always reported.
func TestTamperEquivocation(t *testing.T) {
	fx := newTamperFixture(t)
	l := fx.l
	if r := mustVerify(t, l, false); !r.OK() {
		t.Fatal(r.Problems)
	}
	cases := []struct {
		name string
		pick func(f []*Entry) *Entry
	}{
		{"seq 1", func(f []*Entry) *Entry { return f[0] }},
		{"a checkpointed middle entry", func(f []*Entry) *Entry { return f[len(f)/2] }},
		{"the checkpointed head", func(f []*Entry) *Entry { return f[len(f)-1] }},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "-"), func(t *testing.T) {
			fx := newTamperFixture(t)
			l := fx.l
			e := c.pick(fx.feeds[2])
			if r := mustVerify(t, l, false); !r.OK() || !r.CheckpointWritten {
				t.Fatalf("verify: %+v", r)
			}
			fork := forkOf(t, fx.signers[2], e)
			res := mustImportLines(t, l, fork.MarshalLine())
			if res.Added != 1 || len(res.Equivocations) != 1 || res.Equivocations[0].Seq != e.Seq || !slices.Contains(res.Equivocations[0].IDs, fork.ID) {
				t.Fatalf("import of the fork: %+v", res)
			}
			for _, id := range []ID{e.ID, fork.ID} {
				if _, err := l.Get(id); err != nil {
					t.Fatalf("after importing the fork: Get(%s): %v", id, err)
				}
			}
			for _, full := range []bool{false, true} {
				r := mustVerify(t, l, full)
				what := fmt.Sprintf("%s: Verify(Full: %v)", c.name, full)
				if r.OK() || r.CheckpointWritten || len(r.Problems) != 0 {
					t.Fatalf("%s: OK %v, checkpoint written %v, problems %v", what, r.OK(), r.CheckpointWritten, r.Problems)
				}
				if !full && !r.CheckpointUsed {
					t.Errorf("%s: checkpoint not used: %s", what, r.CheckpointNote)
				}
				hasEquivocation(t, what, r.Equivocations, e.Feed, e.Seq, e.ID, fork.ID)
			}
			// A signer whose head is forked may not extend the feed.
			if c.name == "the checkpointed head" {
				if _, err := l.Append(fx.signers[2], "comment", comment(9999), t0.Add(time.Hour)); !errors.Is(err, ErrEquivocation) {
					t.Errorf("Append on a forked head: %v, want ErrEquivocation", err)
				}
			}
		})
	}

	// A fork after the checkpoint, imported into a ledger that has the
	// original, and a fork that arrives in the same file as the original
	// into a fresh ledger.
	t.Run("after-the-checkpoint", func(t *testing.T) {
		s := fx.signers[3]
		e, err := l.Append(s, "comment", comment(5000), t0.Add(2*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Append(s, "comment", comment(5001), t0.Add(2*time.Hour+time.Second)); err != nil {
			t.Fatal(err)
		}
		fork := forkOf(t, s, e)
		mustImportLines(t, l, fork.MarshalLine())
		for _, full := range []bool{false, true} {
			r := mustVerify(t, l, full)
			if r.OK() || len(r.Problems) != 0 {
				t.Fatalf("Verify(Full: %v): %+v", full, r)
			}
			hasEquivocation(t, fmt.Sprintf("Verify(Full: %v)", full), r.Equivocations, e.Feed, e.Seq, e.ID, fork.ID)
		}
		if _, err := l.Get(fork.ID); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("in-one-file", func(t *testing.T) {
		e := fx.feeds[1][4]
		fork := forkOf(t, fx.signers[1], e)
		i := fx.lineOf(e)
		lines := slices.Insert(slices.Clone(fx.lines), i+1, fork.MarshalLine())
		dst := openTest(t)
		res := mustImportLines(t, dst, lines...)
		if res.Added != len(lines) || len(res.Equivocations) != 1 {
			t.Fatalf("import: %+v", res)
		}
		for _, full := range []bool{true, false} {
			r := mustVerify(t, dst, full)
			if r.OK() || len(r.Problems) != 0 {
				t.Fatalf("Verify(Full: %v): %+v", full, r)
			}
			hasEquivocation(t, fmt.Sprintf("Verify(Full: %v)", full), r.Equivocations, e.Feed, e.Seq, e.ID, fork.ID)
		}
	})
}

// TestTamperEquivocationTravels exports a ledger that holds an equivocation
// learned after the feed had grown past it, and imports the export into a
// fresh ledger: the evidence must travel with sync.
func TestTamperEquivocationTravels(t *testing.T) {
	fx := newTamperFixture(t)
	e := fx.feeds[0][2]
	fork := forkOf(t, fx.signers[0], e)
	mustImportLines(t, fx.l, fork.MarshalLine())
	var buf bytes.Buffer
	if _, err := fx.l.Export(&buf); err != nil {
		t.Fatal(err)
	}
	dst := openTest(t)
	res, err := dst.Import(bytes.NewReader(buf.Bytes()), ImportOptions{})
	if err != nil {
		t.Fatalf("BUG: a ledger holding an equivocation cannot be re-imported from its own export: %v\n"+
			"Export writes arrival order, so the fork (seq %d, arrived last) follows seq %d of its feed, "+
			"and Import rejects a feed that goes back in seq", err, e.Seq, len(fx.feeds[0]))
	}
	if res.Added != tamperEntries+1 || len(res.Equivocations) != 1 {
		t.Fatalf("import: %+v", res)
	}
	r := mustVerify(t, dst, true)
	hasEquivocation(t, "imported copy", r.Equivocations, e.Feed, e.Seq, e.ID, fork.ID)
}

// TestTamperImportKnownEntries imports lines whose payload the ledger
// already has (or that repeat an earlier line of the file) but whose
// signature is bad: Import checks every line's signature, so such a file is
// refused too, whatever the ledger holds.
func TestTamperImportKnownEntries(t *testing.T) {
	fx := newTamperFixture(t)
	mallory := testSigner(t, "mallory@example.com")
	e := fx.feeds[1][5]
	i := fx.lineOf(e)
	malSig, err := signSSHSIG(mallory, Namespace, e.Payload)
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string][]byte{
		"signature byte flipped":            envelopeLine(e.Payload, flipByte(e.Signature, len(e.Signature)-1)),
		"signed by another key":             envelopeLine(e.Payload, malSig),
		"signature of the next entry":       envelopeLine(e.Payload, fx.feeds[1][6].Signature),
		"signature truncated":               envelopeLine(e.Payload, e.Signature[:len(e.Signature)-1]),
		"signature of another feed's entry": envelopeLine(e.Payload, fx.feeds[2][0].Signature),
	}
	var missed []string
	for _, name := range slices.Sorted(maps.Keys(bad)) {
		line := bad[name]
		// Into the ledger that holds every entry.
		keys, arrivals := countKeys(t, fx.l), fx.l.arrivalCount()
		res, err := fx.l.Import(bytes.NewReader(joinExportLines(fx.withLine(i, line))), ImportOptions{})
		var ie *ImportError
		if err == nil {
			missed = append(missed, fmt.Sprintf("%s, into a ledger that has the entry (%d present)", name, res.Present))
		} else if !errors.As(err, &ie) || ie.Problems[0].Line != i+1 {
			t.Errorf("%s: Import into the ledger that has the entry: %v, want a problem on line %d", name, err, i+1)
		}
		if countKeys(t, fx.l) != keys || fx.l.arrivalCount() != arrivals {
			t.Fatalf("%s: the import changed the ledger", name)
		}
		// Into a fresh ledger, right after the good copy.
		dst := openTest(t)
		lines := slices.Insert(slices.Clone(fx.lines), i+1, line)
		res, err = dst.Import(bytes.NewReader(joinExportLines(lines)), ImportOptions{})
		if err == nil {
			missed = append(missed, fmt.Sprintf("%s, repeated on the next line (%d present)", name, res.Present))
		} else if !errors.As(err, &ie) || ie.Problems[0].Line != i+2 {
			t.Errorf("%s: Import with the line repeated: %v, want a problem on line %d", name, err, i+2)
		} else {
			mustBeEmpty(t, dst, name)
		}
	}
	if len(missed) > 0 {
		t.Errorf("BUG: Import accepts a line with a bad signature when the ledger or the file already has its "+
			"payload: checkImport counts it as present and skips the signature check. Accepted:\n  %s",
			strings.Join(missed, "\n  "))
	}
}
