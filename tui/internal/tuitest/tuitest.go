// Package tuitest is what the console's tests share: a copy of the demo
// workspace, a clock that stands still until the test moves it, keys by
// name, running a component's commands as the program would, masking
// what differs between runs, and reading back what was signed.
package tuitest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/signoff-dev/signoff/home"
	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
	"github.com/signoff-dev/signoff/policy/workspace"
	"github.com/signoff-dev/signoff/themes"
	"github.com/signoff-dev/signoff/tui/common"
	"github.com/signoff-dev/signoff/tui/data"
)

// The demo workspace is signed at FixDemo and judged at FixNow.
var (
	FixDemo = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	FixNow  = FixDemo.Add(2 * time.Hour)
)

var (
	demoOnce sync.Once
	demoDir  string
	demoErr  error
)

// Demo returns a fresh copy of the demo workspace (made once per test
// binary; [Cleanup] removes it).
func Demo(t testing.TB) string {
	t.Helper()
	demoOnce.Do(func() {
		dir, err := os.MkdirTemp("", "signoff-tui-demo-")
		if err != nil {
			demoErr = err
			return
		}
		demoDir = filepath.Join(dir, "demo")
		demoErr = workspace.Create(demoDir, FixDemo, nil)
	})
	if demoErr != nil {
		t.Fatal(demoErr)
	}
	dst := filepath.Join(t.TempDir(), "demo")
	if err := os.CopyFS(dst, os.DirFS(demoDir)); err != nil {
		t.Fatal(err)
	}
	// Private keys must stay private.
	filepath.WalkDir(dst, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "id_ed25519" {
			os.Chmod(p, 0o600)
		}
		return nil
	})
	return dst
}

// Main runs the tests and removes the demo workspace.
func Main(m *testing.M) {
	code := m.Run()
	if demoDir != "" {
		os.RemoveAll(filepath.Dir(demoDir))
	}
	os.Exit(code)
}

// Anchor returns the root the workspace in dir pinned.
func Anchor(t testing.TB, dir string) string {
	t.Helper()
	pin, err := (&home.Home{Dir: dir}).Pin()
	if err != nil || pin == "" {
		t.Fatalf("the workspace's pin: %q, %v", pin, err)
	}
	return pin
}

// A Clock is a console's clock in a test: it stands still until the test
// says time passed (a reader reading a section).
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at FixNow.
func NewClock() *Clock { return &Clock{t: FixNow} }

// Now reads the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Wait moves the clock on by d.
func (c *Clock) Wait(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Ticking is a clock that moves on two seconds each time it is read, so
// that a flow's sections are open for some time.
func Ticking(from time.Time) func() time.Time {
	var mu sync.Mutex
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		from = from.Add(2 * time.Second)
		return from
	}
}

// NewCommon returns the context of a console over the workspace in dir
// as its signer (the risk officer in the demo), in the theme named, at
// 120×30, with nothing read yet; it is closed when the test ends.
func NewCommon(t testing.TB, dir, theme string, clk *Clock) *common.Common {
	t.Helper()
	st, err := themes.New(theme, true)
	if err != nil {
		t.Fatal(err)
	}
	c := common.New(common.Options{Home: &home.Home{Dir: dir}, Anchor: Anchor(t, dir), Now: clk.Now, Tick: -1}, st)
	c.Width, c.Height = 120, 30
	t.Cleanup(c.Close)
	return c
}

// Loaded is [NewCommon] with the governance and the signer read, as the
// queue reads them at start.
func Loaded(t testing.TB, dir, theme string, clk *Clock) *common.Common {
	t.Helper()
	c := NewCommon(t, dir, theme, clk)
	feed, claimed, err := c.MyFeed()
	if err != nil {
		t.Fatal(err)
	}
	err = c.WithLedger(func(l *ledger.Ledger) error {
		trust, err := policy.LoadTrust(l, c.Opt.Anchor, clk.Now())
		if err != nil {
			return err
		}
		c.Trust, c.Me = trust, data.WhoAmI(trust, feed, claimed, clk.Now())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Row returns the queue's row of the model named, read as the queue
// reads it.
func Row(t testing.TB, c *common.Common, model string) data.Row {
	t.Helper()
	var rows []data.Row
	err := c.WithLedger(func(l *ledger.Ledger) error {
		return data.LoadQueue(c.Context(), l, c.Trust, c.Reports, c.Me, c.Now(), func(b []data.Row) { rows = append(rows, b...) })
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Subject.Model == model {
			return r
		}
	}
	t.Fatalf("no row of %s in the queue", model)
	return data.Row{}
}

// Review returns the review of the model named, read as the review page
// reads it.
func Review(t testing.TB, c *common.Common, model string) *data.Review {
	t.Helper()
	r := Row(t, c, model)
	var rv *data.Review
	err := c.WithLedger(func(l *ledger.Ledger) error {
		var err error
		rv, err = data.LoadReview(l, c.Trust, c.Reports, r.Subject, c.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return rv
}

// Run executes cmd and every command that follows from it, as the
// program would, handing each message to update; commands that do not
// finish at once (cursor blinks, timers) are dropped.
func Run(t testing.TB, update func(tea.Msg) tea.Cmd, cmd tea.Cmd) {
	t.Helper()
	for cmd != nil {
		done := make(chan tea.Msg, 1)
		go func() { done <- cmd() }()
		var msg tea.Msg
		select {
		case msg = <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("a command ran for 20s")
		}
		switch msg := msg.(type) {
		case nil:
			return
		case tea.BatchMsg:
			for _, c := range msg {
				Run(t, update, c)
			}
			return
		}
		if isTimer(msg) {
			return
		}
		cmd = update(msg)
	}
}

func isTimer(msg tea.Msg) bool {
	name := fmt.Sprintf("%T", msg)
	return strings.Contains(name, "cursor.") || strings.Contains(name, "Blink")
}

// Updater returns the update of a component for [Run].
func Updater(c common.Component) func(tea.Msg) tea.Cmd {
	return func(msg tea.Msg) tea.Cmd {
		_, cmd := c.Update(msg)
		return cmd
	}
}

// Key returns the key press named: "enter", "tab", "ctrl+s", or a
// printable rune.
func Key(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "end":
		return tea.KeyPressMsg{Code: tea.KeyEnd}
	case "home":
		return tea.KeyPressMsg{Code: tea.KeyHome}
	case "ctrl+s":
		return tea.KeyPressMsg{Code: 's', Mod: tea.ModCtrl}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	}
	r := []rune(k)[0]
	return tea.KeyPressMsg{Code: r, Text: k}
}

var (
	maskDigest = regexp.MustCompile(`sha256:[0-9a-f]{6,64}…?`)
	maskFeed   = regexp.MustCompile(`SHA256:[A-Za-z0-9+/]{43}`)
	maskShort  = regexp.MustCompile(`\b[0-9a-f]{12}\b`)
	// The demo's bundle digests are the same on every run and stay.
	bundles = []string{"dba73267f735", "5678e00452d2", "d74a21970c69"}
)

// Mask hides what differs between runs of a view (keys, entry ids).
func Mask(s string) string {
	for i, b := range bundles {
		s = strings.ReplaceAll(s, b, fmt.Sprintf("\x00%d\x00", i))
	}
	s = maskDigest.ReplaceAllStringFunc(s, func(d string) string {
		if strings.Contains(d, "\x00") {
			return d
		}
		return "sha256:" + strings.Repeat("#", len(strings.TrimSuffix(d, "…"))-7) + strings.Repeat("…", strings.Count(d, "…"))
	})
	s = maskFeed.ReplaceAllString(s, "SHA256:<key>")
	s = maskShort.ReplaceAllString(s, "<entry>")
	for i, b := range bundles {
		s = strings.ReplaceAll(s, fmt.Sprintf("\x00%d\x00", i), b)
	}
	return s
}

// Decisions returns the decisions signed with the workspace's key in the
// ledger in dir.
func Decisions(t testing.TB, dir string) []*policy.Record {
	t.Helper()
	// A console that quit may still be finishing a read in the background.
	var l *ledger.Ledger
	var err error
	for range 100 {
		if l, err = ledger.Open(filepath.Join(dir, workspace.LedgerDir)); !errors.Is(err, ledger.ErrLocked) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	pub, _, err := ledger.ReadPublicKeyFile(filepath.Join(dir, workspace.KeyFile) + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	feed := ledger.FeedOf(pub.Marshal())
	var out []*policy.Record
	err = l.Entries(ledger.Query{Feed: &feed}, func(e *ledger.Entry) error {
		if e.Kind == policy.KindDecision {
			r, err := policy.ReadRecord(e)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
