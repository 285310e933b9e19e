package ledger

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestFeedTimesNeverGoBack: an import refuses an entry dated before the
// one before it in its feed, whether that one is in the same file or
// already stored; Append holds a clock that went back at the last time.
func TestFeedTimesNeverGoBack(t *testing.T) {
	s := testSigner(t, "fay@example.com")
	times := []time.Duration{0, time.Hour, 30 * time.Minute}
	es := sjChain(t, s, 3, func(i int) Header {
		return Header{Kind: "comment", Time: t0.Add(times[i]), Body: []byte(`{}`)}
	})
	lines := func(es ...*Entry) *bytes.Buffer {
		var b bytes.Buffer
		for _, e := range es {
			b.Write(e.MarshalLine())
			b.WriteByte('\n')
		}
		return &b
	}
	for name, setup := range map[string][]*Entry{"in the file": nil, "stored": es[:2]} {
		t.Run(name, func(t *testing.T) {
			l := openTest(t)
			file := es
			if setup != nil {
				if _, err := l.Import(lines(setup...), ImportOptions{}); err != nil {
					t.Fatal(err)
				}
				file = es[2:]
			}
			_, err := l.Import(lines(file...), ImportOptions{})
			var ie *ImportError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), "before the entry before it in its feed") {
				t.Fatalf("import of a feed whose time goes back: %v", err)
			}
		})
	}
	// Equal times are fine.
	same := sjChain(t, testSigner(t, "gus@example.com"), 2, func(i int) Header {
		return Header{Kind: "comment", Time: t0, Body: []byte(`{}`)}
	})
	if _, err := openTest(t).Import(lines(same...), ImportOptions{}); err != nil {
		t.Fatal(err)
	}

	l := openTest(t)
	a, err := l.Append(s, "comment", []byte(`{}`), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Append(s, "comment", []byte(`{}`), t0) // the clock went back
	if err != nil {
		t.Fatal(err)
	}
	if !b.Time.Equal(a.Time) {
		t.Errorf("Append after the clock went back signed at %v, want %v", b.Time, a.Time)
	}
}
