package tui

import (
	"bytes"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/signoff-dev/signoff/policy"
	"github.com/signoff-dev/signoff/tui/internal/tuitest"
)

// flowModel is a console over a copy of the demo, not yet started.
func flowModel(t *testing.T) (*Model, string) {
	dir := demo(t)
	m := New(options(t, dir, "default", tuitest.Ticking(fixNow)))
	t.Cleanup(m.Close)
	return m, dir
}

func waitFor(t *testing.T, tm *teatest.TestModel, text string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(text)) },
		teatest.WithDuration(20*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
}

func keys(tm *teatest.TestModel, ks ...string) {
	for _, k := range ks {
		tm.Send(keyMsg(k))
	}
}

// TestFlowApprove: the risk officer opens credit-risk, reads every
// section, approves with a reason and a ticket, and quits; the decision
// is in the ledger and completes the quorum.
func TestFlowApprove(t *testing.T) {
	m, dir := flowModel(t)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(100, 30),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
	waitFor(t, tm, "● credit-risk 7")
	keys(tm, "enter")
	waitFor(t, tm, "Sign-offs")
	keys(tm, "2", "3", "4", "5", "6")
	waitFor(t, tm, "History")
	keys(tm, "d", "a", "tab", "tab")
	tm.Type("Paired AUC gain holds; disparate impact 0.93.")
	keys(tm, "tab")
	tm.Type("RISK-77")
	keys(tm, "ctrl+s")
	waitFor(t, tm, "signed and recorded")
	keys(tm, "x")
	waitFor(t, tm, "approved")
	keys(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))

	ds := decisions(t, dir)
	if len(ds) != 1 || ds[0].Body.Verdict != policy.Approve || ds[0].Body.Ticket != "RISK-77" || len(ds[0].Body.Reviewed) != 6 {
		t.Fatalf("signed %+v", ds)
	}
}

// TestFlowReject: the risk officer rejects the recommender, whose gate
// fails, giving the reason; then quits.
func TestFlowReject(t *testing.T) {
	m, dir := flowModel(t)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
	waitFor(t, tm, "● recommender 12")
	keys(tm, "down", "enter")
	waitFor(t, tm, "p95-latency")
	keys(tm, "d", "r", "tab", "tab")
	tm.Type("Latency budget blown; come back with the cache fix.")
	keys(tm, "ctrl+s")
	waitFor(t, tm, "signed and recorded")
	keys(tm, "x")
	waitFor(t, tm, "approved")
	keys(tm, "ctrl+c")
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))

	ds := decisions(t, dir)
	if len(ds) != 1 || ds[0].Body.Verdict != policy.Reject || ds[0].Body.Subject.Model != "recommender" {
		t.Fatalf("signed %+v", ds)
	}
}
