package tui

import (
	"bytes"
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
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
	"github.com/signoff-dev/signoff/policy/workspace"
	"github.com/signoff-dev/signoff/themes"
)

// The demo workspace is signed at fixDemo and judged at fixNow.
var (
	fixDemo = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	fixNow  = fixDemo.Add(2 * time.Hour)
)

var (
	demoOnce sync.Once
	demoDir  string
	demoErr  error
)

// demo returns a fresh copy of the demo workspace (made once per run).
func demo(t testing.TB) string {
	t.Helper()
	demoOnce.Do(func() {
		dir, err := os.MkdirTemp("", "signoff-tui-demo-")
		if err != nil {
			demoErr = err
			return
		}
		demoDir = filepath.Join(dir, "demo")
		demoErr = workspace.Create(demoDir, fixDemo, nil)
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

func TestMain(m *testing.M) {
	code := m.Run()
	if demoDir != "" {
		os.RemoveAll(filepath.Dir(demoDir))
	}
	os.Exit(code)
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
	pin, err := os.ReadFile(filepath.Join(dir, workspace.RootPin))
	if err != nil {
		t.Fatal(err)
	}
	th, err := themes.Get(theme)
	if err != nil {
		t.Fatal(err)
	}
	clk := &testClock{t: fixNow}
	m := New(Options{LedgerDir: filepath.Join(dir, workspace.LedgerDir), Anchor: strings.TrimSpace(string(pin)),
		KeyPath: filepath.Join(dir, workspace.KeyFile), Theme: th, Now: clk.now})
	clocks[m] = clk
	send(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	run(t, m, m.Init())
	if m.loading || m.errText != "" {
		t.Fatalf("not loaded: loading %v, error %q", m.loading, m.errText)
	}
	return m, dir
}

// run executes cmd and every command that follows from it, as the
// program would; commands that do not finish at once (cursor blinks,
// timers) are dropped.
func run(t testing.TB, m *Model, cmd tea.Cmd) {
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
				run(t, m, c)
			}
			return
		}
		if isTimer(msg) {
			return
		}
		_, cmd = m.Update(msg)
	}
}

func isTimer(msg tea.Msg) bool {
	name := fmt.Sprintf("%T", msg)
	return strings.Contains(name, "cursor.") || strings.Contains(name, "Blink")
}

func send(t testing.TB, m *Model, msg tea.Msg) {
	t.Helper()
	_, cmd := m.Update(msg)
	run(t, m, cmd)
}

// press sends keys by name: "enter", "tab", "ctrl+s", or a printable
// rune.
// testClock is a console's clock in a test: it stands still until the
// test says time passed (a reader reading a section).
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

var clocks = map[*Model]*testClock{}

// wait moves m's clock on by d.
func wait(m *Model, d time.Duration) {
	c := clocks[m]
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func press(t testing.TB, m *Model, keys ...string) {
	t.Helper()
	for _, k := range keys {
		send(t, m, keyMsg(k))
	}
}

func keyMsg(k string) tea.KeyPressMsg {
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
	return mask(ansi.Strip(m.View().Content))
}

// ascii renders the view as a terminal with the Ascii colour profile
// shows it (bold, reverse and underline kept, no colour), masked.
func ascii(t testing.TB, m *Model) string {
	t.Helper()
	var buf bytes.Buffer
	w := &colorprofile.Writer{Forward: &buf, Profile: colorprofile.Ascii}
	fmt.Fprint(w, m.View().Content)
	return mask(buf.String())
}

var (
	maskDigest = regexp.MustCompile(`sha256:[0-9a-f]{6,64}…?`)
	maskFeed   = regexp.MustCompile(`SHA256:[A-Za-z0-9+/]{43}`)
	maskShort  = regexp.MustCompile(`\b[0-9a-f]{12}\b`)
	// The demo's bundle digests are the same on every run and stay.
	bundles = []string{"dba73267f735", "5678e00452d2", "d74a21970c69"}
)

func mask(s string) string {
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

// rowIndex returns the queue position of the model named.
func rowIndex(m *Model, model string) int {
	for i, idx := range m.queue.view {
		if m.queue.rows[idx].Subject.Model == model {
			return i
		}
	}
	return -1
}

// decisions returns the decisions signed with key in the ledger.
func decisions(t testing.TB, dir string) []*policy.Record {
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
