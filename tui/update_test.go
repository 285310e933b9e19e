package tui

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
	"github.com/signoff-dev/signoff/policy/workspace"
)

// TestQueue: every state the demo sets up, for-you first; navigation,
// search and the for-you filter.
func TestQueue(t *testing.T) {
	m, _ := newTest(t, 120, 30, "default")
	if len(m.queue.rows) != 3 {
		t.Fatalf("%d rows, want the 3 demo requests", len(m.queue.rows))
	}
	states := map[string]string{}
	for _, r := range m.queue.rows {
		states[r.Subject.Model] = r.State
	}
	want := map[string]string{"credit-risk": StateForYou, "recommender": StateGates, "sepsis-triage": StateApproved}
	for k, v := range want {
		if states[k] != v {
			t.Errorf("%s: state %q, want %q", k, states[k], v)
		}
	}
	if rowIndex(m, "credit-risk") != 0 {
		t.Errorf("credit-risk, waiting for you, is row %d, want first", rowIndex(m, "credit-risk"))
	}
	press(t, m, "down", "down", "down")
	if m.queue.cursor != 2 {
		t.Errorf("cursor %d after three downs in three rows, want 2", m.queue.cursor)
	}
	press(t, m, "up")
	if m.queue.cursor != 1 {
		t.Errorf("cursor %d after up, want 1", m.queue.cursor)
	}
	press(t, m, "/")
	typeText(t, m, "sepsis")
	if len(m.queue.view) != 1 || m.queue.rows[m.queue.view[0]].Subject.Model != "sepsis-triage" {
		t.Errorf("search for sepsis shows %d rows", len(m.queue.view))
	}
	press(t, m, "esc")
	if len(m.queue.view) != 3 {
		t.Errorf("esc in search leaves %d rows, want 3", len(m.queue.view))
	}
	press(t, m, "f")
	for _, i := range m.queue.view {
		if !m.queue.rows[i].ForYou {
			t.Errorf("for-you filter shows %s", m.queue.rows[i].Subject.Model)
		}
	}
	press(t, m, "f", "s")
	if sorts[m.queue.sort] != "age" {
		t.Errorf("s sorts by %s, want age", sorts[m.queue.sort])
	}
}

// TestReviewSections: opening a subject, moving between sections, and
// which were opened.
func TestReviewSections(t *testing.T) {
	m, _ := newTest(t, 120, 30, "default")
	press(t, m, "enter")
	if m.screen != screenReview || m.rev.data == nil {
		t.Fatalf("enter: screen %v, data %v, error %q", m.screen, m.rev.data != nil, m.errText)
	}
	if m.rev.row.Subject.Model != "credit-risk" || !m.rev.opened["overview"] || len(m.rev.opened) != 1 {
		t.Fatalf("review of %s with %v opened", m.rev.row.Subject.Model, m.rev.opened)
	}
	press(t, m, "tab", "tab")
	if sections[m.rev.section] != "metrics" {
		t.Errorf("after two tabs: %s", sections[m.rev.section])
	}
	press(t, m, "shift+tab")
	if sections[m.rev.section] != "card" {
		t.Errorf("after shift+tab: %s", sections[m.rev.section])
	}
	press(t, m, "6")
	if sections[m.rev.section] != "history" || !m.rev.opened["history"] || m.rev.opened["fairness"] {
		t.Errorf("6 opens %s; opened %v", sections[m.rev.section], m.rev.opened)
	}
	for _, want := range []string{"History", "decision", "compliance@demo.example"} {
		if !strings.Contains(plain(t, m), want) {
			t.Errorf("history view lacks %q", want)
		}
	}
	press(t, m, "esc")
	if m.screen != screenQueue {
		t.Errorf("esc from review: screen %v", m.screen)
	}
}

// TestApproveNeedsReview: approval is refused until every section the
// policy names was opened; the typed reason survives the refusal and a
// trip back to the review; the decision records the sections opened.
func TestApproveNeedsReview(t *testing.T) {
	m, dir := newTest(t, 120, 40, "default")
	press(t, m, "enter", "d")
	if m.screen != screenDecide {
		t.Fatalf("d: screen %v", m.screen)
	}
	press(t, m, "a", "tab", "tab")
	typeText(t, m, "fairness within bounds")
	press(t, m, "ctrl+s")
	if !strings.Contains(m.form.err, "the policy asks for more review before approving: card not opened; metrics not opened; fairness not opened; evidence not opened") {
		t.Fatalf("approve without review: %q", m.form.err)
	}
	if len(decisions(t, dir)) != 0 {
		t.Fatal("a refused approval was signed")
	}
	press(t, m, "esc", "2")
	wait(m, 40*time.Second)
	press(t, m, "3")
	wait(m, 30*time.Second)
	press(t, m, "4")
	wait(m, 20*time.Second)
	press(t, m, "5")
	wait(m, 10*time.Second)
	press(t, m, "d")
	if got := m.form.reason.Value(); got != "fairness within bounds" {
		t.Errorf("the reason after going back: %q", got)
	}
	if m.form.verdict != -1 {
		t.Errorf("the verdict chosen carried over (%d): a new visit asks again", m.form.verdict)
	}
	press(t, m, "a", "tab", "tab", "tab")
	typeText(t, m, "RISK-7")
	press(t, m, "ctrl+s")
	if m.form.entry == "" {
		t.Fatalf("not signed: %q", m.form.err)
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
}

// TestRejectWithoutReview: a rejection needs a reason, not the review.
func TestRejectWithoutReview(t *testing.T) {
	m, dir := newTest(t, 80, 24, "plain")
	press(t, m, "down") // recommender, gates failing
	if m.queue.rows[m.queue.view[m.queue.cursor]].Subject.Model != "recommender" {
		t.Fatalf("second row is %s", m.queue.rows[m.queue.view[m.queue.cursor]].Subject.Model)
	}
	press(t, m, "enter", "d", "r", "ctrl+s")
	if !strings.Contains(m.form.err, "a decision needs a reason") {
		t.Fatalf("sign without a reason: %q", m.form.err)
	}
	typeText(t, m, "p95 latency 131 ms is over the 120 ms budget")
	press(t, m, "ctrl+s")
	if m.form.entry == "" {
		t.Fatalf("not signed: %q", m.form.err)
	}
	ds := decisions(t, dir)
	if len(ds) != 1 || ds[0].Body.Verdict != policy.Reject || ds[0].Body.Subject.Model != "recommender" {
		t.Fatalf("signed %+v", ds)
	}
	// Any key goes back to the queue, reloaded.
	press(t, m, "x")
	if m.screen != screenQueue || m.loading {
		t.Fatalf("after signing: screen %v loading %v", m.screen, m.loading)
	}
	for _, r := range m.queue.rows {
		if r.Subject.Model == "recommender" && (r.ForYou || r.State != StateGates) {
			t.Errorf("recommender after the rejection: for you %v, state %s", r.ForYou, r.State)
		}
	}
}

// TestSignErrorsInPlace: an encrypted key asks for its passphrase in the
// form; a wrong one and a ledger held by another process are errors
// shown in place, and the typed reason survives both.
func TestSignErrorsInPlace(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("needs ssh-keygen to put a passphrase on the demo key")
	}
	m, dir := newTest(t, 100, 30, "default")
	keyPath := filepath.Join(dir, workspace.KeyFile)
	if out, err := exec.Command("ssh-keygen", "-q", "-p", "-P", "", "-N", "correct horse", "-f", keyPath).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -p: %v\n%s", err, out)
	}
	press(t, m, "down", "enter", "d", "r", "tab", "tab")
	typeText(t, m, "latency over budget")
	press(t, m, "ctrl+s")
	if !m.form.needPass || m.form.field != fieldPass || !strings.Contains(m.form.err, "type its passphrase") {
		t.Fatalf("encrypted key: needPass %v field %v err %q", m.form.needPass, m.form.field, m.form.err)
	}
	typeText(t, m, "wrong")
	press(t, m, "ctrl+s")
	if m.form.entry != "" || m.form.err == "" {
		t.Fatalf("wrong passphrase: entry %q err %q", m.form.entry, m.form.err)
	}
	// Another process holds the ledger.
	l, err := ledger.Open(filepath.Join(dir, workspace.LedgerDir))
	if err != nil {
		t.Fatal(err)
	}
	typeText(t, m, "correct horse")
	press(t, m, "ctrl+s")
	if m.form.entry != "" || !strings.Contains(m.form.err, "in use") {
		t.Fatalf("ledger held: entry %q err %q", m.form.entry, m.form.err)
	}
	l.Close()
	if got := m.form.reason.Value(); got != "latency over budget" {
		t.Fatalf("the reason after the errors: %q", got)
	}
	typeText(t, m, "correct horse")
	press(t, m, "ctrl+s")
	if m.form.entry == "" {
		t.Fatalf("not signed with the right passphrase: %q", m.form.err)
	}
	if ds := decisions(t, dir); len(ds) != 1 || ds[0].Body.Reason != "latency over budget" {
		t.Fatalf("signed %+v", ds)
	}
}

// TestAudit: the timeline, its filter, and a full verify.
func TestAudit(t *testing.T) {
	m, _ := newTest(t, 120, 30, "default")
	press(t, m, "a")
	if m.screen != screenAudit || len(m.audit.rows) == 0 {
		t.Fatalf("audit: screen %v, %d rows", m.screen, len(m.audit.rows))
	}
	all := len(m.audit.view)
	press(t, m, "/")
	typeText(t, m, "request")
	press(t, m, "enter")
	// The 3 requests and the request for changes.
	if len(m.audit.view) != 4 {
		t.Errorf("filter request: %d rows, want 4 (of %d)", len(m.audit.view), all)
	}
	press(t, m, "/")
	for range len("request") {
		press(t, m, "backspace")
	}
	typeText(t, m, "alice request")
	press(t, m, "enter")
	if len(m.audit.view) != 1 || m.audit.rows[m.audit.view[0]].entry.Kind != policy.KindRequest {
		t.Errorf("filter alice request: %d rows", len(m.audit.view))
	}
	press(t, m, "v")
	if m.audit.verifying || !m.audit.resultOK || !strings.Contains(m.audit.result, "ledger intact") {
		t.Fatalf("verify: %q", m.audit.result)
	}
	press(t, m, "esc", "esc")
	if m.screen != screenQueue {
		t.Errorf("esc twice from a filtered audit: screen %v", m.screen)
	}
}

// TestResize: every screen fits the window after it changes size.
func TestResize(t *testing.T) {
	m, _ := newTest(t, 160, 48, "default")
	press(t, m, "enter", "3")
	for _, size := range [][2]int{{80, 24}, {200, 60}, {100, 30}} {
		send(t, m, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		lines := strings.Split(plain(t, m), "\n")
		if len(lines) != size[1] {
			t.Errorf("%dx%d: %d lines", size[0], size[1], len(lines))
		}
		for i, l := range lines {
			if w := displayWidth(l); w > size[0] {
				t.Errorf("%dx%d: line %d is %d wide", size[0], size[1], i+1, w)
			}
		}
	}
}

// TestSignWithAgent: with --agent the console signs with the key held in
// a real ssh-agent, asking for no passphrase.
func TestSignWithAgent(t *testing.T) {
	for _, tool := range []string{"ssh-agent", "ssh-add"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip("needs " + tool)
		}
	}
	dir := demo(t)
	sock := filepath.Join(t.TempDir(), "agent.sock")
	agent := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Process.Kill(); agent.Wait() })
	for range 100 {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	add := exec.Command("ssh-add", filepath.Join(dir, workspace.KeyFile))
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v\n%s", err, out)
	}
	// The key file is gone: only the agent can sign.
	if err := os.Remove(filepath.Join(dir, workspace.KeyFile)); err != nil {
		t.Fatal(err)
	}
	m, _ := newTestIn(t, dir, 100, 30, "default")
	m.opt.Agent, m.opt.AgentSocket = true, sock
	press(t, m, "down", "enter", "d", "c", "tab", "tab")
	typeText(t, m, "add a latency fix first")
	press(t, m, "ctrl+s")
	if m.form.entry == "" || m.form.needPass {
		t.Fatalf("agent signing: entry %q, needPass %v, err %q", m.form.entry, m.form.needPass, m.form.err)
	}
	if ds := decisions(t, dir); len(ds) != 1 || ds[0].Body.Verdict != policy.RequestChanges {
		t.Fatalf("signed %+v", ds)
	}
}

// TestCloseWaits: closing the console stops the background reads and
// returns only once the ledger is closed, so another process can open it.
func TestCloseWaits(t *testing.T) {
	m, dir := newTest(t, 100, 30, "default")
	// A reload under way in the background, its rows never read.
	loaded := make(chan tea.Msg, 1)
	go func() { loaded <- m.load()() }()
	if _, ok := (<-loaded).(loadedMsg); !ok {
		t.Fatal("the reload did not start")
	}
	m.Close()
	l, err := ledger.Open(filepath.Join(dir, workspace.LedgerDir))
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	l.Close()
}
