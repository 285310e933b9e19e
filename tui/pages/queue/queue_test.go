package queue

import (
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy/workspace"
	"github.com/signoff-dev/signoff/tui/common"
	"github.com/signoff-dev/signoff/tui/data"
	"github.com/signoff-dev/signoff/tui/internal/tuitest"
)

func TestMain(m *testing.M) { tuitest.Main(m) }

// newQueue returns the queue over a copy of the demo, read, 120×30.
func newQueue(t *testing.T) (*Model, *common.Common, string) {
	t.Helper()
	dir := tuitest.Demo(t)
	c := tuitest.NewCommon(t, dir, "default", tuitest.NewClock())
	c.MarkDrawn()
	m := New(c)
	m.SetSize(120, 27)
	tuitest.Run(t, tuitest.Updater(m), m.Init())
	if _, err := c.Status(); m.loading || err != "" {
		t.Fatalf("not loaded: loading %v, error %q", m.loading, err)
	}
	return m, c, dir
}

func press(t *testing.T, m *Model, keys ...string) {
	t.Helper()
	for _, k := range keys {
		_, cmd := m.Update(tuitest.Key(k))
		tuitest.Run(t, tuitest.Updater(m), cmd)
	}
}

func typeText(t *testing.T, m *Model, s string) {
	t.Helper()
	for _, r := range s {
		press(t, m, string(r))
	}
}

// TestLoad: the queue reads the governance and the signer for every
// page, and every open request of the demo with its state.
func TestLoad(t *testing.T) {
	m, c, _ := newQueue(t)
	if c.Trust == nil || c.Me.Identity != "risk.officer@demo.example" || strings.Join(c.Me.Roles, ",") != "risk" {
		t.Fatalf("signer %+v, trust %v", c.Me, c.Trust != nil)
	}
	if len(m.rows) != 3 {
		t.Fatalf("%d rows, want the 3 demo requests", len(m.rows))
	}
	states := map[string]string{}
	for _, r := range m.rows {
		states[r.Subject.Model] = r.State
	}
	want := map[string]string{"credit-risk": data.StateForYou, "recommender": data.StateGates, "sepsis-triage": data.StateApproved}
	for k, v := range want {
		if states[k] != v {
			t.Errorf("%s: state %q, want %q", k, states[k], v)
		}
	}
	if r, _ := m.Selected(); r.Subject.Model != "credit-risk" {
		t.Errorf("credit-risk, waiting for you, is not first: %s is", r.Subject.Model)
	}
}

// TestQueue: navigation, search, the for-you filter and the sorts.
func TestQueue(t *testing.T) {
	m, c, _ := newQueue(t)
	press(t, m, "down", "down", "down")
	if m.cur.Pos != 2 {
		t.Errorf("cursor %d after three downs in three rows, want 2", m.cur.Pos)
	}
	press(t, m, "up")
	if m.cur.Pos != 1 {
		t.Errorf("cursor %d after up, want 1", m.cur.Pos)
	}
	press(t, m, "/")
	if !m.Typing() {
		t.Fatal("/ does not give the search the keys")
	}
	typeText(t, m, "sepsis")
	if len(m.view) != 1 || m.rows[m.view[0]].Subject.Model != "sepsis-triage" {
		t.Errorf("search for sepsis shows %d rows", len(m.view))
	}
	press(t, m, "esc")
	if len(m.view) != 3 || m.Typing() {
		t.Errorf("esc in search leaves %d rows, typing %v", len(m.view), m.Typing())
	}
	press(t, m, "f")
	for _, i := range m.view {
		if !m.rows[i].ForYou {
			t.Errorf("for-you filter shows %s", m.rows[i].Subject.Model)
		}
	}
	press(t, m, "f", "s")
	if Sorts[m.sort] != "age" {
		t.Errorf("s sorts by %s, want age", Sorts[m.sort])
	}
	if status, _ := c.Status(); status != "sorted by age" {
		t.Errorf("status %q after s", status)
	}
	press(t, m, "s", "s", "s")
	if Sorts[m.sort] != "state" {
		t.Errorf("s four times sorts by %s, want state again", Sorts[m.sort])
	}
}

// TestSearchKeepsSelection: narrowing keeps the selected subject
// selected; up and down leave the search for the list; esc clears the
// search, then the for-you filter, then quits.
func TestSearchKeepsSelection(t *testing.T) {
	m, _, _ := newQueue(t)
	press(t, m, "down") // recommender
	press(t, m, "/")
	typeText(t, m, "staging")
	if r, _ := m.Selected(); r.Subject.Model != "recommender" {
		t.Errorf("selected after a search all match: %s", r.Subject.Model)
	}
	press(t, m, "down")
	if m.Typing() || m.filter.Value() != "staging" {
		t.Errorf("down in search: typing %v, search %q", m.Typing(), m.filter.Value())
	}
	if r, _ := m.Selected(); r.Subject.Model != "sepsis-triage" {
		t.Errorf("down from the search selects %s", r.Subject.Model)
	}
	press(t, m, "esc")
	if m.filter.Value() != "" {
		t.Errorf("esc leaves the search %q", m.filter.Value())
	}
	press(t, m, "f")
	_, cmd := m.Update(tuitest.Key("esc"))
	if cmd != nil || m.forYouOnly {
		t.Errorf("esc with the for-you filter on: quits %v, filter %v", cmd != nil, m.forYouOnly)
	}
	_, cmd = m.Update(tuitest.Key("esc"))
	if cmd == nil {
		t.Fatal("esc with nothing to clear does not quit")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Error("esc with nothing to clear does not quit")
	}
}

// TestHandsOver: enter opens the selected subject's review, a the audit;
// r reads the queue again.
func TestHandsOver(t *testing.T) {
	m, c, _ := newQueue(t)
	press(t, m, "down", "enter")
	next := c.TakeGo()
	if len(next) != 1 {
		t.Fatalf("enter hands over %v", next)
	}
	if o, ok := next[0].(common.OpenReviewMsg); !ok || o.Row.Subject.Model != "recommender" {
		t.Errorf("enter hands over %#v", next[0])
	}
	press(t, m, "a")
	if next := c.TakeGo(); len(next) != 1 || next[0] != (common.OpenAuditMsg{}) {
		t.Errorf("a hands over %v", next)
	}
	_, cmd := m.Update(tuitest.Key("r"))
	if !m.loading || len(m.rows) != 0 {
		t.Errorf("r: loading %v, %d rows", m.loading, len(m.rows))
	}
	tuitest.Run(t, tuitest.Updater(m), cmd)
	if m.loading || len(m.rows) != 3 {
		t.Errorf("after r: loading %v, %d rows", m.loading, len(m.rows))
	}
	_, cmd = m.Update(common.ShowQueueMsg{Reload: true})
	if !m.loading {
		t.Error("a reload asked by another page does not read the queue")
	}
	tuitest.Run(t, tuitest.Updater(m), cmd)
}

// TestView: the narrow layout has no room for who is missing, the wide
// one has a column for it; an empty search says how to clear it.
func TestView(t *testing.T) {
	m, _, _ := newQueue(t)
	m.SetSize(80, 20)
	if v := m.View(); strings.Contains(v, "MISSING") || !strings.Contains(v, "▸ credit-risk 7: needs 1 more of {risk, compliance}") {
		t.Errorf("narrow view:\n%s", v)
	}
	m.SetSize(160, 20)
	if v := m.View(); !strings.Contains(v, "MISSING") || !strings.Contains(v, "TRANSITION") {
		t.Errorf("wide view:\n%s", v)
	}
	press(t, m, "/")
	typeText(t, m, "nothing-like-this")
	if v := m.View(); !strings.Contains(v, "nothing matches; esc clears the filter") {
		t.Errorf("view of an empty search:\n%s", v)
	}
}

// TestCloseWaits: closing the console stops the background reads and
// returns only once the ledger is closed, so another process can open it.
func TestCloseWaits(t *testing.T) {
	m, c, dir := newQueue(t)
	// A reload under way in the background, its rows never read.
	if _, ok := m.load()().(loadedMsg); !ok {
		t.Fatal("the reload did not start")
	}
	c.Close()
	l, err := ledger.Open(filepath.Join(dir, workspace.LedgerDir))
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	l.Close()
}
