package tui

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"golang.org/x/crypto/ssh"

	"github.com/signoff-dev/signoff/home"
	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy/workspace"
	"github.com/signoff-dev/signoff/tui/data"
)

// Limits the benchmarks compare with.
const (
	frameBudget  = 16 * time.Millisecond // one frame at 60 Hz
	benchEntries = 200_000
	benchRows    = 10_000
)

// firstFrame wraps the console to note when its first frame is drawn,
// then quits.
type firstFrame struct {
	*Model
	drawn chan struct{}
	once  sync.Once
}

func (f *firstFrame) View() tea.View {
	v := f.Model.View()
	f.once.Do(func() { close(f.drawn) })
	return v
}

func (f *firstFrame) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	_, cmd := f.Model.Update(msg)
	return f, cmd
}

// startup runs the real program until its first frame and returns how
// long that took.
func startup(b *testing.B, opt Options) time.Duration {
	start := time.Now()
	f := &firstFrame{Model: New(opt), drawn: make(chan struct{})}
	p := tea.NewProgram(f, tea.WithInput(nil), tea.WithOutput(io.Discard), tea.WithWindowSize(80, 24), tea.WithoutSignals())
	done := make(chan error, 1)
	go func() { _, err := p.Run(); done <- err }()
	select {
	case <-f.drawn:
	case <-time.After(30 * time.Second):
		b.Fatal("no first frame in 30s")
	}
	d := time.Since(start)
	p.Quit()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	// Let the background load finish before the next round opens the
	// ledger again.
	for range 600 {
		if l, err := ledger.Open(opt.Home.Path(home.LedgerDir)); err == nil {
			l.Close()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return d
}

// bigDemo copies the demo and adds benchEntries signed comments, from 8
// keys, by one import.
func bigDemo(b *testing.B) string {
	dir := demo(b)
	const feeds = 8
	per := benchEntries / feeds
	lines := make([][]byte, feeds)
	var wg sync.WaitGroup
	for f := range feeds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seed := sha256.Sum256([]byte(fmt.Sprint("bench feed ", f)))
			ss, _ := ssh.NewSignerFromKey(ed25519.NewKeyFromSeed(seed[:]))
			s, _ := ledger.NewSigner(ss, fmt.Sprintf("bench%d@example.com", f))
			var buf bytes.Buffer
			var prev *ledger.Entry
			for i := range per {
				h := ledger.Header{Kind: "comment", Seq: uint64(i + 1), Time: fixDemo.Add(time.Duration(i) * time.Millisecond), Body: []byte(fmt.Sprintf(`{"text":"bench %d"}`, i))}
				if prev != nil {
					h.Prev = prev.ID
				}
				e, err := ledger.SignEntry(s, h)
				if err != nil {
					panic(err)
				}
				buf.Write(e.MarshalLine())
				buf.WriteByte('\n')
				prev = e
			}
			lines[f] = buf.Bytes()
		}()
	}
	wg.Wait()
	l, err := ledger.Open(filepath.Join(dir, workspace.LedgerDir))
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	if _, err := l.Import(bytes.NewReader(bytes.Join(lines, nil)), ledger.ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	return dir
}

func optsFor(b *testing.B, dir string) Options {
	return options(b, dir, "default", func() time.Time { return fixNow })
}

// BenchmarkStartup reports startup/empty: the time from starting the
// console to its first frame on a ledger of 200,000 entries, as a ratio
// to the same on the demo ledger alone (target ≤ 1.5), measured in the
// same run, alternating.
func BenchmarkStartup(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a 200,000-entry ledger")
	}
	small, big := optsFor(b, demo(b)), optsFor(b, bigDemo(b))
	var ratios []float64
	for i := range b.N {
		var tb, ts time.Duration
		for r := range 10 {
			if (i+r)%2 == 0 {
				tb += startup(b, big)
				ts += startup(b, small)
			} else {
				ts += startup(b, small)
				tb += startup(b, big)
			}
		}
		ratios = append(ratios, tb.Seconds()/ts.Seconds())
		b.Logf("first frame on %d entries took %.2f× the time on the demo ledger alone (target ≤ 1.5)", benchEntries, ratios[len(ratios)-1])
	}
	b.ReportMetric(median(ratios), "startup/empty")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkKeypress reports the 99th percentile of handling a key press
// and drawing the frame, with 10,000 subjects in the queue, as a fraction
// of a 16 ms frame (target ≤ 1): moving, paging, typing a search, sorting.
func BenchmarkKeypress(b *testing.B) {
	m, _ := newTest(b, 160, 48, "default")
	rows := slices.Clone(m.queue().Rows())
	demoRows := len(rows)
	states := []string{data.StateForYou, data.StatePartly, data.StateWaiting, data.StateGates, data.StateApproved, data.StateBlocked}
	for i := len(rows); len(rows) < benchRows; i++ {
		r := rows[i%demoRows]
		r.Subject.Model = fmt.Sprintf("model-%05d", i)
		r.Subject.Bundle = fmt.Sprintf("sha256:%064x", i)
		r.State = states[i%len(states)]
		r.ForYou = r.State == data.StateForYou
		r.Requested = fixDemo.Add(-time.Duration(i) * time.Minute)
		r.Search = strings.ToLower(r.Subject.Model + " " + r.Tier + " " + r.State + " " + r.Requester)
		rows = append(rows, r)
	}
	m.queue().SetRows(rows)
	script := []string{"down", "down", "pgdown", "pgdown", "up", "end", "home", "s", "s", "s", "s", "f", "f", "/", "m", "o", "d", "e", "l", "-", "0", "7", "backspace", "backspace", "esc"}
	var p99s []float64
	for range b.N {
		var times []time.Duration
		for range 20 {
			for _, k := range script {
				start := time.Now()
				_, cmd := m.Update(keyMsg(k))
				_ = m.View()
				times = append(times, time.Since(start))
				_ = cmd // no command of these keys reaches the ledger
			}
		}
		slices.Sort(times)
		p99 := times[len(times)*99/100]
		p99s = append(p99s, p99.Seconds()/frameBudget.Seconds())
		b.Logf("with %d subjects in the queue, the 99th percentile key press took %.3f of a 16 ms frame (max %.3f)", len(m.queue().Rows()), p99s[len(p99s)-1], times[len(times)-1].Seconds()/frameBudget.Seconds())
	}
	b.ReportMetric(median(p99s), "p99/frame")
	b.ReportMetric(0, "ns/op")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
