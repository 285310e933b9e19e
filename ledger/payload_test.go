package ledger

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// TestPayloadIsWhatSignEntrySigns: the bytes Payload gives are the very
// payload SignEntry signs, so that a stock ssh-keygen signature over them
// makes the same entry.
func TestPayloadIsWhatSignEntrySigns(t *testing.T) {
	s := testSigner(t, "ann@example.com")
	h := Header{Kind: "comment", Seq: 1, Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Body: []byte(`{ "text" : "hi" }`)}
	e, err := SignEntry(s, h)
	if err != nil {
		t.Fatal(err)
	}
	h.Feed, h.Identity = e.Feed, e.Identity
	p, err := Payload(h)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p, e.Payload) {
		t.Fatalf("Payload\n%s\nSignEntry signed\n%s", p, e.Payload)
	}
	again, err := ParseEntry(p, e.Signature)
	if err != nil || again.ID != e.ID || again.Verify() != nil {
		t.Fatalf("the entry from Payload and the signature: %v", err)
	}
	if _, err := Payload(Header{Kind: "Bad Kind", Seq: 1, Feed: e.Feed, Time: h.Time, Body: []byte(`{}`)}); err == nil {
		t.Error("Payload took a bad header")
	}
}

// TestImportVerified: with Verified an import checks every entry's place
// in its feed as ever, and skips only the signature check the caller
// already made.
func TestImportVerified(t *testing.T) {
	src := openTest(t)
	s := testSigner(t, "ben@example.com")
	var lines bytes.Buffer
	var es []*Entry
	for i := range 3 {
		e, err := src.Append(s, "comment", []byte(`{}`), time.Date(2026, 1, 1, 0, i, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, e)
	}
	for _, e := range es {
		lines.Write(e.MarshalLine())
		lines.WriteByte('\n')
	}
	dst := openTest(t)
	res, err := dst.Import(bytes.NewReader(lines.Bytes()), ImportOptions{Verified: true})
	if err != nil || res.Added != 3 {
		t.Fatalf("a verified import: %+v, %v", res, err)
	}
	// Out of order is refused all the same.
	other := openTest(t)
	_, err = other.Import(bytes.NewReader(append(append(es[1].MarshalLine(), '\n'), append(es[0].MarshalLine(), '\n')...)), ImportOptions{Verified: true})
	var ie *ImportError
	if !errors.As(err, &ie) || !errors.Is(ie.Problems[0], ErrChain) {
		t.Fatalf("a verified import out of order: %v", err)
	}
}
