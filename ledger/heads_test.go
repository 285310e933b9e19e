package ledger

import (
	"bytes"
	"testing"
	"time"
)

// TestHeadsAndFeedEntries: heads name each feed's highest seq (and both
// ids of a fork there); FeedEntries walks a feed from after a seq, in
// order, and can stop.
func TestHeadsAndFeedEntries(t *testing.T) {
	l := openTest(t)
	if hs, err := l.Heads(); err != nil || len(hs) != 0 {
		t.Fatalf("empty ledger: heads %v, %v", hs, err)
	}
	a, b := testSigner(t, "hana@example.com"), testSigner(t, "ivo@example.com")
	var as []*Entry
	for i := range 5 {
		e, err := l.Append(a, "comment", comment(i), t0.Add(time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		as = append(as, e)
	}
	if _, err := l.Append(b, "comment", comment(9), t0); err != nil {
		t.Fatal(err)
	}
	hs, err := l.Heads()
	if err != nil || len(hs) != 2 {
		t.Fatalf("heads %v, %v", hs, err)
	}
	for _, h := range hs {
		want := uint64(1)
		if h.Feed == as[0].Feed {
			want = 5
			if len(h.IDs) != 1 || h.IDs[0] != as[4].ID {
				t.Errorf("head ids %v, want [%s]", h.IDs, as[4].ID)
			}
		}
		if h.Seq != want {
			t.Errorf("feed %s: head %d, want %d", h.Feed, h.Seq, want)
		}
	}
	var seqs []uint64
	if err := l.FeedEntries(as[0].Feed, 2, func(e *Entry) error { seqs = append(seqs, e.Seq); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seqs) != 3 || seqs[0] != 3 || seqs[2] != 5 {
		t.Errorf("entries after seq 2: %v", seqs)
	}
	n := 0
	if err := l.FeedEntries(as[0].Feed, 0, func(e *Entry) error { n++; return ErrStop }); err != nil || n != 1 {
		t.Errorf("stop: %d, %v", n, err)
	}
	// A fork at the head shows both ids.
	fork, err := SignEntry(a, Header{Kind: "comment", Seq: 5, Prev: as[3].ID, Time: t0.Add(time.Hour), Body: comment(99)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Import(bytes.NewReader(append(fork.MarshalLine(), '\n')), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	hs, _ = l.Heads()
	for _, h := range hs {
		if h.Feed == as[0].Feed && (h.Seq != 5 || len(h.IDs) != 2) {
			t.Errorf("forked head: seq %d ids %v", h.Seq, h.IDs)
		}
	}
}
