package tui

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/signoff-dev/signoff/home"
	"github.com/signoff-dev/signoff/tui/common"
	"github.com/signoff-dev/signoff/tui/internal/tuitest"
	"github.com/signoff-dev/signoff/tui/pages/decide"
	"github.com/signoff-dev/signoff/tui/pages/queue"
	"github.com/signoff-dev/signoff/tui/pages/review"
)

var (
	fixDemo = tuitest.FixDemo
	fixNow  = tuitest.FixNow
	demo    = tuitest.Demo
)

func TestMain(m *testing.M) { tuitest.Main(m) }

// options returns the console's options over the workspace in dir, in
// the theme named, on the clock now.
func options(t testing.TB, dir, theme string, now func() time.Time) Options {
	return Options{Home: &home.Home{Dir: dir}, Anchor: tuitest.Anchor(t, dir), Theme: theme, Now: now, Tick: -1}
}

// newTest returns a console over a copy of the demo, as the risk officer,
// loaded, at the given size and theme.
func newTest(t testing.TB, w, h int, theme string) (*Model, string) {
	t.Helper()
	return newTestIn(t, demo(t), w, h, theme)
}

// newTestIn is newTest over the workspace in dir.
func newTestIn(t testing.TB, dir string, w, h int, theme string) (*Model, string) {
	t.Helper()
	clk := tuitest.NewClock()
	m := New(options(t, dir, theme, clk.Now))
	clocks[m] = clk
	t.Cleanup(m.Close)
	send(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	run(t, m, m.Init())
	if _, err := m.c.Status(); m.queue().Loading() || err != "" {
		t.Fatalf("not loaded: loading %v, error %q", m.queue().Loading(), err)
	}
	return m, dir
}

var clocks = map[*Model]*tuitest.Clock{}

// wait moves m's clock on by d.
func wait(m *Model, d time.Duration) { clocks[m].Wait(d) }

// run executes cmd and every command that follows from it, as the
// program would.
func run(t testing.TB, m *Model, cmd tea.Cmd) {
	t.Helper()
	tuitest.Run(t, func(msg tea.Msg) tea.Cmd {
		_, cmd := m.Update(msg)
		return cmd
	}, cmd)
}

func send(t testing.TB, m *Model, msg tea.Msg) {
	t.Helper()
	_, cmd := m.Update(msg)
	run(t, m, cmd)
}

// press sends keys by name: "enter", "tab", "ctrl+s", or a printable
// rune.
func press(t testing.TB, m *Model, keys ...string) {
	t.Helper()
	for _, k := range keys {
		send(t, m, keyMsg(k))
	}
}

var keyMsg = tuitest.Key

// typeText types s one rune at a time.
func typeText(t testing.TB, m *Model, s string) {
	for _, r := range s {
		send(t, m, tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

// plain returns the view's text without styling, with what differs
// between runs (keys, entry ids) masked.
func plain(t testing.TB, m *Model) string {
	t.Helper()
	return tuitest.Mask(ansi.Strip(m.View().Content))
}

// ascii renders the view as a terminal with the Ascii colour profile
// shows it (bold, reverse and underline kept, no colour), masked.
func ascii(t testing.TB, m *Model) string {
	t.Helper()
	var buf bytes.Buffer
	w := &colorprofile.Writer{Forward: &buf, Profile: colorprofile.Ascii}
	fmt.Fprint(w, m.View().Content)
	return tuitest.Mask(buf.String())
}

// The pages, as the tests look into them.
func (m *Model) queue() *queue.Model   { return m.pages[common.QueuePage].(*queue.Model) }
func (m *Model) review() *review.Model { return m.pages[common.ReviewPage].(*review.Model) }
func (m *Model) decide() *decide.Model { return m.pages[common.DecidePage].(*decide.Model) }

// rowIndex returns the queue position of the model named.
func rowIndex(m *Model, model string) int {
	for i, r := range m.queue().Shown() {
		if r.Subject.Model == model {
			return i
		}
	}
	return -1
}

var decisions = tuitest.Decisions
