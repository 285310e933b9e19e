package ledger

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// chainFixture is a ledger holding alice's feed at seqs 1 to 3 and bob's at
// 1 to 3, an hour apart from t0, and the entries the chain tests check
// against it.
type chainFixture struct {
	stored            []*Entry
	alice, bob, carol Signer
	a, b              []*Entry // a[i], b[i] at seq i+1
}

// chEntry signs the entry of s at seq with prev (nil for none), at t0
// plus at, with body n.
func chEntry(t testing.TB, s Signer, seq uint64, prev *Entry, at time.Duration, n int) *Entry {
	t.Helper()
	h := Header{Kind: "comment", Seq: seq, Time: t0.Add(at), Body: comment(n)}
	if prev != nil {
		h.Prev = prev.ID
	}
	e, err := SignEntry(s, h)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func newChainFixture(t testing.TB) *chainFixture {
	fx := &chainFixture{alice: testSigner(t, "alice@example.com"), bob: testSigner(t, "bob@example.com"), carol: testSigner(t, "carol@example.com")}
	var prevA, prevB *Entry
	for i := range 3 {
		prevA = chEntry(t, fx.alice, uint64(i+1), prevA, time.Duration(i)*time.Hour, i)
		prevB = chEntry(t, fx.bob, uint64(i+1), prevB, time.Duration(i)*time.Hour, 100+i)
		fx.a, fx.b = append(fx.a, prevA), append(fx.b, prevB)
	}
	fx.stored = append(append(fx.stored, fx.a...), fx.b...)
	return fx
}

// chLines is the export of es, in that order.
func chLines(es []*Entry) []byte {
	var b bytes.Buffer
	for _, e := range es {
		b.Write(e.MarshalLine())
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// ledger opens a new ledger holding the fixture's stored entries.
func (fx *chainFixture) ledger(t testing.TB) *Ledger {
	t.Helper()
	l := openTest(t)
	if _, err := l.Import(bytes.NewReader(chLines(fx.stored)), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	return l
}

// chainCase is one entry checked after a batch was taken.
type chainCase struct {
	name  string
	taken []*Entry
	e     *Entry
	rule  error  // the sentinel of the rule broken, or nil
	why   string // what the error's Err says, or ""
}

func chainCases(t testing.TB, fx *chainFixture) []chainCase {
	a3, b3 := fx.a[2], fx.b[2]
	hour := time.Hour
	a4 := chEntry(t, fx.alice, 4, a3, 3*hour, 4)
	a4fork := chEntry(t, fx.alice, 4, a3, 3*hour, 40)
	a5 := chEntry(t, fx.alice, 5, a4, 4*hour, 5)
	c1 := chEntry(t, fx.carol, 1, nil, 0, 200)
	c2 := chEntry(t, fx.carol, 2, c1, hour, 201)
	c3 := chEntry(t, fx.carol, 3, c2, 2*hour, 202)
	b4 := chEntry(t, fx.bob, 4, b3, 3*hour, 104)
	seqOrder := func(seq, after uint64) string {
		return fmt.Sprintf("seq %d comes after seq %d of the same feed: a feed's entries must be in seq order", seq, after)
	}
	missing := func(prev *Entry, seq uint64) string {
		return fmt.Sprintf("prev %s is neither in this batch nor in the ledger: seq %d of this feed is missing", prev.ID, seq)
	}
	back := func(e *Entry, prev time.Duration) string {
		return fmt.Sprintf("signed at %s, before the entry before it in its feed (%s): a feed's signing times never go back", formatTime(e.Time), formatTime(t0.Add(prev)))
	}
	aBack := chEntry(t, fx.alice, 4, a3, 2*hour-time.Nanosecond, 4)
	a5Back := chEntry(t, fx.alice, 5, a4, 3*hour-time.Second, 5)
	a4OfBob := chEntry(t, fx.alice, 4, b3, 3*hour, 4)
	a4OfCarol := chEntry(t, fx.alice, 4, c3, 3*hour, 4)
	a4AtSeq2 := chEntry(t, fx.alice, 4, fx.a[1], 3*hour, 4)
	a6AtSeq4 := chEntry(t, fx.alice, 6, a4, 5*hour, 6)
	a7 := chEntry(t, fx.alice, 7, a5, 5*hour, 7)
	return []chainCase{
		{name: "seq 1 of a new feed", e: c1},
		{name: "seq 1 of a stored feed", e: chEntry(t, fx.alice, 1, nil, 0, 50)},
		{name: "seq 1 after a batch", taken: []*Entry{a4, a5}, e: c1},
		{name: "extends the ledger", e: a4},
		{name: "in order in the batch", taken: []*Entry{a4}, e: a5},
		{name: "in order, several feeds", taken: []*Entry{c1, a4, c2, b4, c3}, e: a5},
		{name: "a fork in the batch", taken: []*Entry{a4}, e: a4fork},
		{name: "after a fork in the batch", taken: []*Entry{a4fork, a4}, e: a5},
		{name: "again", taken: []*Entry{a4, a5}, e: a5},
		{name: "out of order", taken: []*Entry{a4, a5}, e: a4, rule: ErrSeqOrder, why: seqOrder(4, 5)},
		{name: "out of order, a stored seq", taken: []*Entry{a4}, e: a3, rule: ErrSeqOrder, why: seqOrder(3, 4)},
		{name: "out of order, one feed only", taken: []*Entry{a4, a5}, e: b4},
		{name: "missing prev", e: a5, rule: ErrPrevMissing, why: missing(a4, 4)},
		{name: "missing prev after the batch", taken: []*Entry{a4, a5}, e: a7, rule: ErrPrevMissing, why: missing(a5, 6)},
		{name: "missing prev of seq 2", e: c2, rule: ErrPrevMissing, why: missing(c1, 1)},
		{name: "prev of another feed in the ledger", e: a4OfBob, rule: ErrPrevMissing, why: missing(b3, 3)},
		{name: "prev of another feed in the batch", taken: []*Entry{c1, c2, c3}, e: a4OfCarol, rule: ErrPrevMissing, why: missing(c3, 3)},
		{name: "prev at a wrong seq in the ledger", e: a4AtSeq2, rule: ErrPrevMissing, why: missing(fx.a[1], 3)},
		{name: "prev at a wrong seq in the batch", taken: []*Entry{a4, a5}, e: a6AtSeq4, rule: ErrPrevMissing, why: missing(a4, 5)},
		{name: "time going back from the ledger", e: aBack, rule: ErrTimeBack, why: back(aBack, 2*hour)},
		{name: "time going back in the batch", taken: []*Entry{a4}, e: a5Back, rule: ErrTimeBack, why: back(a5Back, 3*hour)},
		{name: "equal time after the ledger", e: chEntry(t, fx.alice, 4, a3, 2*hour, 4)},
		{name: "equal time in the batch", taken: []*Entry{a4}, e: chEntry(t, fx.alice, 5, a4, 3*hour, 5)},
	}
}

// TestChainCheck checks each chain rule of [ChainCheck] against a batch
// taken before and the ledger.
func TestChainCheck(t *testing.T) {
	fx := newChainFixture(t)
	l := fx.ledger(t)
	for _, tc := range chainCases(t, fx) {
		t.Run(tc.name, func(t *testing.T) {
			c := l.NewChainCheck()
			for i, e := range tc.taken {
				if err := c.Check(e); err != nil {
					t.Fatalf("taken entry %d (seq %d): %v", i, e.Seq, err)
				}
				c.Take(e)
			}
			err := c.Check(tc.e)
			if tc.rule == nil {
				if err != nil {
					t.Fatalf("Check: %v, want nil", err)
				}
				return
			}
			var ee *EntryError
			if !errors.As(err, &ee) || !errors.Is(err, ErrChain) || !errors.Is(err, tc.rule) {
				t.Fatalf("Check: %v, want an *EntryError wrapping ErrChain and %v", err, tc.rule)
			}
			if ee.Feed != tc.e.Feed || ee.Seq != tc.e.Seq || ee.ID != tc.e.ID || ee.Line != 0 {
				t.Errorf("Check names feed %s seq %d entry %s line %d, want the entry checked", ee.Feed, ee.Seq, ee.ID, ee.Line)
			}
			if ee.Err.Error() != tc.why {
				t.Errorf("Check says\n  %s\nwant\n  %s", ee.Err, tc.why)
			}
			for _, other := range []error{ErrSeqOrder, ErrPrevMissing, ErrTimeBack} {
				if other != tc.rule && errors.Is(err, other) {
					t.Errorf("Check: %v is also %v", err, other)
				}
			}
		})
	}
}

// TestImportChainRules imports each case's batch and entry, after the
// ledger's: Import takes the file exactly when [ChainCheck] takes the
// entry, and refuses it under the same rule, in the same words but for
// the file.
func TestImportChainRules(t *testing.T) {
	fx := newChainFixture(t)
	for _, tc := range chainCases(t, fx) {
		t.Run(tc.name, func(t *testing.T) {
			l := fx.ledger(t)
			file := append(append([]*Entry{}, tc.taken...), tc.e)
			_, err := l.Import(bytes.NewReader(chLines(file)), ImportOptions{})
			if tc.rule == nil {
				if err != nil {
					t.Fatalf("Import: %v, want nil", err)
				}
				return
			}
			var ie *ImportError
			if !errors.As(err, &ie) || ie.Total != 1 {
				t.Fatalf("Import: %v, want one bad line", err)
			}
			p := ie.Problems[0]
			if p.Line != len(file) || p.ID != tc.e.ID || !errors.Is(p, ErrChain) || !errors.Is(p, tc.rule) {
				t.Fatalf("Import: problem %v, want line %d wrapping ErrChain and %v", p, len(file), tc.rule)
			}
			if want := strings.Replace(tc.why, "in this batch", "in this file", 1); p.Err.Error() != want {
				t.Errorf("Import says\n  %s\nwant\n  %s", p.Err, want)
			}
		})
	}
}

// TestChainCheckReadError: a failure to read the ledger is not an entry
// breaking a rule.
func TestChainCheckReadError(t *testing.T) {
	fx := newChainFixture(t)
	l := fx.ledger(t)
	c := l.NewChainCheck()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	err := c.Check(chEntry(t, fx.alice, 4, fx.a[2], 3*time.Hour, 4))
	var ee *EntryError
	if err == nil || errors.Is(err, ErrChain) || errors.As(err, &ee) {
		t.Fatalf("Check on a closed ledger: %v, want a plain error", err)
	}
	t.Log(err)
	// What needs no read still answers.
	if err := c.Check(chEntry(t, fx.carol, 1, nil, 0, 1)); err != nil {
		t.Fatalf("Check of seq 1 on a closed ledger: %v", err)
	}
}

// TestChainCheckWhileReading checks and takes a long batch while other
// goroutines read the ledger and append to it; run it under -race.
func TestChainCheckWhileReading(t *testing.T) {
	fx := newChainFixture(t)
	l := fx.ledger(t)
	const n = 300
	var batch []*Entry
	prev := fx.a[2]
	for i := range n {
		prev = chEntry(t, fx.alice, uint64(4+i), prev, time.Duration(3+i)*time.Hour, i)
		batch = append(batch, prev)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				l.Entries(Query{}, func(*Entry) error { return nil })
				l.Heads()
				l.Get(fx.a[2].ID)
			}
		})
	}
	dave := testSigner(t, "dave@example.com")
	wg.Go(func() {
		for i := range 50 {
			if _, err := l.Append(dave, "comment", comment(i), t0.Add(time.Duration(i)*time.Minute)); err != nil {
				t.Error(err)
				return
			}
		}
	})
	c := l.NewChainCheck()
	for i, e := range batch {
		if err := c.Check(e); err != nil {
			t.Errorf("entry %d: %v", i, err)
			break
		}
		c.Take(e)
	}
	close(stop)
	wg.Wait()
}

// TestVerifyEntries checks [VerifyEntries] against [Entry.Verify] on good
// entries and on entries whose signature, payload or key was changed.
func TestVerifyEntries(t *testing.T) {
	fx := newChainFixture(t)
	var es []*Entry
	prev := fx.a[2]
	for i := range 500 { // enough for a worker to build a key's table
		prev = chEntry(t, fx.alice, uint64(4+i), prev, time.Duration(3+i)*time.Hour, i)
		es = append(es, prev)
	}
	es = append(es, fx.stored...)
	bad := func(e *Entry, payload, sig []byte) *Entry {
		return &Entry{Header: e.Header, Payload: payload, Signature: sig, ID: e.ID}
	}
	a, b := es[10], fx.b[0]
	otherNamespace, err := signSSHSIG(fx.alice, "file", a.Payload)
	if err != nil {
		t.Fatal(err)
	}
	es = append(es,
		bad(a, a.Payload, flipByte(a.Signature, len(a.Signature)-1)),         // the signature
		bad(a, flipByte(a.Payload, len(a.Payload)-3), a.Signature),           // the payload
		bad(a, a.Payload, b.Signature),                                       // another key's signature
		bad(a, a.Payload, a.Signature[:20]),                                  // not a signature
		bad(a, a.Payload, flipByte(a.Signature, len(a.Signature)-70)),        // the signature's algorithm
		bad(a, a.Payload, otherNamespace),                                    // another namespace
		&Entry{Header: b.Header, Payload: a.Payload, Signature: a.Signature}, // the wrong feed
		nil,
	)
	for i := 0; i < 40; i += 7 {
		es[i] = bad(es[i], es[i].Payload, flipByte(es[i].Signature, len(es[i].Signature)-1-i))
	}
	errs := VerifyEntries(es)
	if len(errs) != len(es) {
		t.Fatalf("VerifyEntries returned %d errors for %d entries", len(errs), len(es))
	}
	good, failed := 0, 0
	for i, e := range es {
		if e == nil {
			if errs[i] != nil {
				t.Errorf("entry %d is nil: %v", i, errs[i])
			}
			continue
		}
		want := e.Verify()
		switch {
		case (errs[i] == nil) != (want == nil):
			t.Errorf("entry %d: VerifyEntries says %v, Verify %v", i, errs[i], want)
		case want != nil && (errs[i].Error() != want.Error() || errors.Is(want, ErrBadSignature) != errors.Is(errs[i], ErrBadSignature)):
			t.Errorf("entry %d: VerifyEntries says %v, Verify %v", i, errs[i], want)
		case want == nil:
			good++
		default:
			failed++
		}
	}
	if good < 500 || failed < 10 {
		t.Errorf("%d good and %d bad entries: the test does not test both", good, failed)
	}
	if errs := VerifyEntries(nil); len(errs) != 0 {
		t.Errorf("VerifyEntries(nil) = %v", errs)
	}
}
