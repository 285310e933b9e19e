package tui

import (
	"image/color"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/signoff-dev/signoff/policy"
	"github.com/signoff-dev/signoff/tui/common"
	"github.com/signoff-dev/signoff/tui/components/text"
	"github.com/signoff-dev/signoff/tui/data"
)

// TestApproveNeedsReview: approval is refused until every section the
// policy names was opened; the typed reason survives the refusal and a
// trip back to the review; the decision records the sections opened, and
// for how long.
func TestApproveNeedsReview(t *testing.T) {
	m, dir := newTest(t, 120, 40, "default")
	press(t, m, "enter", "d")
	if m.front != common.DecidePage {
		t.Fatalf("d: page %v", m.front)
	}
	press(t, m, "a", "tab", "tab")
	typeText(t, m, "fairness within bounds")
	press(t, m, "ctrl+s")
	if !strings.Contains(m.decide().Err(), "the policy asks for more review before approving: card not opened; metrics not opened; fairness not opened; evidence not opened") {
		t.Fatalf("approve without review: %q", m.decide().Err())
	}
	if len(decisions(t, dir)) != 0 {
		t.Fatal("a refused approval was signed")
	}
	press(t, m, "esc")
	if m.front != common.ReviewPage {
		t.Fatalf("esc from the form: page %v", m.front)
	}
	press(t, m, "2")
	wait(m, 40*time.Second)
	press(t, m, "3")
	wait(m, 30*time.Second)
	press(t, m, "4")
	wait(m, 20*time.Second)
	press(t, m, "5")
	wait(m, 10*time.Second)
	press(t, m, "d")
	if got := m.decide().Reason(); got != "fairness within bounds" {
		t.Errorf("the reason after going back: %q", got)
	}
	if v := m.decide().Verdict(); v != "" {
		t.Errorf("the verdict chosen carried over (%s): a new visit asks again", v)
	}
	press(t, m, "a", "tab", "tab", "tab")
	typeText(t, m, "RISK-7")
	press(t, m, "ctrl+s")
	if m.decide().Entry() == "" {
		t.Fatalf("not signed: %q", m.decide().Err())
	}
	ds := decisions(t, dir)
	if len(ds) != 1 {
		t.Fatalf("%d decisions signed", len(ds))
	}
	b := ds[0].Body
	if b.Verdict != policy.Approve || b.Role != "risk" || b.Reason != "fairness within bounds" || b.Ticket != "RISK-7" {
		t.Errorf("signed %+v", b)
	}
	var opened []string
	for _, r := range b.Reviewed {
		opened = append(opened, r.Section)
	}
	if strings.Join(opened, ",") != "overview,card,metrics,fairness,evidence" {
		t.Errorf("reviewed %v", opened)
	}
	// The section open when d was pressed counts too.
	want := map[string]int64{"overview": 0, "card": 40, "metrics": 30, "fairness": 20, "evidence": 10}
	for _, r := range b.Reviewed {
		if r.Seconds != want[r.Section] {
			t.Errorf("%s open %ds, want %ds", r.Section, r.Seconds, want[r.Section])
		}
	}
}

// TestRejectWithoutReview: a rejection needs a reason, not the review;
// once signed, any key goes back to the queue, read again.
func TestRejectWithoutReview(t *testing.T) {
	m, dir := newTest(t, 80, 24, "plain")
	press(t, m, "down") // recommender, gates failing
	if r, _ := m.queue().Selected(); r.Subject.Model != "recommender" {
		t.Fatalf("second row is %s", r.Subject.Model)
	}
	press(t, m, "enter", "d", "r", "ctrl+s")
	if !strings.Contains(m.decide().Err(), "a decision needs a reason") {
		t.Fatalf("sign without a reason: %q", m.decide().Err())
	}
	typeText(t, m, "p95 latency 131 ms is over the 120 ms budget")
	press(t, m, "ctrl+s")
	if m.decide().Entry() == "" {
		t.Fatalf("not signed: %q", m.decide().Err())
	}
	ds := decisions(t, dir)
	if len(ds) != 1 || ds[0].Body.Verdict != policy.Reject || ds[0].Body.Subject.Model != "recommender" {
		t.Fatalf("signed %+v", ds)
	}
	if status, _ := m.c.Status(); !strings.HasPrefix(status, "signed and recorded: sha256:") {
		t.Errorf("status after signing: %q", status)
	}
	// Any key goes back to the queue, reloaded.
	press(t, m, "x")
	if m.front != common.QueuePage || m.queue().Loading() {
		t.Fatalf("after signing: page %v loading %v", m.front, m.queue().Loading())
	}
	for _, r := range m.queue().Rows() {
		if r.Subject.Model == "recommender" && (r.ForYou || r.State != data.StateGates) {
			t.Errorf("recommender after the rejection: for you %v, state %s", r.ForYou, r.State)
		}
	}
}

// TestResize: every page fits the window after it changes size, the
// page in front and those brought to the front after.
func TestResize(t *testing.T) {
	m, _ := newTest(t, 160, 48, "default")
	press(t, m, "enter", "3")
	fits := func(what string, w, h int) {
		t.Helper()
		lines := strings.Split(plain(t, m), "\n")
		if len(lines) != h {
			t.Errorf("%s at %dx%d: %d lines", what, w, h, len(lines))
		}
		for i, l := range lines {
			if lw := text.Width(l); lw > w {
				t.Errorf("%s at %dx%d: line %d is %d wide", what, w, h, i+1, lw)
			}
		}
	}
	for _, size := range [][2]int{{80, 24}, {200, 60}, {100, 30}} {
		send(t, m, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		fits("metrics", size[0], size[1])
	}
	press(t, m, "d")
	fits("the form", 100, 30)
	send(t, m, tea.WindowSizeMsg{Width: 90, Height: 26})
	press(t, m, "esc")
	fits("the review, resized while away", 90, 26)
	press(t, m, "esc", "?")
	fits("the queue with all the help", 90, 26)
	press(t, m, "?", "a")
	fits("the audit", 90, 26)
}

// TestGlobalKeys: ctrl+c quits from anywhere, typing or not; ? toggles
// all the help unless a text field has the keys, when it is typed.
func TestGlobalKeys(t *testing.T) {
	m, _ := newTest(t, 120, 30, "default")
	quits := func(where string) {
		t.Helper()
		_, cmd := m.Update(keyMsg("ctrl+c"))
		if cmd == nil {
			t.Fatalf("ctrl+c in %s: no command", where)
		}
		if _, ok := cmd().(tea.QuitMsg); !ok {
			t.Errorf("ctrl+c in %s does not quit", where)
		}
	}
	quits("the queue")
	press(t, m, "?")
	if !m.footer.ShowAll() {
		t.Fatal("? does not show all the help")
	}
	if !strings.Contains(plain(t, m), "waiting for you / all") {
		t.Error("the full help does not show the queue's keys")
	}
	press(t, m, "?", "/", "?")
	if m.footer.ShowAll() {
		t.Error("? typed in the search toggled the help")
	}
	if !strings.Contains(plain(t, m), "/ ?") {
		t.Error("? typed in the search is not in it")
	}
	quits("the search")
	press(t, m, "esc", "enter", "d", "tab", "tab")
	if !m.decide().Typing() {
		t.Fatal("the reason field does not have the keys")
	}
	press(t, m, "?")
	if m.footer.ShowAll() || m.decide().Reason() != "?" {
		t.Errorf("? in the reason: help %v, reason %q", m.footer.ShowAll(), m.decide().Reason())
	}
	quits("the reason")
}

// TestTypeAhead: a page hands over the screen before the next key, so
// keys typed quickly land on the page they were meant for.
func TestTypeAhead(t *testing.T) {
	m, _ := newTest(t, 120, 30, "default")
	press(t, m, "enter")
	for _, k := range []string{"d", "a", "tab", "tab", "o", "k"} {
		m.Update(keyMsg(k)) // no command run between them
	}
	if m.front != common.DecidePage || m.decide().Verdict() != policy.Approve || m.decide().Reason() != "ok" {
		t.Errorf("typed ahead: page %v, verdict %q, reason %q", m.front, m.decide().Verdict(), m.decide().Reason())
	}
}

// TestPageMessages: what a page reads in the background reaches it
// when another page is in front.
func TestPageMessages(t *testing.T) {
	m, _ := newTest(t, 120, 30, "default")
	press(t, m, "a")
	_, verify := m.Update(keyMsg("v"))
	press(t, m, "esc")
	if m.front != common.QueuePage {
		t.Fatalf("esc from the audit: page %v", m.front)
	}
	run(t, m, verify)
	press(t, m, "a")
	if !strings.Contains(plain(t, m), "ledger intact") {
		t.Errorf("the verification finished away from the audit is not shown:\n%s", plain(t, m))
	}
}

// TestBackground: the styles are built again for the background the
// terminal reports.
func TestBackground(t *testing.T) {
	for _, tc := range []struct {
		theme, light string
	}{{"default", "light"}, {"dark", "dark"}, {"plain", "notty"}} {
		m, _ := newTest(t, 120, 30, tc.theme)
		if !m.c.Styles.IsDark {
			t.Fatalf("%s: starts light", tc.theme)
		}
		press(t, m, "enter", "2")
		send(t, m, tea.BackgroundColorMsg{Color: color.White})
		if m.c.Styles.IsDark || m.c.Styles.Name != tc.theme || m.c.Styles.Glamour != tc.light {
			t.Errorf("%s on white: dark %v, theme %s, glamour %s", tc.theme, m.c.Styles.IsDark, m.c.Styles.Name, m.c.Styles.Glamour)
		}
		if !strings.Contains(plain(t, m), "Metadata") {
			t.Errorf("%s: the card after the background changed:\n%s", tc.theme, plain(t, m))
		}
	}
}
