//go:build unix

package ledger

// Benchmarks for the limits in DESIGN.md ("Limits measured"). Each one
// measures its baseline in the same run, on the same machine and disk, and
// reports only the ratio to it; the default ns/op is set to zero so that no
// bare time is reported:
//
//	verify/bare-ed25519  full Verify of 200,000 entries in 5 feeds: the time
//	                     bare crypto/ed25519 takes for the same signatures on
//	                     all cores over the time Verify takes (a rate ratio;
//	                     target ≥ 0.85)
//	incremental/alone    Verify after a checkpoint and 1,000 new entries,
//	                     over a full verify of 1,000 entries alone (≤ 2)
//	p50/fsync-p50        durable Append latency over a bare write+fsync of
//	p99/fsync-p99        one stored entry's size (target p99 ≤ 3)
//	import/bare-ed25519  Import of the 200,000-entry export into an empty
//	                     ledger: bare ed25519 time over Import time (≥ 0.8)
//
// The machine may be shared with other work, which moves wall-clock ratios;
// the metrics ending in -cpu are the same ratios in CPU time (getrusage,
// hence the unix build tag), which it moves much less.
//
// Run them with
//
//	go test -run '^$' -bench . -benchtime 1x -timeout 30m ./ledger/
//
// Each b.N iteration is one measurement; with -benchtime Nx the median of
// the N ratios is reported and every ratio is logged.
//
// The 200,000-entry ledger is built once per process: the export is
// generated directly (payloads from appendPayload, signed on all cores) and
// imported into a directory under os.TempDir, whose files are then held in
// memory and the directory removed. Each benchmark writes that snapshot into
// its own b.TempDir, so nothing outlives the run.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

const (
	benchEntries = 200_000 // entries in the big ledger
	benchFeeds   = 5       // feeds they are spread over
	benchMore    = 1_000   // entries added before an incremental verify
	benchAppends = 2_000   // durable appends timed per iteration

	// benchSignedDataLen is the length of signedData(Namespace, payload):
	// "SSHSIG", then namespace, reserved, "sha512" and the SHA-512 as
	// SSH strings.
	benchSignedDataLen = 6 + 4 + len(Namespace) + 4 + 4 + len(sigHash) + 4 + 64
)

// benchFeed generates the entries of one signer's feed.
type benchFeed struct {
	signer Signer
	feed   Feed
	seq    uint64 // seq of the last entry generated
	prev   ID     // id of the last entry generated
}

func newBenchFeed(tb testing.TB, identity string) *benchFeed {
	tb.Helper()
	s := testSigner(tb, identity)
	pub, err := ed25519Public(s.PublicKey())
	if err != nil {
		tb.Fatal(err)
	}
	return &benchFeed{signer: s, feed: FeedOf(ed25519KeyBlob(pub))}
}

// benchEntry is a generated entry: its payload and, once signed, its SSHSIG.
type benchEntry struct {
	signer  Signer
	payload []byte
	sig     []byte
}

// benchGenerate builds the payloads of n entries, round-robin over feeds
// (the order they arrive in), signed one second apart from at. The
// entries are not signed yet: see [benchSign].
func benchGenerate(feeds []*benchFeed, n int, at time.Time) []benchEntry {
	es := make([]benchEntry, 0, n)
	for i := range n {
		f := feeds[i%len(feeds)]
		f.seq++
		h := Header{
			Kind:     "comment",
			Feed:     f.feed,
			Seq:      f.seq,
			Prev:     f.prev,
			Time:     at.Add(time.Duration(i) * time.Second),
			Identity: f.signer.Identity(),
			Body:     comment(int(f.seq)),
		}
		p := appendPayload(nil, &h)
		f.prev = sha256.Sum256(p)
		es = append(es, benchEntry{signer: f.signer, payload: p})
	}
	return es
}

// benchSign signs es on all cores.
func benchSign(es []benchEntry) error {
	return benchParallel(len(es), func(i int) error {
		sig, err := signSSHSIG(es[i].signer, Namespace, es[i].payload)
		es[i].sig = sig
		return err
	})
}

// benchExport returns es as an export: JSON Lines envelopes.
func benchExport(es []benchEntry) []byte {
	var buf bytes.Buffer
	for i := range es {
		e := Entry{Payload: es[i].payload, Signature: es[i].sig}
		buf.Write(e.MarshalLine())
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

// benchSig is one signature as bare ed25519 verifies it: the public key,
// the SSHSIG signed-data blob and the 64-byte signature. It holds no
// pointers, so 200,000 of them cost the garbage collector nothing.
type benchSig struct {
	pub [ed25519.PublicKeySize]byte
	sig [ed25519.SignatureSize]byte
	msg [benchSignedDataLen]byte
}

func benchSigs(es []benchEntry) ([]benchSig, error) {
	sigs := make([]benchSig, len(es))
	for i := range es {
		s, err := ParseSignature(es[i].sig)
		if err != nil {
			return nil, err
		}
		msg := signedData(Namespace, es[i].payload)
		if len(msg) != benchSignedDataLen {
			return nil, fmt.Errorf("signed data is %d bytes, want %d", len(msg), benchSignedDataLen)
		}
		copy(sigs[i].pub[:], s.PublicKey)
		copy(sigs[i].sig[:], s.Sig)
		copy(sigs[i].msg[:], msg)
	}
	return sigs, nil
}

// benchVerifyBare verifies sigs with crypto/ed25519 on GOMAXPROCS
// goroutines: the limit the ledger's own checks are measured against.
func benchVerifyBare(b *testing.B, sigs []benchSig) benchSpan {
	b.Helper()
	span, err := benchMeasure(func() error {
		return benchParallel(len(sigs), func(i int) error {
			s := &sigs[i]
			if !ed25519.Verify(s.pub[:], s.msg[:], s.sig[:]) {
				return fmt.Errorf("bare signature %d does not verify", i)
			}
			return nil
		})
	})
	if err != nil {
		b.Fatal(err)
	}
	return span
}

// benchSpan is how long something took by the clock and in CPU time (user
// and system, all threads of this process). The machine may be shared: the
// CPU time ratio is the cross-check that other processes do not move.
type benchSpan struct{ wall, cpu time.Duration }

// benchMeasure runs fn after a garbage collection and measures it.
func benchMeasure(fn func() error) (benchSpan, error) {
	runtime.GC()
	cpu, start := benchCPU(), time.Now()
	err := fn()
	return benchSpan{time.Since(start), benchCPU() - cpu}, err
}

// benchProfiled runs fn under the CPU profiler when
// SIGNOFF_BENCH_CPUPROFILE names a file: a profile of the measured ledger
// operation alone, not of the fixture's making or the baselines.
func benchProfiled(fn func() error) func() error {
	path := os.Getenv("SIGNOFF_BENCH_CPUPROFILE")
	if path == "" {
		return fn
	}
	return func() error {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
		return fn()
	}
}

func benchCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cores is how many cores s kept busy on average.
func (s benchSpan) cores() float64 { return s.cpu.Seconds() / s.wall.Seconds() }

// benchMean is the mean of two spans: a baseline measured before and after
// what it is compared with, so that drift in the machine's load cancels.
func benchMean(a, b benchSpan) benchSpan {
	return benchSpan{(a.wall + b.wall) / 2, (a.cpu + b.cpu) / 2}
}

// benchBusy warns when a baseline that should keep every core busy did
// not: another process had the machine and the wall-clock ratios are noisy.
func benchBusy(b *testing.B, what string, s benchSpan) {
	b.Helper()
	if n := runtime.GOMAXPROCS(0); s.cores() < 0.9*float64(n) {
		b.Logf("note: %s kept only %.2f of %d cores busy: the machine is shared; trust the CPU time ratio more", what, s.cores(), n)
	}
}

// benchParallel calls fn for each i in [0, n) on GOMAXPROCS goroutines,
// handing out blocks of 256 as Verify hands out batches, and returns the
// first error.
func benchParallel(n int, fn func(i int) error) error {
	const block = 256
	var next atomic.Int64
	errs := make([]error, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for w := range errs {
		wg.Go(func() {
			for {
				lo := int(next.Add(block)) - block
				if lo >= n {
					return
				}
				for i := lo; i < min(lo+block, n); i++ {
					if err := fn(i); err != nil {
						errs[w] = err
						next.Store(int64(n))
						return
					}
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// benchLedger is the big ledger: the export it was imported from, its
// signatures for the bare baseline, and its directory's files.
type benchLedger struct {
	feeds  []*benchFeed // at their last entry; copy before extending
	next   time.Time    // signing time after the last entry
	export []byte
	sigs   []benchSig
	snap   []benchFile
}

type benchFile struct {
	path string // relative to the ledger directory
	mode fs.FileMode
	data []byte
}

var (
	benchBigOnce sync.Once
	benchBig     *benchLedger
	benchBigErr  error
)

// loadBenchBig builds the big ledger once per process.
func loadBenchBig(b *testing.B) *benchLedger {
	b.Helper()
	benchBigOnce.Do(func() {
		// Stays set if buildBenchBig stops the benchmark with b.Fatal.
		benchBigErr = errors.New("building the 200,000-entry benchmark ledger failed")
		benchBig, benchBigErr = buildBenchBig(b)
	})
	if benchBigErr != nil {
		b.Fatal(benchBigErr)
	}
	return benchBig
}

func buildBenchBig(b *testing.B) (*benchLedger, error) {
	g := &benchLedger{next: t0.Add(benchEntries * time.Second)}
	for i := range benchFeeds {
		g.feeds = append(g.feeds, newBenchFeed(b, fmt.Sprintf("signer%d@example.com", i)))
	}
	es := benchGenerate(g.feeds, benchEntries, t0)
	if err := benchSign(es); err != nil {
		return nil, err
	}
	g.export = benchExport(es)
	var err error
	if g.sigs, err = benchSigs(es); err != nil {
		return nil, err
	}

	dir, err := os.MkdirTemp("", "signoff-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	l, err := Open(dir)
	if err != nil {
		return nil, err
	}
	res, err := l.Import(bytes.NewReader(g.export), ImportOptions{})
	if err == nil && res.Added != benchEntries {
		err = fmt.Errorf("import added %d entries, want %d", res.Added, benchEntries)
	}
	if cerr := l.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = benchSettle(dir)
	}
	if err != nil {
		return nil, err
	}
	if g.snap, err = benchSnapshot(dir); err != nil {
		return nil, err
	}
	size := 0
	for _, f := range g.snap {
		size += len(f.data)
	}
	b.Logf("benchmark ledger: %d entries in %d feeds, export %d MB, store %d MB", benchEntries, benchFeeds, len(g.export)>>20, size>>20)
	return g, nil
}

// benchSettle opens the ledger in dir and waits for Badger to finish the
// compactions the import left pending (level 0 full after a bulk load),
// so that they do not run, and count, in every benchmark that opens a copy.
// A ledger in use settles the same way in the background.
func benchSettle(dir string) error {
	l, err := Open(dir)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(5 * time.Minute)
	for !benchSettled(l.db.Levels()) {
		if time.Now().After(deadline) {
			l.Close()
			return fmt.Errorf("badger still compacting after 5 minutes:\n%s", l.db.LevelsToString())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return l.Close()
}

func benchSettled(levels []badger.LevelInfo) bool {
	for _, lv := range levels {
		// Adjusted is Badger's compaction score: at 1 or more the level
		// waits to be compacted (for level 0, once it holds as many tables
		// as NumLevelZeroTables).
		if lv.Adjusted >= 1 {
			return false
		}
	}
	return true
}

// benchSnapshot reads every file under dir into memory.
func benchSnapshot(dir string) ([]benchFile, error) {
	var snap []benchFile
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		f := benchFile{path: rel, mode: info.Mode()}
		if d.Type().IsRegular() {
			if info.Size() > 1<<30 {
				return fmt.Errorf("%s is %d bytes: too big to snapshot", path, info.Size())
			}
			if f.data, err = os.ReadFile(path); err != nil {
				return err
			}
		} else if !d.IsDir() {
			return fmt.Errorf("%s is not a regular file or directory", path)
		}
		snap = append(snap, f)
		return nil
	})
	return snap, err
}

// openCopy writes a copy of the big ledger into a new directory under
// b.TempDir, synced so that no write-back runs while it is measured, and
// opens it.
func (g *benchLedger) openCopy(b *testing.B) (*Ledger, string) {
	b.Helper()
	dir := b.TempDir()
	for _, f := range g.snap {
		path := filepath.Join(dir, f.path)
		if f.mode.IsDir() {
			if err := os.MkdirAll(path, f.mode.Perm()); err != nil {
				b.Fatal(err)
			}
			continue
		}
		w, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, f.mode.Perm())
		if err != nil {
			b.Fatal(err)
		}
		_, err = w.Write(f.data)
		if err == nil {
			err = w.Sync()
		}
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	l, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	return l, dir
}

func benchVerify(b *testing.B, l *Ledger, full bool) (*Report, benchSpan) {
	b.Helper()
	var r *Report
	span, err := benchMeasure(func() (err error) {
		r, err = l.Verify(context.Background(), VerifyOptions{Full: full})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	if !r.OK() {
		b.Fatalf("ledger does not verify: %+v", r.Problems)
	}
	return r, span
}

func benchImport(b *testing.B, l *Ledger, export []byte, want int) benchSpan {
	b.Helper()
	var res *ImportResult
	span, err := benchMeasure(benchProfiled(func() (err error) {
		res, err = l.Import(bytes.NewReader(export), ImportOptions{})
		return err
	}))
	if err != nil {
		b.Fatal(err)
	}
	if res.Added != want {
		b.Fatalf("import added %d entries, want %d", res.Added, want)
	}
	return span
}

// BenchmarkVerifyFull reports verify/bare-ed25519: how fast a full Verify of
// the 200,000-entry ledger runs compared with crypto/ed25519 verifying the
// same signatures on all cores with nothing else to do, timed just before
// and just after. verify/bare-ed25519-cpu is the same ratio in CPU time.
func BenchmarkVerifyFull(b *testing.B) {
	g := loadBenchBig(b)
	l, _ := g.openCopy(b)
	defer l.Close()
	var walls, cpus []float64
	for range b.N {
		before := benchVerifyBare(b, g.sigs)
		r, v := benchVerify(b, l, true)
		bare := benchMean(before, benchVerifyBare(b, g.sigs))
		if r.Checked != benchEntries || len(r.Feeds) != benchFeeds {
			b.Fatalf("verify checked %d entries in %d feeds, want %d in %d", r.Checked, len(r.Feeds), benchEntries, benchFeeds)
		}
		wall, cpu := bare.wall.Seconds()/v.wall.Seconds(), bare.cpu.Seconds()/v.cpu.Seconds()
		walls, cpus = append(walls, wall), append(cpus, cpu)
		b.Logf("full verify of %d entries in %d feeds ran at %.2f× the rate of bare ed25519 on %d cores (target ≥ 0.85); in CPU time it cost %.2f× as much as bare ed25519; it kept %.2f cores busy, bare %.2f",
			benchEntries, benchFeeds, wall, runtime.GOMAXPROCS(0), 1/cpu, v.cores(), bare.cores())
		benchBusy(b, "bare ed25519", bare)
	}
	b.ReportMetric(benchMedian(walls), "verify/bare-ed25519")
	b.ReportMetric(benchMedian(cpus), "verify/bare-ed25519-cpu")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkVerifyIncremental reports incremental/alone: how long Verify
// takes after a full verify wrote a checkpoint and 1,000 entries arrived
// (100 more in each of the 5 feeds and 500 from a new signer), compared with
// a full verify of a fresh ledger holding only 1,000 entries of the same
// shape (100 from each of 5 signers and 500 from a sixth). Each iteration
// runs benchRounds such arrivals one after another on one copy of the big
// ledger, each compared with its own fresh ledger, and takes the median:
// one measurement is only tens of milliseconds.
func BenchmarkVerifyIncremental(b *testing.B) {
	const benchRounds = 5
	g := loadBenchBig(b)

	// The arrivals of each round, extending copies of the big ledger's
	// feeds (g.feeds stay at the snapshot's heads).
	var old []*benchFeed
	for _, f := range g.feeds {
		c := *f
		old = append(old, &c)
	}
	at := g.next
	var arrivals [][]byte
	for r := range benchRounds {
		newcomer := newBenchFeed(b, fmt.Sprintf("newcomer%d@example.com", r))
		more := slices.Concat(benchGenerate(old, benchMore/2, at), benchGenerate([]*benchFeed{newcomer}, benchMore/2, at))
		if err := benchSign(more); err != nil {
			b.Fatal(err)
		}
		arrivals = append(arrivals, benchExport(more))
		at = at.Add(benchMore / 2 * time.Second)
	}
	var strangers []*benchFeed
	for i := range 5 {
		strangers = append(strangers, newBenchFeed(b, fmt.Sprintf("stranger%d@example.com", i)))
	}
	loner := newBenchFeed(b, "loner@example.com")
	alone := slices.Concat(benchGenerate(strangers, benchMore/2, at), benchGenerate([]*benchFeed{loner}, benchMore/2, at))
	if err := benchSign(alone); err != nil {
		b.Fatal(err)
	}
	aloneExport := benchExport(alone)

	var walls, cpus []float64
	for range b.N {
		l, dir := g.openCopy(b)
		benchVerify(b, l, true) // writes the checkpoint
		for round, more := range arrivals {
			benchImport(b, l, more, benchMore)
			r, inc := benchVerify(b, l, false)
			if !r.CheckpointUsed || r.Checked != benchMore || r.Skipped != benchEntries+round*benchMore {
				b.Fatalf("incremental verify: checkpoint used %v, checked %d, skipped %d; want true, %d, %d (%s)",
					r.CheckpointUsed, r.Checked, r.Skipped, benchMore, benchEntries+round*benchMore, r.CheckpointNote)
			}

			la, err := Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			benchImport(b, la, aloneExport, benchMore)
			r, solo := benchVerify(b, la, true)
			if r.Checked != benchMore {
				b.Fatalf("verify of the fresh ledger checked %d entries, want %d", r.Checked, benchMore)
			}
			if err := la.Close(); err != nil {
				b.Fatal(err)
			}
			os.RemoveAll(la.Dir())
			wall, cpu := inc.wall.Seconds()/solo.wall.Seconds(), inc.cpu.Seconds()/solo.cpu.Seconds()
			walls, cpus = append(walls, wall), append(cpus, cpu)
			b.Logf("round %d: verifying %d new entries on top of a checkpointed %d-entry ledger took %.2f× as long as verifying %d entries alone (target ≤ 2), and %.2f× the CPU time",
				round+1, benchMore, benchEntries+round*benchMore, wall, benchMore, cpu)
		}
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
		os.RemoveAll(dir)
	}
	b.ReportMetric(benchMedian(walls), "incremental/alone")
	b.ReportMetric(benchMedian(cpus), "incremental/alone-cpu")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkAppendDurable reports p50/fsync-p50 and p99/fsync-p99: the
// latency of Ledger.Append (sign, check, store, fsync) compared with a bare
// write and fsync of a buffer the size of one stored entry, appended to a
// file in the same directory. The two alternate, one of each per step, so
// both see the same disk.
func BenchmarkAppendDurable(b *testing.B) {
	dir := b.TempDir()
	l, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	bare, err := os.OpenFile(filepath.Join(dir, "bare-fsync"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	defer bare.Close()
	s := testSigner(b, "appender@example.com")
	at := t0
	first, err := l.Append(s, "comment", comment(0), at) // creates the feed
	if err != nil {
		b.Fatal(err)
	}
	buf := bytes.Repeat([]byte{'x'}, len(encodeValue(first)))

	var p50s, p99s []float64
	for range b.N {
		appends := make([]time.Duration, 0, benchAppends)
		syncs := make([]time.Duration, 0, benchAppends)
		for i := range benchAppends {
			at = at.Add(time.Second)
			start := time.Now()
			if _, err := l.Append(s, "comment", comment(i), at); err != nil {
				b.Fatal(err)
			}
			appends = append(appends, time.Since(start))

			start = time.Now()
			if _, err := bare.Write(buf); err != nil {
				b.Fatal(err)
			}
			if err := bare.Sync(); err != nil {
				b.Fatal(err)
			}
			syncs = append(syncs, time.Since(start))
		}
		p50 := benchPercentile(appends, 0.50).Seconds() / benchPercentile(syncs, 0.50).Seconds()
		p99 := benchPercentile(appends, 0.99).Seconds() / benchPercentile(syncs, 0.99).Seconds()
		p50s, p99s = append(p50s, p50), append(p99s, p99)
		b.Logf("over %d durable appends of %d-byte entries, the median took %.2f× a bare write+fsync of that size and the 99th percentile %.2f× the bare 99th percentile (target ≤ 3)",
			benchAppends, len(buf), p50, p99)
	}
	b.ReportMetric(benchMedian(p50s), "p50/fsync-p50")
	b.ReportMetric(benchMedian(p99s), "p99/fsync-p99")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkImport reports import/bare-ed25519: how fast Import checks and
// stores the 200,000-entry export in an empty ledger, compared with
// crypto/ed25519 verifying the same signatures on all cores, timed just
// before and just after. import/bare-ed25519-cpu is the same ratio in CPU
// time.
func BenchmarkImport(b *testing.B) {
	g := loadBenchBig(b)
	var walls, cpus []float64
	for range b.N {
		dir := b.TempDir()
		l, err := Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		before := benchVerifyBare(b, g.sigs)
		imp := benchImport(b, l, g.export, benchEntries)
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
		os.RemoveAll(dir)
		bare := benchMean(before, benchVerifyBare(b, g.sigs))
		wall, cpu := bare.wall.Seconds()/imp.wall.Seconds(), bare.cpu.Seconds()/imp.cpu.Seconds()
		walls, cpus = append(walls, wall), append(cpus, cpu)
		b.Logf("import of %d entries into an empty ledger ran at %.2f× the rate of bare ed25519 on %d cores (target ≥ 0.8); in CPU time it cost %.2f× as much as bare ed25519; it kept %.2f cores busy, bare %.2f",
			benchEntries, wall, runtime.GOMAXPROCS(0), 1/cpu, imp.cores(), bare.cores())
		benchBusy(b, "bare ed25519", bare)
	}
	b.ReportMetric(benchMedian(walls), "import/bare-ed25519")
	b.ReportMetric(benchMedian(cpus), "import/bare-ed25519-cpu")
	b.ReportMetric(0, "ns/op")
}

func benchMedian(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// benchPercentile returns the nearest-rank p-quantile of ds.
func benchPercentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[max(0, int(math.Ceil(p*float64(len(s))))-1)]
}
