//go:build unix

package policy

// BenchmarkVerifySubject measures this limit:
//
//	Verify for one subject must read only what concerns it: on a ledger of
//	200,000 entries about 2,000 subjects, at most 2× the time on a ledger
//	holding only that subject's entries (ratio measured in the same run).
//
// As in ledger/bench_test.go, it reports only ratios to a baseline
// measured in the same run, and sets ns/op to zero:
//
//	verify/subject-only      the time Judge takes for one subject on the
//	                         big ledger over the time it takes for the same
//	                         subject on a ledger holding only the governance,
//	                         that subject's entries and its evidence
//	                         (target ≤ 2)
//	verify/subject-only-cpu  the same ratio in CPU time (getrusage, hence the
//	                         unix build tag), which other work on a shared
//	                         machine moves much less
//	big-ledger-entries       entries in each ledger, for the record
//	small-ledger-entries
//
// Each b.N iteration is one measurement: verifyRounds Judge calls on each
// ledger, alternating which goes first, each after a garbage collection;
// the ratio is of their sums. With -benchtime Nx the median of the N ratios
// is reported and every ratio is logged. Before measuring, the two
// verdicts are compared: they must be the same, entry for entry (the small
// ledger's entries are signed in feeds of their own, so its entry ids are
// mapped to the big ledger's first), or the benchmark fails.
//
// Run it with
//
//	go test -run '^$' -bench BenchmarkVerifySubject -benchtime 20x ./policy/
//
// The ledgers are built once per run of BenchmarkVerifySubject, in its
// b.TempDir, and stay open for its sub-benchmark: governance (a root, a
// keyring of nine members in ten feeds with the admin's, a policy), one
// real sealed bundle whose evidence policy.CarryEvidence stores, and 1,999
// other bundles made in memory the same way (their lock, manifest and
// metrics carried as blobs). Each subject has 100 entries, a request and
// 99 decisions, and the subjects take turns, so the measured subject's
// entries are spread over the whole ledger and every feed. Entries are
// signed with ledger.SignEntry, one goroutine per feed, and imported in
// one go; building takes under a minute on 2 cores. TestVerifyFixture
// builds the same fixture at a tiny size, so that `go test` keeps it
// honest.

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/signoff-dev/signoff/evidence"
	"github.com/signoff-dev/signoff/ledger"
)

const (
	verifySubjects   = 2_000 // subjects in the big ledger
	verifyPerSubject = 100   // entries about each: a request and decisions
	verifyRounds     = 10    // Judge calls on each ledger per b.N iteration
)

// verifyT0 is when the governance was adopted; the subjects' entries
// follow an hour later, one second apart.
var verifyT0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// A verifyMember is a signer and what the keyring gives it.
type verifyMember struct {
	signer ledger.Signer
	key    string // OpenSSH public key line
	roles  []string
}

func newVerifyMember(tb testing.TB, identity string, roles ...string) *verifyMember {
	tb.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	ss, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := ledger.NewSigner(ss, identity)
	if err != nil {
		tb.Fatal(err)
	}
	key := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(ss.PublicKey())))
	return &verifyMember{signer: s, key: key, roles: roles}
}

// verifyBundleFiles returns the files of subject s's bundle. Only the
// measured subject's are written to a directory and sealed; the others
// are locked in memory, as Seal would lock them.
func verifyBundleFiles(s int) map[string][]byte {
	return map[string][]byte{
		evidence.ManifestName: fmt.Appendf(nil, `model: model-%04d
version: "1"
risk_tier: high
change: standard
transition: {from: staging, to: production}
authors: [author@example.com]
artifacts:
  - {path: model.bin}
card: MODEL_CARD.md
metrics: {candidate: metrics.json}
`, s),
		"MODEL_CARD.md": []byte("# Credit scoring\n\nScores consumer credit applications. Not for use on business loans.\n\n## Limitations\n\n- Trained on 2024 applications only.\n"),
		"metrics.json":  fmt.Appendf(nil, `{"roc_auc": %.3f, "recall": %.3f}`+"\n", 0.75+float64(s%100)/1000, 0.6+float64(s%50)/1000),
		"model.bin":     fmt.Appendf(nil, "weights of model %d\n", s),
	}
}

func verifyLock(files map[string][]byte) *evidence.Lock {
	l := &evidence.Lock{}
	for name, data := range files {
		l.Files = append(l.Files, evidence.LockedFile{Path: name, SHA256: sha256.Sum256(data), Size: int64(len(data))})
	}
	slices.SortFunc(l.Files, func(a, b evidence.LockedFile) int { return strings.Compare(a.Path, b.Path) })
	return l
}

// A verifyJob is an entry to sign: its signer and header, without seq
// and prev, which the feed's place gives.
type verifyJob struct {
	signer ledger.Signer
	h      ledger.Header
}

// verifySign signs jobs, one goroutine per signer, each signer's entries
// chained in the order they come in jobs. Each entry is read back as
// Judge reads it, so a body Judge would ignore fails the build.
func verifySign(jobs []verifyJob) ([]*ledger.Entry, error) {
	out := make([]*ledger.Entry, len(jobs))
	byFeed := map[string][]int{}
	var feeds []string
	for i, j := range jobs {
		id := j.signer.Identity()
		if _, ok := byFeed[id]; !ok {
			feeds = append(feeds, id)
		}
		byFeed[id] = append(byFeed[id], i)
	}
	errs := make([]error, len(feeds))
	var wg sync.WaitGroup
	for f, id := range feeds {
		wg.Go(func() {
			var seq uint64
			var prev ledger.ID
			for _, i := range byFeed[id] {
				h := jobs[i].h
				seq++
				h.Seq, h.Prev = seq, prev
				e, err := ledger.SignEntry(jobs[i].signer, h)
				if err == nil {
					_, err = ReadRecord(e)
				}
				if err != nil {
					errs[f] = fmt.Errorf("%s entry %d: %w", id, seq, err)
					return
				}
				out[i], prev = e, e.ID
			}
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// verifyFixture is the measured subject and the two ledgers that hold it.
type verifyFixture struct {
	model        string    // the measured subject's model name
	digest       string    // the measured subject's bundle digest
	anchor       string    // the root's digest
	at           time.Time // when it is judged: after every entry
	perSubject   int
	big, small   *ledger.Ledger
	bigEntries   int
	smallEntries int
	// rename maps the small ledger's entry ids, in full and short, to the
	// big ledger's ids of the same records.
	rename *strings.Replacer
}

func (fx *verifyFixture) close() {
	for _, l := range []*ledger.Ledger{fx.big, fx.small} {
		if l != nil {
			l.Close()
		}
	}
}

// judge does what signoff verify --model M --version 1 does: find the
// version's bundle, then judge it.
func (fx *verifyFixture) judge(l *ledger.Ledger) (*Verdict, error) {
	trust, err := LoadTrust(l, fx.anchor, fx.at)
	if err != nil {
		return nil, err
	}
	digest, err := FindBundle(l, fx.model, "1", "production", trust, fx.at)
	if err != nil {
		return nil, err
	}
	if digest != fx.digest {
		return nil, fmt.Errorf("FindBundle found %s, want %s", digest, fx.digest)
	}
	return Judge(l, Query{Bundle: digest, To: "production", At: fx.at, Anchor: fx.anchor, Trust: trust})
}

// buildVerifyFixture builds, under dir, a big ledger of subjects ×
// perSubject entries and a small one holding only those of one subject,
// each with the same governance.
func buildVerifyFixture(tb testing.TB, dir string, subjects, perSubject int) *verifyFixture {
	tb.Helper()
	if perSubject < 8 {
		tb.Fatalf("%d entries per subject: want at least a request and one decision by each of the 7 reviewers", perSubject)
	}
	admin := newVerifyMember(tb, "admin@example.com", "governance")
	requesters := []*verifyMember{
		newVerifyMember(tb, "ml.engineer1@example.com", "ml-engineer"),
		newVerifyMember(tb, "ml.engineer2@example.com", "ml-engineer"),
	}
	reviewers := []*verifyMember{
		newVerifyMember(tb, "owner1@example.com", "model-owner"),
		newVerifyMember(tb, "risk1@example.com", "risk"),
		newVerifyMember(tb, "compliance1@example.com", "compliance"),
		newVerifyMember(tb, "owner2@example.com", "model-owner"),
		newVerifyMember(tb, "risk2@example.com", "risk"),
		newVerifyMember(tb, "compliance2@example.com", "compliance"),
		newVerifyMember(tb, "compliance3@example.com", "compliance"),
	}

	// Governance: a root with one admin, a keyring, a policy.
	var kr strings.Builder
	kr.WriteString("version: 1\nmembers:\n")
	for _, m := range slices.Concat([]*verifyMember{admin}, requesters, reviewers) {
		fmt.Fprintf(&kr, "  - identity: %s\n    roles: [%s]\n    keys:\n      - %s\n", m.signer.Identity(), strings.Join(m.roles, ", "), m.key)
	}
	texts := []string{
		fmt.Sprintf("version: 1\nthreshold: 1\nadmins:\n  - identity: %s\n    keys:\n      - %s\n", admin.signer.Identity(), admin.key),
		kr.String(),
		`version: 1
tiers:
  high:
    transitions:
      staging->production:
        require:
          - {role: model-owner, count: 1}
          - {any_of: [risk, compliance], count: 2}
        separation_of_duties: {authors_may_approve: false, requester_may_approve: false}
        approval_valid_for: 720h
        gates:
          - {name: card, evidence: card}
          - {name: auc-floor, metric: roc_auc, min: 0.70}
`,
	}
	var gov []verifyJob
	var docs []*Document
	for i, text := range texts {
		d, err := ParseDocument(fmt.Sprintf("governance %d", i), []byte(text))
		if err != nil {
			tb.Fatal(err)
		}
		docs = append(docs, d)
		body := (&Body{Version: d.Version, Digest: d.Digest, Document: string(d.Text)}).Marshal()
		gov = append(gov, verifyJob{admin.signer, ledger.Header{Kind: d.Kind, Time: verifyT0.Add(time.Duration(i) * time.Second), Body: body}})
	}
	root, pol := docs[0], docs[2]
	tr, err := pol.Policy.TransitionFor("high", "staging->production")
	if err != nil {
		tb.Fatal(err)
	}

	fx := &verifyFixture{anchor: root.Digest, perSubject: perSubject}
	ok := false
	defer func() {
		if !ok {
			fx.close()
		}
	}()
	if fx.big, err = ledger.Open(filepath.Join(dir, "big")); err != nil {
		tb.Fatal(err)
	}
	if fx.small, err = ledger.Open(filepath.Join(dir, "small")); err != nil {
		tb.Fatal(err)
	}

	// The measured subject's bundle: written, sealed, evaluated, and its
	// evidence carried into both ledgers.
	target := subjects / 2
	bdir := filepath.Join(dir, "bundle")
	if err := os.MkdirAll(bdir, 0o700); err != nil {
		tb.Fatal(err)
	}
	for name, data := range verifyBundleFiles(target) {
		if err := os.WriteFile(filepath.Join(bdir, name), data, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	bundle, err := evidence.Open(bdir)
	if err != nil {
		tb.Fatal(err)
	}
	defer bundle.Close()
	lock, err := bundle.Seal()
	if err != nil {
		tb.Fatal(err)
	}
	if !bytes.Equal(lock.Bytes(), verifyLock(verifyBundleFiles(target)).Bytes()) {
		tb.Fatalf("Seal locked the bundle as\n%s\nbut the fixture locks bundles in memory as\n%s", lock.Bytes(), verifyLock(verifyBundleFiles(target)).Bytes())
	}
	fx.digest = lock.Digest()
	report, err := bundle.Evaluate()
	if err != nil {
		tb.Fatal(err)
	}
	results := Evaluate(tr.Gates, bundle.Manifest, report)
	if !AllPass(results) {
		tb.Fatalf("the measured bundle's gates do not all pass: %+v", results)
	}
	var carried map[string]string
	for _, l := range []*ledger.Ledger{fx.big, fx.small} {
		if carried, err = CarryEvidence(l, bundle, lock); err != nil {
			tb.Fatal(err)
		}
	}

	// The other subjects' bundles, locked in memory: their digests, and
	// their evidence as blob lines of the big ledger's import.
	digests := make([]string, subjects)
	evidenceOf := make([]map[string]string, subjects)
	var blobs bytes.Buffer
	blobLine := func(data []byte) {
		blobs.WriteString(`{"blob":"`)
		blobs.WriteString(base64.StdEncoding.EncodeToString(data))
		blobs.WriteString("\"}\n")
	}
	nblobs := 0
	for s := range subjects {
		if s == target {
			digests[s], evidenceOf[s] = fx.digest, carried
			continue
		}
		files := verifyBundleFiles(s)
		l := verifyLock(files)
		digests[s] = l.Digest()
		evidenceOf[s] = map[string]string{}
		blobLine(l.Bytes())
		nblobs++
		for _, name := range bundle.Manifest.EvidenceFiles() {
			evidenceOf[s][name] = ledger.BlobDigest(files[name])
			if name != "MODEL_CARD.md" { // the same for all, carried already
				blobLine(files[name])
				nblobs++
			}
		}
	}
	if !maps.Equal(evidenceOf[target], carried) || len(carried) != 3 {
		tb.Fatalf("CarryEvidence carried %v", carried)
	}

	// The subjects' entries: subjects take turns, so each one's entries
	// are spread over the ledger. Subject s's entry j is a request (j = 0)
	// or a decision by reviewer (j-1) mod 7; each reviewer's last decision
	// approves, some earlier ones ask for changes.
	start := verifyT0.Add(time.Hour)
	gates := GateDigest(results)
	var jobs []verifyJob
	var mine []int // indexes in jobs of the measured subject's entries
	for i := range subjects * perSubject {
		s, j := i%subjects, i/subjects
		subj := Subject{Model: fmt.Sprintf("model-%04d", s), Version: "1", Bundle: digests[s], From: "staging", To: "production"}
		var kind string
		var signer ledger.Signer
		var body *Body
		if j == 0 {
			kind, signer = KindRequest, requesters[s%len(requesters)].signer
			body = &Body{Subject: &subj, Tier: "high", Change: evidence.ChangeStandard, Authors: []string{"author@example.com"},
				Evidence: evidenceOf[s], Policy: pol.Digest, Gates: gates, Results: results}
		} else {
			r := reviewers[(j-1)%len(reviewers)]
			verdict := Approve
			if j < perSubject-len(reviewers) && j%3 == 0 {
				verdict = RequestChanges
			}
			kind, signer = KindDecision, r.signer
			body = &Body{Subject: &subj, Verdict: verdict, Role: r.roles[0], Reason: fmt.Sprintf("round %d: read the card and the metrics", j),
				Policy: pol.Digest, Keyring: 1, Gates: gates, Reviewed: []Reviewed{{Section: "card", Seconds: 40}, {Section: "metrics", Seconds: 25}}}
		}
		if s == target {
			mine = append(mine, len(gov)+len(jobs))
		}
		if s == target {
			fx.model = subj.Model
		}
		jobs = append(jobs, verifyJob{signer, ledger.Header{Kind: kind, Time: start.Add(time.Duration(i) * time.Second), Subject: indexOf(kind, subj), Body: body.Marshal()}})
	}
	fx.at = start.Add(time.Duration(len(jobs))*time.Second + time.Hour)

	// The big ledger: every entry, in feeds chained in signing order. The
	// small one: the same governance and the measured subject's entries,
	// each signer's chained in a feed of their own.
	bigJobs := slices.Concat(gov, jobs)
	smallJobs := slices.Clone(gov)
	for _, i := range mine {
		smallJobs = append(smallJobs, bigJobs[i])
	}
	bigEs, err := verifySign(bigJobs)
	if err != nil {
		tb.Fatal(err)
	}
	smallEs, err := verifySign(smallJobs)
	if err != nil {
		tb.Fatal(err)
	}
	var pairs []string
	for k, i := range mine {
		s, b := smallEs[len(gov)+k].ID, bigEs[i].ID
		pairs = append(pairs, s.String(), b.String())
	}
	for k, i := range mine {
		s, b := smallEs[len(gov)+k].ID, bigEs[i].ID
		pairs = append(pairs, s.Short(), b.Short())
	}
	fx.rename = strings.NewReplacer(pairs...)

	importInto := func(l *ledger.Ledger, name string, es []*ledger.Entry, blobs []byte, wantBlobs int) int {
		path := filepath.Join(dir, name+".jsonl")
		f, err := os.Create(path)
		if err != nil {
			tb.Fatal(err)
		}
		w := bufio.NewWriterSize(f, 1<<20)
		for _, e := range es {
			w.Write(e.MarshalLine())
			w.WriteByte('\n')
		}
		w.Write(blobs)
		err = w.Flush()
		if _, serr := f.Seek(0, 0); err == nil {
			err = serr
		}
		var res *ledger.ImportResult
		if err == nil {
			res, err = l.Import(bufio.NewReaderSize(f, 1<<20), ledger.ImportOptions{})
		}
		f.Close()
		os.Remove(path)
		if err != nil {
			tb.Fatalf("import into the %s ledger: %v", name, err)
		}
		if res.Added != len(es) || res.Blobs != wantBlobs {
			tb.Fatalf("import into the %s ledger added %d entries and read %d blobs, want %d and %d", name, res.Added, res.Blobs, len(es), wantBlobs)
		}
		return res.Added
	}
	fx.bigEntries = importInto(fx.big, "big", bigEs, blobs.Bytes(), nblobs)
	fx.smallEntries = importInto(fx.small, "small", smallEs, nil, 0)
	ok = true
	return fx
}

// check judges the subject on both ledgers and fails unless it is
// approved on the big one, from its perSubject entries and without
// warnings, and the small one says the same.
func (fx *verifyFixture) check(tb testing.TB) {
	tb.Helper()
	vb, err := fx.judge(fx.big)
	if err != nil {
		tb.Fatalf("judging on the big ledger: %v", err)
	}
	vs, err := fx.judge(fx.small)
	if err != nil {
		tb.Fatalf("judging on the small ledger: %v", err)
	}
	if !vb.Approved || vb.Entries != fx.perSubject || len(vb.Warnings) > 0 || len(vb.Gates) == 0 || len(vb.Requirements) != 2 {
		tb.Fatalf("on the big ledger, want an approval from %d entries without warnings; got approved %v from %d entries, reasons %q, warnings %q",
			fx.perSubject, vb.Approved, vb.Entries, vb.Reasons, vb.Warnings)
	}
	jb, err := json.MarshalIndent(vb, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	js, err := json.MarshalIndent(vs, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	js = []byte(fx.rename.Replace(string(js)))
	if !bytes.Equal(jb, js) {
		tb.Fatalf("the verdicts differ (small ledger's entry ids mapped to the big one's):\nbig ledger:\n%s\nsmall ledger:\n%s", jb, js)
	}
}

// verifySpan is how long something took by the clock and in CPU time.
type verifySpan struct{ wall, cpu time.Duration }

func (s verifySpan) add(o verifySpan) verifySpan { return verifySpan{s.wall + o.wall, s.cpu + o.cpu} }

func verifyCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure judges the subject on l after a garbage collection.
func (fx *verifyFixture) measure(b *testing.B, l *ledger.Ledger) verifySpan {
	b.Helper()
	runtime.GC()
	cpu, start := verifyCPU(), time.Now()
	v, err := fx.judge(l)
	span := verifySpan{time.Since(start), verifyCPU() - cpu}
	if err != nil {
		b.Fatal(err)
	}
	if !v.Approved {
		b.Fatalf("not approved: %q", v.Reasons)
	}
	return span
}

// verifySettle waits until the process is idle: Badger has finished the
// compactions a bulk import leaves pending, which would otherwise run,
// and count, while the big ledger is measured.
func verifySettle(b *testing.B) {
	b.Helper()
	const window, idle = 250 * time.Millisecond, 25 * time.Millisecond
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		cpu := verifyCPU()
		time.Sleep(window)
		if verifyCPU()-cpu < idle {
			return
		}
	}
	b.Logf("note: the process was still busy after 3 minutes of waiting for the store to settle; the ratios may be noisy")
}

// BenchmarkVerifySubject reports verify/subject-only: how long finding a
// model version's bundle (FindBundle) and judging it (Judge) take for one
// subject on a ledger of 200,000 entries about 2,000 subjects,
// compared with a ledger holding only that subject's entries (target ≤ 2).
// See the top of this file.
func BenchmarkVerifySubject(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a 200,000-entry ledger")
	}
	fx := buildVerifyFixture(b, b.TempDir(), verifySubjects, verifyPerSubject)
	b.Cleanup(fx.close)
	verifySettle(b)
	b.Run(fmt.Sprintf("%d-subjects", verifySubjects), func(b *testing.B) {
		fx.check(b)
		var walls, cpus []float64
		for i := range b.N {
			var big, small verifySpan
			for r := range verifyRounds {
				if (i*verifyRounds+r)%2 == 0 {
					big = big.add(fx.measure(b, fx.big))
					small = small.add(fx.measure(b, fx.small))
				} else {
					small = small.add(fx.measure(b, fx.small))
					big = big.add(fx.measure(b, fx.big))
				}
			}
			wall, cpu := big.wall.Seconds()/small.wall.Seconds(), big.cpu.Seconds()/small.cpu.Seconds()
			walls, cpus = append(walls, wall), append(cpus, cpu)
			b.Logf("judging one subject's %d entries on a ledger of %d took %.2f× as long as on a ledger of %d holding only them (target ≤ 2), and %.2f× the CPU time",
				fx.perSubject, fx.bigEntries, wall, fx.smallEntries, cpu)
		}
		b.ReportMetric(verifyMedian(walls), "verify/subject-only")
		b.ReportMetric(verifyMedian(cpus), "verify/subject-only-cpu")
		b.ReportMetric(float64(fx.bigEntries), "big-ledger-entries")
		b.ReportMetric(float64(fx.smallEntries), "small-ledger-entries")
		b.ReportMetric(0, "ns/op")
	})
}

func verifyMedian(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// TestVerifyFixture builds the benchmark's fixture at a tiny size and
// checks that the measured subject is approved, with the same verdict, on
// both ledgers.
func TestVerifyFixture(t *testing.T) {
	fx := buildVerifyFixture(t, t.TempDir(), 3, 10)
	defer fx.close()
	fx.check(t)
}
