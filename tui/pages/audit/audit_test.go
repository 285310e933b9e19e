package audit

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/signoff-dev/signoff/policy"
	"github.com/signoff-dev/signoff/tui/common"
	"github.com/signoff-dev/signoff/tui/internal/tuitest"
)

func TestMain(m *testing.M) { tuitest.Main(m) }

// newAudit returns the audit page over a copy of the demo, read.
func newAudit(t *testing.T) (*Model, *common.Common) {
	t.Helper()
	c := tuitest.Loaded(t, tuitest.Demo(t), "default", tuitest.NewClock())
	m := New(c)
	m.SetSize(120, 27)
	send(t, m, common.OpenAuditMsg{})
	if m.loading || len(m.rows) == 0 {
		t.Fatalf("audit: loading %v, %d rows", m.loading, len(m.rows))
	}
	return m, c
}

func send(t *testing.T, m *Model, msg tea.Msg) {
	t.Helper()
	_, cmd := m.Update(msg)
	tuitest.Run(t, tuitest.Updater(m), cmd)
}

func press(t *testing.T, m *Model, keys ...string) {
	t.Helper()
	for _, k := range keys {
		send(t, m, tuitest.Key(k))
	}
}

func typeText(t *testing.T, m *Model, s string) {
	t.Helper()
	for _, r := range s {
		press(t, m, string(r))
	}
}

// TestAudit: the timeline, its filter, and a full verify.
func TestAudit(t *testing.T) {
	m, c := newAudit(t)
	all := len(m.view)
	press(t, m, "/")
	typeText(t, m, "request")
	press(t, m, "enter")
	// The 3 requests and the request for changes.
	if len(m.view) != 4 {
		t.Errorf("filter request: %d rows, want 4 (of %d)", len(m.view), all)
	}
	press(t, m, "/")
	for range len("request") {
		press(t, m, "backspace")
	}
	typeText(t, m, "alice request")
	press(t, m, "enter")
	if len(m.view) != 1 || m.rows[m.view[0]].entry.Kind != policy.KindRequest {
		t.Errorf("filter alice request: %d rows", len(m.view))
	}
	press(t, m, "v")
	if m.verifying || !m.resultOK || !strings.Contains(m.result, "ledger intact") {
		t.Fatalf("verify: %q", m.result)
	}
	if !strings.Contains(m.View(), "ledger intact") {
		t.Errorf("the view does not show the verification:\n%s", m.View())
	}
	press(t, m, "esc")
	if len(m.view) != all || len(c.TakeGo()) != 0 {
		t.Errorf("esc in a filtered audit: %d rows of %d, or left", len(m.view), all)
	}
	press(t, m, "esc")
	if next := c.TakeGo(); len(next) != 1 || next[0] != (common.ShowQueueMsg{}) {
		t.Errorf("esc hands over %v", next)
	}
}

// TestMove: the cursor moves over the timeline a page at a time and
// stays on it.
func TestMove(t *testing.T) {
	m, _ := newAudit(t)
	m.SetSize(120, 8) // four rows on screen
	n := len(m.view)
	press(t, m, "end")
	if m.cur.Pos != n-1 || m.cur.Offset != n-4 {
		t.Errorf("end: cursor %d offset %d of %d", m.cur.Pos, m.cur.Offset, n)
	}
	press(t, m, "home", "pgdown")
	if m.cur.Pos != 4 || m.cur.Offset != 1 {
		t.Errorf("page down: cursor %d offset %d", m.cur.Pos, m.cur.Offset)
	}
	press(t, m, "up", "up", "up", "up", "up", "up")
	if m.cur.Pos != 0 || m.cur.Offset != 0 {
		t.Errorf("up past the top: cursor %d offset %d", m.cur.Pos, m.cur.Offset)
	}
	if lines := strings.Count(m.View(), "\n") + 1; lines > 8 {
		t.Errorf("the view is %d lines in 8", lines)
	}
}
