package review

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/signoff-dev/signoff/policy"
	"github.com/signoff-dev/signoff/tui/common"
	"github.com/signoff-dev/signoff/tui/data"
	"github.com/signoff-dev/signoff/tui/internal/tuitest"
)

func TestMain(m *testing.M) { tuitest.Main(m) }

// newReview returns the review page over a copy of the demo, 120×27,
// open on the model named and read.
func newReview(t *testing.T, model string) (*Model, *common.Common, *tuitest.Clock) {
	t.Helper()
	clk := tuitest.NewClock()
	c := tuitest.Loaded(t, tuitest.Demo(t), "default", clk)
	m := New(c)
	m.SetSize(120, 27)
	send(t, m, common.OpenReviewMsg{Row: tuitest.Row(t, c, model)})
	if m.data == nil {
		_, err := c.Status()
		t.Fatalf("review not read: %q", err)
	}
	return m, c, clk
}

func send(t *testing.T, m *Model, msg any) {
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

// TestSections: opening a subject, moving between sections, and which
// were opened.
func TestSections(t *testing.T) {
	m, c, _ := newReview(t, "credit-risk")
	if m.row.Subject.Model != "credit-risk" || !m.opened["overview"] || len(m.opened) != 1 {
		t.Fatalf("review of %s with %v opened", m.row.Subject.Model, m.opened)
	}
	if status, err := c.Status(); status != "" || err != "" {
		t.Errorf("status after reading: %q, %q", status, err)
	}
	press(t, m, "tab", "tab")
	if data.Sections[m.section] != "metrics" {
		t.Errorf("after two tabs: %s", data.Sections[m.section])
	}
	press(t, m, "shift+tab")
	if data.Sections[m.section] != "card" {
		t.Errorf("after shift+tab: %s", data.Sections[m.section])
	}
	press(t, m, "6")
	if data.Sections[m.section] != "history" || !m.opened["history"] || m.opened["fairness"] {
		t.Errorf("6 opens %s; opened %v", data.Sections[m.section], m.opened)
	}
	view := ansi.Strip(m.View())
	for _, want := range []string{"6 History", "decision", "compliance@demo.example", "2 Model card 0s", "1 Overview ✓"} {
		if !strings.Contains(view, want) {
			t.Errorf("history view lacks %q:\n%s", want, view)
		}
	}
	press(t, m, "tab")
	if data.Sections[m.section] != "overview" {
		t.Errorf("tab from the last section opens %s", data.Sections[m.section])
	}
	press(t, m, "shift+tab")
	if data.Sections[m.section] != "history" {
		t.Errorf("shift+tab from the first section opens %s", data.Sections[m.section])
	}
	press(t, m, "esc")
	if next := c.TakeGo(); len(next) != 1 || next[0] != (common.ShowQueueMsg{}) {
		t.Errorf("esc hands over %v", next)
	}
}

// TestReviewed: the time in each section is counted to the whole second,
// the section open when d is pressed included, and the time away in the
// form is not.
func TestReviewed(t *testing.T) {
	m, c, clk := newReview(t, "credit-risk")
	clk.Wait(5 * time.Second)
	press(t, m, "2")
	clk.Wait(3500 * time.Millisecond)
	press(t, m, "d")
	next := c.TakeGo()
	if len(next) != 1 {
		t.Fatalf("d hands over %v", next)
	}
	d, ok := next[0].(common.OpenDecideMsg)
	if !ok || d.Review != m.data {
		t.Fatalf("d hands over %#v", next[0])
	}
	if got := reviewed(d.Reviewed); got != "overview 5s, card 3s" {
		t.Errorf("reviewed %s", got)
	}
	clk.Wait(time.Minute) // in the form
	send(t, m, common.ResumeReviewMsg{})
	clk.Wait(2 * time.Second)
	press(t, m, "d")
	d = c.TakeGo()[0].(common.OpenDecideMsg)
	if got := reviewed(d.Reviewed); got != "overview 5s, card 5s" {
		t.Errorf("reviewed after going back: %s", got)
	}
}

func reviewed(rs []policy.Reviewed) string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Section+" "+(time.Duration(r.Seconds)*time.Second).String())
	}
	return strings.Join(out, ", ")
}

// TestLeftWhileReading: a review still being read when the reader goes
// back is dropped, and a new one takes its place.
func TestLeftWhileReading(t *testing.T) {
	m, c, _ := newReview(t, "credit-risk")
	_, first := m.Update(common.OpenReviewMsg{Row: tuitest.Row(t, c, "recommender")})
	if m.data != nil || !m.loading || !strings.Contains(ansi.Strip(m.View()), "computing metrics") {
		t.Fatalf("opening: data %v, loading %v", m.data != nil, m.loading)
	}
	press(t, m, "d") // nothing to decide on yet
	if next := c.TakeGo(); len(next) != 0 {
		t.Errorf("d while reading hands over %v", next)
	}
	press(t, m, "esc")
	tuitest.Run(t, tuitest.Updater(m), first)
	if m.data != nil {
		t.Error("the review read after the reader left was taken")
	}
	send(t, m, common.OpenReviewMsg{Row: tuitest.Row(t, c, "sepsis-triage")})
	if m.data == nil || m.data.Verdict.Subject.Model != "sepsis-triage" {
		t.Fatal("the next review was not read")
	}
}

// TestHostileCardResults: the results a card reports come from outside,
// like the rest of it.
func TestHostileCardResults(t *testing.T) {
	m, _, _ := newReview(t, "credit-risk")
	card := m.data.Report.Card
	if card == nil || len(card.Results) == 0 {
		t.Skip("the demo card reports no results")
	}
	card.Results[0].MetricName = "auc\x1b]52;c;ZWNobyBwd25lZA==\x07\x1b[2J"
	card.Results[0].Dataset = "holdout\u202eevil"
	press(t, m, "2")
	v := m.View()
	for _, bad := range []string{"\x1b]52", "\x1b[2J", "\u202e"} {
		if strings.Contains(v, bad) {
			t.Errorf("the card section holds %q", bad)
		}
	}
}

// TestReadingMarks: each tab says where its review stands by the policy's
// minimum: the seconds a required section has had while short of it
// (the open one counting on at each reading tick), ✓ once it has had it.
func TestReadingMarks(t *testing.T) {
	m, _, clk := newReview(t, "credit-risk")
	press(t, m, "2")
	clk.Wait(400 * time.Millisecond)
	send(t, m, readingMsg{opening: m.opening})
	if view := ansi.Strip(m.View()); !strings.Contains(view, "2 Model card 0s") {
		t.Fatalf("a card open 0.4s:\n%s", view)
	}
	clk.Wait(time.Second)
	send(t, m, readingMsg{opening: m.opening})
	if view := ansi.Strip(m.View()); !strings.Contains(view, "2 Model card ✓") {
		t.Fatalf("a card open 1.4s, the tick after:\n%s", view)
	}
	press(t, m, "3")
	if view := ansi.Strip(m.View()); !strings.Contains(view, "2 Model card ✓") || !strings.Contains(view, "3 Metrics 0s") {
		t.Fatalf("the card left after 1.4s, metrics open:\n%s", view)
	}
	// A tick for a review left is dropped.
	press(t, m, "esc")
	clk.Wait(time.Minute)
	send(t, m, readingMsg{opening: m.opening})
	if got := m.reviewed(); got[2].Section != "metrics" || got[2].Seconds != 0 {
		t.Fatalf("time counted after leaving: %v", got)
	}
}
