//go:build unix

package sync

// Benchmarks of the remotes. As in ledger/bench_test.go, each measures its
// baselines in the same run, on the same machine and disk, and reports only
// ratios to them, and counts; ns/op is set to zero so that no bare time is
// reported.
//
// BenchmarkS3PushPull: 100,000 comments in 10 feeds (signed with
// ledger.SignEntry, one goroutine per feed, and imported in one go) pushed
// with [Sync] to a new bucket of a real S3 server (versitygw on loopback,
// see s3test), then pulled with Sync into an empty ledger:
//
//	push/bare-verify        entries pushed, and pulled, per second over the
//	pull/bare-verify        rate at which bare crypto/ed25519 verifies the
//	                        same entries' signatures on all cores
//	                        (GOMAXPROCS goroutines; target pull ≥ 0.5)
//	push/bare-verify-1core  the same over bare crypto/ed25519 on one
//	pull/bare-verify-1core  goroutine
//	push/bare-verify-cpu    the same in CPU time: bare ed25519's CPU time
//	pull/bare-verify-cpu    for the signatures over this process's for the
//	                        sync (not the S3 server's), which other work on
//	                        a shared machine moves much less
//	push-requests           requests each sync made to the store
//	pull-requests
//	batches                 batches the pull read
//
// Bare verification is of what Entry.Verify checks once the SSHSIG blob is
// parsed: ed25519.Verify of the SSHSIG signed data (built outside the
// timing). The pull must store all 100,000 entries, with the source's
// heads, or the benchmark fails.
//
// BenchmarkServeLoad: a [Server] on the demo workspace's Badger ledger
// (workspace.Create; the anchor from its root.pin) behind a real loopback
// listener. Eight clients push, each its own workspace member's feed, one
// new comment per POST /v1/entries (signed beforehand, each continuing the
// feed); first alone for 3 s, then for 10 s beside eight clients asking
// GET /v1/verdict?model=credit-risk&version=7&to=production, each client
// one request at a time, at most 4,000 each:
//
//	verdict-rate/judge-rate      verdicts answered per second times the
//	                             time of one in-process policy.Judge of the
//	                             same subject on the same ledger (Judge
//	                             itself runs its bootstrap on every core)
//	verdict-p50/judge            verdict latency over one Judge
//	verdict-p99/judge
//	push-rate/bare-verify        entries pushed per second beside the
//	push-rate/bare-verify-1core  verdicts, over bare crypto/ed25519 on all
//	                             cores, and on one, verifying the pushed
//	                             entries' signatures
//	push-p50/fsync               push latency beside the verdicts over one
//	push-p99/fsync               bare write and fsync of 512 bytes to a file
//	                             beside the ledger
//	alone-push-rate/bare-verify  the same for the pushes alone
//	alone-push-p50/fsync
//	alone-push-p99/fsync
//	alone-push/bare-verify-cpu   pushes alone per CPU second of the process
//	                             (server and clients) over bare ed25519
//	                             verifies per CPU second
//	heap-peak-MB                 HeapInuse of the process (server and
//	heap-after-MB                clients): the highest sampled every 20 ms
//	                             during the loads, and after them and a GC;
//	                             memory is not a time, so these are plain
//	verdicts, pushes,            how many were answered
//	alone-pushes
//
// "One Judge" and "one bare fsync" are medians, over calls made before the
// loads and after them, so that drift in the machine's load cancels; the
// bare verify rates are likewise the mean of a measurement before and one
// after. Every reply is checked: a status other than 200, a push not
// stored as exactly one new entry, or a verdict other than Judge's in
// process fails the benchmark, as does a server whose feeds do not end
// where the accepted pushes put them. With few verdicts in the run, their
// 99th percentile is their slowest.
//
// Run them with
//
//	go test -run '^$' -bench . -benchtime 1x -timeout 30m ./sync/
//
// Each b.N iteration is one measurement; with -benchtime Nx the median of
// the N ratios is reported and every one is logged. Each benchmark takes
// about a minute on 2 cores, more on a busy machine.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
	"github.com/signoff-dev/signoff/policy/workspace"
	"github.com/signoff-dev/signoff/sync/s3test"
)

const (
	benchS3Entries = 100_000 // entries pushed and pulled
	benchS3Feeds   = 10      // feeds they are spread over

	benchServePushers    = 8                // clients pushing, one per workspace member
	benchServeVerdicters = 8                // clients asking for verdicts
	benchServeAloneFor   = 3 * time.Second  // how long the pushers send alone
	benchServeFor        = 10 * time.Second // how long all send together
	benchServeRequests   = 1_000            // requests per client and load at most
	benchServeJudges     = 10               // in-process Judge calls timed, before and after
	benchServeFsyncs     = 100              // bare fsyncs timed, before and after
	benchServeSigs       = 10_000           // pushed entries whose signatures set the bare rate

	// benchSignedLen is the length of what an SSHSIG signer signs: "SSHSIG",
	// then the namespace, the reserved field, "sha512" and the SHA-512 of
	// the payload, as SSH strings.
	benchSignedLen = 6 + 4 + len(ledger.Namespace) + 4 + 4 + len("sha512") + 4 + sha512.Size
)

// benchT0 is when the benchmarks' entries start: after the tests'
// keyring is in force, so that a home's root admits their signers.
var benchT0 = t0

// benchChain signs n comments continuing s's feed after seq and prev,
// step apart from at.
func benchChain(s ledger.Signer, seq uint64, prev ledger.ID, at time.Time, step time.Duration, n int) ([]*ledger.Entry, error) {
	out := make([]*ledger.Entry, 0, n)
	for i := range n {
		seq++
		e, err := ledger.SignEntry(s, ledger.Header{
			Kind: "comment",
			Seq:  seq,
			Prev: prev,
			Time: at.Add(time.Duration(i) * step),
			Body: fmt.Appendf(nil, `{"text":"comment %d: checked the calibration plot"}`, seq),
		})
		if err != nil {
			return nil, fmt.Errorf("%s seq %d: %w", s.Identity(), seq, err)
		}
		out = append(out, e)
		prev = e.ID
	}
	return out, nil
}

// benchChains runs one benchChain per signer, concurrently, and returns
// each signer's entries.
func benchChains(signers []ledger.Signer, start func(i int) (uint64, ledger.ID, time.Time), step time.Duration, n int) ([][]*ledger.Entry, error) {
	out := make([][]*ledger.Entry, len(signers))
	errs := make([]error, len(signers))
	var wg stdsync.WaitGroup
	for i, s := range signers {
		seq, prev, at := start(i)
		wg.Go(func() { out[i], errs[i] = benchChain(s, seq, prev, at, step, n) })
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// benchSig is one signature as bare ed25519 verifies it: the public key,
// the SSHSIG signed data and the 64-byte signature.
type benchSig struct {
	pub [ed25519.PublicKeySize]byte
	sig [ed25519.SignatureSize]byte
	msg [benchSignedLen]byte
}

// benchSigs returns the signatures of es as bare ed25519 sees them: what
// Entry.Verify checks, once the SSHSIG blob is parsed and the signed data
// built.
func benchSigs(es []*ledger.Entry) ([]benchSig, error) {
	sigs := make([]benchSig, len(es))
	for i, e := range es {
		s, err := ledger.ParseSignature(e.Signature)
		if err != nil {
			return nil, err
		}
		h := sha512.Sum512(e.Payload)
		msg := []byte("SSHSIG")
		for _, f := range [][]byte{[]byte(s.Namespace), nil, []byte("sha512"), h[:]} {
			msg = binary.BigEndian.AppendUint32(msg, uint32(len(f)))
			msg = append(msg, f...)
		}
		if len(msg) != benchSignedLen {
			return nil, fmt.Errorf("signed data is %d bytes, want %d", len(msg), benchSignedLen)
		}
		copy(sigs[i].pub[:], s.PublicKey)
		copy(sigs[i].sig[:], s.Sig)
		copy(sigs[i].msg[:], msg)
	}
	if len(sigs) > 0 && !ed25519.Verify(sigs[0].pub[:], sigs[0].msg[:], sigs[0].sig[:]) {
		return nil, errors.New("the first signature does not verify over the signed data built here: benchSigs builds it wrong")
	}
	return sigs, nil
}

// benchVerifyBare times crypto/ed25519.Verify of every signature in sigs
// on workers goroutines, handing out blocks of 256, by the clock and in
// CPU time.
func benchVerifyBare(b *testing.B, sigs []benchSig, workers int) (wall, cpu time.Duration) {
	b.Helper()
	const block = 256
	runtime.GC()
	var next atomic.Int64
	var bad atomic.Int64
	cpu0, start := benchCPU(), time.Now()
	var wg stdsync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				lo := int(next.Add(block)) - block
				if lo >= len(sigs) {
					return
				}
				for i := lo; i < min(lo+block, len(sigs)); i++ {
					s := &sigs[i]
					if !ed25519.Verify(s.pub[:], s.msg[:], s.sig[:]) {
						bad.Add(1)
					}
				}
			}
		})
	}
	wg.Wait()
	wall, cpu = time.Since(start), benchCPU()-cpu0
	if n := bad.Load(); n > 0 {
		b.Fatalf("%d bare signatures do not verify", n)
	}
	// A baseline that should keep every core busy and did not shows
	// that another process had the machine: the wall-clock ratios move;
	// the CPU-time ones much less.
	if cores := cpu.Seconds() / wall.Seconds(); workers > 1 && cores < 0.9*float64(workers) {
		b.Logf("note: bare ed25519 on %d goroutines kept only %.2f cores busy: the machine is shared; trust the CPU-time ratios more", workers, cores)
	}
	return wall, cpu
}

// benchCPU is the CPU time (user and system) this process has used.
func benchCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchRates is how many signatures per second bare ed25519 verifies,
// by the clock on one goroutine and on GOMAXPROCS, and per CPU second.
type benchRates struct{ one, all, cpu float64 }

// benchBareRates measures the bare verify rates of sigs.
func benchBareRates(b *testing.B, sigs []benchSig) benchRates {
	b.Helper()
	one, cpu1 := benchVerifyBare(b, sigs, 1)
	all, cpuN := benchVerifyBare(b, sigs, runtime.GOMAXPROCS(0))
	n := float64(len(sigs))
	return benchRates{n / one.Seconds(), n / all.Seconds(), 2 * n / (cpu1 + cpuN).Seconds()}
}

// benchMeanRates is the rate over the mean of the two times.
func benchMeanRates(x, y benchRates) benchRates {
	return benchRates{2 / (1/x.one + 1/y.one), 2 / (1/x.all + 1/y.all), 2 / (1/x.cpu + 1/y.cpu)}
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

// benchHeads returns l's heads by feed, as text.
func benchHeads(b *testing.B, l *ledger.Ledger) map[string]string {
	b.Helper()
	hs, err := l.Heads()
	if err != nil {
		b.Fatal(err)
	}
	out := map[string]string{}
	for _, h := range hs {
		out[h.Feed.String()] = fmt.Sprint(h.Seq, h.IDs)
	}
	return out
}

func benchCount(b *testing.B, l *ledger.Ledger) int {
	b.Helper()
	n := 0
	if err := l.Entries(ledger.Query{}, func(*ledger.Entry) error { n++; return nil }); err != nil {
		b.Fatal(err)
	}
	return n
}

// benchS3Source builds the ledger pushed: benchS3Entries comments in
// benchS3Feeds feeds, signed with ledger.SignEntry one goroutine per feed
// and imported in one go (quicker than Append, which fsyncs each). It
// returns the ledger and its entries.
func benchS3Source(b *testing.B) (*ledger.Ledger, []*ledger.Entry) {
	b.Helper()
	var signers []ledger.Signer
	for i := range benchS3Feeds {
		signers = append(signers, signer(b, fmt.Sprintf("reviewer%d@example.com", i)))
	}
	chains, err := benchChains(signers, func(int) (uint64, ledger.ID, time.Time) { return 0, ledger.ID{}, benchT0 }, time.Second, benchS3Entries/benchS3Feeds)
	if err != nil {
		b.Fatal(err)
	}
	var export bytes.Buffer
	var all []*ledger.Entry
	for _, c := range chains {
		for _, e := range c {
			export.Write(e.MarshalLine())
			export.WriteByte('\n')
		}
		all = append(all, c...)
	}
	l := open(b)
	res, err := l.Import(&export, ledger.ImportOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if res.Added != benchS3Entries {
		b.Fatalf("the source ledger took %d entries, want %d", res.Added, benchS3Entries)
	}
	return l, all
}

// BenchmarkS3PushPull reports how fast Sync pushes 100,000 entries to a
// new bucket of a real S3 server, and pulls them into an empty ledger, as
// ratios to the rate at which bare crypto/ed25519 verifies the same
// signatures, timed just before the push and just after the pull.
func BenchmarkS3PushPull(b *testing.B) {
	ctx := context.Background()
	src, entries := benchS3Source(b)
	sigs, err := benchSigs(entries)
	if err != nil {
		b.Fatal(err)
	}
	entries = nil
	want := benchHeads(b, src)

	srv := s3test.Start(b)
	srv.Setenv(b)

	var pushAll, pullAll, push1, pull1, pushCPUs, pullCPUs []float64
	var pushReq, pullReq, batches int
	for i := range b.N {
		bucket, err := srv.Bucket(fmt.Sprintf("bench-%d", i))
		if err != nil {
			b.Fatal(err)
		}
		store, err := NewS3(ctx, "s3://"+bucket, S3Options{Endpoint: srv.Endpoint})
		if err != nil {
			b.Fatal(err)
		}
		dst := open(b) // a home that trusts the root, and holds its governance

		before := benchBareRates(b, sigs)

		runtime.GC()
		cpu, start := benchCPU(), time.Now()
		pushed, err := Sync(ctx, src, store, &State{}, testAnchor)
		pushTime, pushCPU := time.Since(start), benchCPU()-cpu
		if err != nil {
			b.Fatalf("push: %v", err)
		}
		if pushed.Pushed != benchS3Entries+testGovEntries || pushed.Pulled != 0 || len(pushed.Refused) != 0 {
			b.Fatalf("push: pushed %d, pulled %d, refused %q; want %d, 0, none", pushed.Pushed, pushed.Pulled, pushed.Refused, benchS3Entries+testGovEntries)
		}

		runtime.GC()
		cpu, start = benchCPU(), time.Now()
		pulled, err := Sync(ctx, dst, store, &State{}, testAnchor)
		pullTime, pullCPU := time.Since(start), benchCPU()-cpu
		if err != nil {
			b.Fatalf("pull: %v", err)
		}
		if pulled.Pulled != benchS3Entries || pulled.Pushed != 0 || len(pulled.Refused) != 0 || len(pulled.Equivocations) != 0 {
			b.Fatalf("pull: pulled %d, pushed %d, refused %q, equivocations %q; want %d, 0, none, none",
				pulled.Pulled, pulled.Pushed, pulled.Refused, pulled.Equivocations, benchS3Entries)
		}

		bare := benchMeanRates(before, benchBareRates(b, sigs))

		if n := benchCount(b, dst); n != benchS3Entries+testGovEntries {
			b.Fatalf("the destination holds %d entries, want %d", n, benchS3Entries+testGovEntries)
		}
		if got := benchHeads(b, dst); !maps.Equal(got, want) {
			b.Fatalf("the destination's heads differ from the source's:\n got %v\nwant %v", got, want)
		}
		if err := dst.Close(); err != nil {
			b.Fatal(err)
		}

		pushRate := benchS3Entries / pushTime.Seconds()
		pullRate := benchS3Entries / pullTime.Seconds()
		pushAll, pullAll = append(pushAll, pushRate/bare.all), append(pullAll, pullRate/bare.all)
		push1, pull1 = append(push1, pushRate/bare.one), append(pull1, pullRate/bare.one)
		pushCPUs = append(pushCPUs, benchS3Entries/pushCPU.Seconds()/bare.cpu)
		pullCPUs = append(pullCPUs, benchS3Entries/pullCPU.Seconds()/bare.cpu)
		pushReq, pullReq, batches = pushed.Requests, pulled.Requests, pulled.Batches
		b.Logf("S3 sync of %d entries in %d feeds: push ran at %.2f× and pull at %.2f× the rate of bare ed25519 on %d cores (target: pull ≥ 0.5); "+
			"bare ed25519 on %d cores ran %.2f× its rate on one, and push ran at %.2f×, pull at %.2f× that; "+
			"in this process's CPU time (not the S3 server's) push cost %.2f× and pull %.2f× as much as bare ed25519; "+
			"push took %d requests, pull %d requests for %d batches",
			benchS3Entries, benchS3Feeds, pushRate/bare.all, pullRate/bare.all, runtime.GOMAXPROCS(0),
			runtime.GOMAXPROCS(0), bare.all/bare.one, pushRate/bare.one, pullRate/bare.one,
			1/pushCPUs[len(pushCPUs)-1], 1/pullCPUs[len(pullCPUs)-1],
			pushed.Requests, pulled.Requests, pulled.Batches)
	}
	b.ReportMetric(benchMedian(pushAll), "push/bare-verify")
	b.ReportMetric(benchMedian(pullAll), "pull/bare-verify")
	b.ReportMetric(benchMedian(push1), "push/bare-verify-1core")
	b.ReportMetric(benchMedian(pull1), "pull/bare-verify-1core")
	b.ReportMetric(benchMedian(pushCPUs), "push/bare-verify-cpu")
	b.ReportMetric(benchMedian(pullCPUs), "pull/bare-verify-cpu")
	b.ReportMetric(float64(pushReq), "push-requests")
	b.ReportMetric(float64(pullReq), "pull-requests")
	b.ReportMetric(float64(batches), "batches")
	b.ReportMetric(0, "ns/op")
}

// benchLoad is what the load's clients saw.
type benchLoad struct {
	mu       stdsync.Mutex
	verdicts []time.Duration
	pushes   []time.Duration
	errs     []string
	elapsed  time.Duration // from the first request sent to the last answered
	cpu      time.Duration // CPU time of the process (server and clients) meanwhile
	peak     uint64        // the highest HeapInuse sampled
}

func (ld *benchLoad) fail(format string, args ...any) {
	ld.mu.Lock()
	defer ld.mu.Unlock()
	ld.errs = append(ld.errs, fmt.Sprintf(format, args...))
}

func (ld *benchLoad) add(vs, ps []time.Duration) {
	ld.mu.Lock()
	defer ld.mu.Unlock()
	ld.verdicts = append(ld.verdicts, vs...)
	ld.pushes = append(ld.pushes, ps...)
}

// benchServe is a server under load and its clients.
type benchServe struct {
	client     *http.Client
	verdictURL string
	pushURL    string
	expect     *policy.Verdict // what every verdict must say
	lines      [][][]byte      // each pusher's signed lines, in feed order
	sent       []int           // how many of them the server accepted
}

// run sends for d, from pushers clients each pushing its own feed's
// next line and verdicters clients each asking for the verdict, one
// request at a time, at most benchServeRequests each.
func (sv *benchServe) run(pushers, verdicters int, d time.Duration) *benchLoad {
	runtime.GC()
	stop := make(chan struct{})
	peak := benchHeapPeak(stop)
	ld := &benchLoad{}
	deadline := time.Now().Add(d)
	cpu, start := benchCPU(), time.Now()
	var wg stdsync.WaitGroup
	for c := range pushers {
		wg.Go(func() {
			var ps []time.Duration
			defer func() { ld.add(nil, ps) }()
			for range benchServeRequests {
				if !time.Now().Before(deadline) {
					return
				}
				if sv.sent[c] == len(sv.lines[c]) {
					ld.fail("pusher %d ran out of signed lines", c)
					return
				}
				d, err := benchPush(sv.client, sv.pushURL, sv.lines[c][sv.sent[c]])
				if err != nil {
					ld.fail("pusher %d, its line %d: %v", c, sv.sent[c]+1, err)
					return
				}
				sv.sent[c]++
				ps = append(ps, d)
			}
		})
	}
	for c := range verdicters {
		wg.Go(func() {
			var vs []time.Duration
			defer func() { ld.add(vs, nil) }()
			for range benchServeRequests {
				if !time.Now().Before(deadline) {
					return
				}
				d, err := benchVerdict(sv.client, sv.verdictURL, sv.expect)
				if err != nil {
					ld.fail("verdict client %d: %v", c, err)
					return
				}
				vs = append(vs, d)
			}
		})
	}
	wg.Wait()
	ld.elapsed, ld.cpu = time.Since(start), benchCPU()-cpu
	close(stop)
	ld.peak = <-peak
	return ld
}

// benchFsyncs times n appends of 512 bytes and an fsync to a file in dir.
func benchFsyncs(b *testing.B, dir string, n int) []time.Duration {
	b.Helper()
	f, err := os.OpenFile(filepath.Join(dir, "bench-fsync"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := bytes.Repeat([]byte{'x'}, 512)
	out := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		out = append(out, time.Since(start))
	}
	return out
}

// benchJudges times n calls of policy.Judge for q, one at a time.
func benchJudges(b *testing.B, l *ledger.Ledger, q policy.Query, n int) ([]time.Duration, *policy.Verdict) {
	b.Helper()
	var v *policy.Verdict
	out := make([]time.Duration, 0, n)
	runtime.GC()
	for range n {
		start := time.Now()
		var err error
		if v, err = policy.Judge(l, q); err != nil {
			b.Fatal(err)
		}
		out = append(out, time.Since(start))
	}
	return out, v
}

// benchHeapPeak samples HeapInuse every 20 ms until stop is closed, then
// sends the highest it saw.
func benchHeapPeak(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		var peak uint64
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				out <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

// BenchmarkServeLoad reports how a signoff serve endpoint holds up under
// concurrent verdicts and pushes: throughput and latency as ratios to an
// in-process policy.Judge, a bare fsync and bare ed25519 verification,
// all measured in the same run, and the heap it takes.
func BenchmarkServeLoad(b *testing.B) {
	ctx := context.Background()
	dir := filepath.Join(b.TempDir(), "demo")
	if err := workspace.Create(dir, time.Now(), nil); err != nil {
		b.Fatal(err)
	}
	pin, err := os.ReadFile(filepath.Join(dir, workspace.RootPin))
	if err != nil {
		b.Fatal(err)
	}
	anchor := strings.TrimSpace(string(pin))
	l, err := ledger.Open(filepath.Join(dir, workspace.LedgerDir))
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	// The pushers' keys: one member each, each continuing its own feed.
	var members []ledger.Signer
	for _, s := range workspace.Signers[:benchServePushers] {
		k, err := ledger.LoadKeyFile(filepath.Join(workspace.Home(dir, s), workspace.KeyFile), nil)
		if err != nil {
			b.Fatal(err)
		}
		members = append(members, k)
	}

	const model, version, to = "credit-risk", "7", "production"
	trust, err := policy.LoadTrust(l, anchor, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	bundle, err := policy.FindBundle(l, model, version, to, trust, time.Now())
	if err != nil {
		b.Fatal(err)
	}

	srv, err := NewServer(ctx, ServerOptions{Ledger: l, Anchor: anchor})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: benchServePushers + benchServeVerdicters}
	defer tr.CloseIdleConnections()
	sv := &benchServe{
		client:     &http.Client{Transport: tr, Timeout: 5 * time.Minute},
		verdictURL: hs.URL + "/v1/verdict?model=" + model + "&version=" + version + "&to=" + to,
		pushURL:    hs.URL + "/v1/entries",
	}

	m := map[string][]float64{}
	var nVerdicts, nPushes, nAlone int
	for range b.N {
		// Each member's next entries, continuing its feed, signed ahead.
		feeds := make([]ledger.Feed, len(members))
		had := make([]uint64, len(members))
		heads := map[ledger.Feed]ledger.FeedHead{}
		hl, err := l.Heads()
		if err != nil {
			b.Fatal(err)
		}
		for _, h := range hl {
			heads[h.Feed] = h
		}
		now := time.Now()
		chains, err := benchChains(members, func(i int) (uint64, ledger.ID, time.Time) {
			feeds[i], _ = ledger.ParseFeed(ledger.Fingerprint(members[i].PublicKey()))
			h, ok := heads[feeds[i]]
			if !ok {
				return 0, ledger.ID{}, now
			}
			had[i] = h.Seq
			if len(h.IDs) != 1 {
				b.Errorf("feed %s is forked at seq %d", feeds[i], h.Seq)
				return 0, ledger.ID{}, now
			}
			at := now
			if prev, err := l.Get(h.IDs[0]); err != nil {
				b.Error(err)
			} else if !prev.Time.Before(at) {
				at = prev.Time.Add(time.Microsecond)
			}
			return h.Seq, h.IDs[0], at
		}, time.Microsecond, 2*benchServeRequests)
		if err != nil || b.Failed() {
			b.Fatal(err)
		}
		sv.lines, sv.sent = make([][][]byte, len(chains)), make([]int, len(chains))
		var pushed []*ledger.Entry
		for i, c := range chains {
			for _, e := range c {
				sv.lines[i] = append(sv.lines[i], append(e.MarshalLine(), '\n'))
			}
			pushed = append(pushed, c...)
		}
		sigs, err := benchSigs(pushed[:min(len(pushed), benchServeSigs)])
		if err != nil {
			b.Fatal(err)
		}
		pushed, chains = nil, nil

		// Baselines before.
		q := policy.Query{Bundle: bundle, To: to, At: time.Now(), Anchor: anchor}
		judges, expect := benchJudges(b, l, q, benchServeJudges)
		sv.expect = expect
		fsyncs := benchFsyncs(b, dir, benchServeFsyncs)
		bareBefore := benchBareRates(b, sigs)

		// The loads: pushes alone, then pushes and verdicts.
		alone := sv.run(benchServePushers, 0, benchServeAloneFor)
		mixed := sv.run(benchServePushers, benchServeVerdicters, benchServeFor)
		for _, ld := range []*benchLoad{alone, mixed} {
			if len(ld.errs) > 0 {
				b.Fatalf("%d clients stopped on an unexpected reply; the first: %s", len(ld.errs), ld.errs[0])
			}
		}
		if len(alone.pushes) == 0 || len(mixed.verdicts) == 0 || len(mixed.pushes) == 0 {
			b.Fatalf("%d pushes alone, %d verdicts and %d pushes together: want some of each", len(alone.pushes), len(mixed.verdicts), len(mixed.pushes))
		}
		// The server holds every push, in its feed.
		hl, err = l.Heads()
		if err != nil {
			b.Fatal(err)
		}
		got := map[ledger.Feed]uint64{}
		for _, h := range hl {
			got[h.Feed] = h.Seq
		}
		accepted := 0
		for i := range members {
			accepted += sv.sent[i]
			if got[feeds[i]] != had[i]+uint64(sv.sent[i]) {
				b.Fatalf("feed of %s: the server's head is seq %d, want %d + %d pushed", members[i].Identity(), got[feeds[i]], had[i], sv.sent[i])
			}
		}
		if accepted != len(alone.pushes)+len(mixed.pushes) {
			b.Fatalf("%d pushes timed but %d accepted", len(alone.pushes)+len(mixed.pushes), accepted)
		}
		sv.lines = nil
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		after := float64(ms.HeapInuse) / (1 << 20)

		// Baselines after.
		q.At = time.Now()
		judges2, _ := benchJudges(b, l, q, benchServeJudges)
		judge := benchPercentile(append(judges, judges2...), 0.5).Seconds()
		fsync := benchPercentile(append(fsyncs, benchFsyncs(b, dir, benchServeFsyncs)...), 0.5).Seconds()
		bare := benchMeanRates(bareBefore, benchBareRates(b, sigs))

		rate := func(ds []time.Duration, ld *benchLoad) float64 { return float64(len(ds)) / ld.elapsed.Seconds() }
		pct := func(ds []time.Duration, p float64) float64 { return benchPercentile(ds, p).Seconds() }
		one := map[string]float64{
			"verdict-rate/judge-rate":     rate(mixed.verdicts, mixed) * judge,
			"verdict-p50/judge":           pct(mixed.verdicts, 0.5) / judge,
			"verdict-p99/judge":           pct(mixed.verdicts, 0.99) / judge,
			"push-rate/bare-verify":       rate(mixed.pushes, mixed) / bare.all,
			"push-rate/bare-verify-1core": rate(mixed.pushes, mixed) / bare.one,
			"push-p50/fsync":              pct(mixed.pushes, 0.5) / fsync,
			"push-p99/fsync":              pct(mixed.pushes, 0.99) / fsync,
			"alone-push-rate/bare-verify": rate(alone.pushes, alone) / bare.all,
			"alone-push/bare-verify-cpu":  float64(len(alone.pushes)) / alone.cpu.Seconds() / bare.cpu,
			"alone-push-p50/fsync":        pct(alone.pushes, 0.5) / fsync,
			"alone-push-p99/fsync":        pct(alone.pushes, 0.99) / fsync,
			"heap-peak-MB":                float64(max(alone.peak, mixed.peak)) / (1 << 20),
			"heap-after-MB":               after,
		}
		for k, v := range one {
			m[k] = append(m[k], v)
		}
		nVerdicts, nPushes, nAlone = len(mixed.verdicts), len(mixed.pushes), len(alone.pushes)
		b.Logf("serve, %d pushing clients alone for %v: %d pushes of one entry each, at %.4f× the rate of bare ed25519 on %d cores; "+
			"median latency %.1f× and 99th percentile %.1f× one bare fsync; in CPU time (server and clients) a push cost %.1f× one bare verify; heap in use peaked at %.1f MB",
			benchServePushers, benchServeAloneFor, len(alone.pushes), one["alone-push-rate/bare-verify"], runtime.GOMAXPROCS(0),
			one["alone-push-p50/fsync"], one["alone-push-p99/fsync"], 1/one["alone-push/bare-verify-cpu"], float64(alone.peak)/(1<<20))
		b.Logf("serve, %d pushing and %d verdict clients for %v: %d verdicts and %d pushes. "+
			"Verdicts came at %.2f× the rate of one in-process Judge (which itself uses every core), median latency %.2f× and 99th percentile %.2f× one Judge. "+
			"Pushes came at %.4f× the rate of bare ed25519 on %d cores (%.4f× its rate on one), median latency %.1f× and 99th percentile %.1f× one bare fsync. "+
			"Heap in use peaked at %.1f MB, and was %.1f MB after the loads and a GC",
			benchServePushers, benchServeVerdicters, benchServeFor, len(mixed.verdicts), len(mixed.pushes),
			one["verdict-rate/judge-rate"], one["verdict-p50/judge"], one["verdict-p99/judge"],
			one["push-rate/bare-verify"], runtime.GOMAXPROCS(0), one["push-rate/bare-verify-1core"], one["push-p50/fsync"], one["push-p99/fsync"],
			float64(mixed.peak)/(1<<20), after)
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		b.ReportMetric(benchMedian(m[k]), k)
	}
	b.ReportMetric(float64(nVerdicts), "verdicts")
	b.ReportMetric(float64(nPushes), "pushes")
	b.ReportMetric(float64(nAlone), "alone-pushes")
	b.ReportMetric(0, "ns/op")
}

// benchPush posts one line and checks that the server stored it.
func benchPush(c *http.Client, url string, line []byte) (time.Duration, error) {
	start := time.Now()
	resp, err := c.Post(url, "application/jsonl", bytes.NewReader(line))
	if err != nil {
		return 0, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s: %s", resp.Status, body)
	}
	var rep PushReply
	if err := json.Unmarshal(body, &rep); err != nil {
		return 0, err
	}
	if rep.Accepted != 1 || rep.Held != 0 || len(rep.Refused) != 0 {
		return 0, fmt.Errorf("accepted %d, held %d, refused %+v; want 1, 0, none", rep.Accepted, rep.Held, rep.Refused)
	}
	return d, nil
}

// benchVerdict asks for a verdict; with want, it checks the answer
// agrees with the in-process one.
func benchVerdict(c *http.Client, url string, want *policy.Verdict) (time.Duration, error) {
	start := time.Now()
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s: %s", resp.Status, body)
	}
	if want != nil {
		var v policy.Verdict
		if err := json.Unmarshal(body, &v); err != nil {
			return 0, err
		}
		if v.Approved != want.Approved || v.Subject.Bundle != want.Subject.Bundle || !slices.Equal(v.Reasons, want.Reasons) {
			return 0, fmt.Errorf("the server says approved %v for %s (%q), in process %v for %s (%q)",
				v.Approved, v.Subject.Bundle, v.Reasons, want.Approved, want.Subject.Bundle, want.Reasons)
		}
	}
	return d, nil
}
