package decide

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signoff-dev/signoff/home"
	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
	"github.com/signoff-dev/signoff/policy/workspace"
	"github.com/signoff-dev/signoff/tui/common"
	"github.com/signoff-dev/signoff/tui/data"
	"github.com/signoff-dev/signoff/tui/internal/tuitest"
)

func TestMain(m *testing.M) { tuitest.Main(m) }

// all is a review of every section, for long enough.
func all() []policy.Reviewed {
	var out []policy.Reviewed
	for _, s := range data.Sections {
		out = append(out, policy.Reviewed{Section: s, Seconds: 600})
	}
	return out
}

// newForm returns the form over a copy of the demo in dir ("" for a new
// copy), open on the review of the model named, with reviewed opened.
func newForm(t *testing.T, dir, model string, reviewed []policy.Reviewed) (*Model, *common.Common, string) {
	t.Helper()
	if dir == "" {
		dir = tuitest.Demo(t)
	}
	c := tuitest.Loaded(t, dir, "default", tuitest.NewClock())
	m := New(c)
	m.SetSize(120, 27)
	m.Update(common.OpenDecideMsg{Review: tuitest.Review(t, c, model), Reviewed: reviewed})
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

// TestForm: the verdict and role fields, moving between fields, what the
// form refuses before signing, and going back to the review.
func TestForm(t *testing.T) {
	m, c, dir := newForm(t, "", "credit-risk", []policy.Reviewed{{Section: "overview", Seconds: 3}})
	if m.Verdict() != "" || m.field != fieldVerdict || strings.Join(m.roles, ",") != "risk" {
		t.Fatalf("opened with verdict %q, field %v, roles %v", m.Verdict(), m.field, m.roles)
	}
	for _, tc := range []struct{ key, verdict string }{
		{"right", policy.Approve}, {"right", policy.Reject}, {"l", policy.RequestChanges}, {"space", policy.Approve},
		{"left", policy.RequestChanges}, {"a", policy.Approve}, {"r", policy.Reject}, {"c", policy.RequestChanges},
	} {
		press(t, m, tc.key)
		if m.Verdict() != tc.verdict {
			t.Errorf("%s: verdict %q, want %q", tc.key, m.Verdict(), tc.verdict)
		}
	}
	press(t, m, "enter")
	if m.field != fieldRole {
		t.Errorf("enter on the verdict: field %v", m.field)
	}
	press(t, m, "enter")
	if m.field != fieldReason || !m.Typing() {
		t.Errorf("enter on the role: field %v, typing %v", m.field, m.Typing())
	}
	press(t, m, "tab", "tab", "tab")
	if m.field != fieldRole {
		t.Errorf("tab goes round four fields: field %v", m.field)
	}
	press(t, m, "shift+tab")
	if m.field != fieldVerdict {
		t.Errorf("shift+tab: field %v", m.field)
	}
	press(t, m, "a", "ctrl+s")
	if !strings.Contains(m.Err(), "a decision needs a reason") || m.field != fieldReason {
		t.Errorf("sign without a reason: %q, field %v", m.Err(), m.field)
	}
	typeText(t, m, "looks fine")
	press(t, m, "ctrl+s")
	if want := "the policy asks for more review before approving: card not opened; metrics not opened; fairness not opened; evidence not opened"; !strings.Contains(m.Err(), want) {
		t.Errorf("approve with only the overview read: %q", m.Err())
	}
	if !strings.Contains(strings.Join(strings.Fields(m.View()), " "), "approval needs more review: card not opened") {
		t.Errorf("the form does not say what the review lacks:\n%s", m.View())
	}
	if ds := tuitest.Decisions(t, dir); len(ds) != 0 {
		t.Fatal("a refused approval was signed")
	}
	press(t, m, "esc")
	if next := c.TakeGo(); len(next) != 1 || next[0] != (common.ResumeReviewMsg{}) {
		t.Errorf("esc hands over %v", next)
	}
	if m.Reason() != "looks fine" || m.field != fieldVerdict {
		t.Errorf("after esc: reason %q, field %v", m.Reason(), m.field)
	}
}

// TestSigned: once signed, the form says so, and any key but q goes back
// to the queue, read again.
func TestSigned(t *testing.T) {
	m, c, dir := newForm(t, "", "credit-risk", all())
	press(t, m, "a", "tab", "tab")
	typeText(t, m, "paired AUC gain holds")
	press(t, m, "tab")
	typeText(t, m, " RISK-9 ")
	press(t, m, "enter") // enter in the ticket signs
	if m.Entry() == "" {
		t.Fatalf("not signed: %q", m.Err())
	}
	if status, _ := c.Status(); status != "signed and recorded: "+m.Entry() {
		t.Errorf("status %q", status)
	}
	if v := m.View(); !strings.Contains(v, "signed and recorded durably") || !strings.Contains(v, "entry "+m.Entry()) {
		t.Errorf("the form once signed:\n%s", v)
	}
	ds := tuitest.Decisions(t, dir)
	if len(ds) != 1 || ds[0].Body.Ticket != "RISK-9" || ds[0].Body.Role != "risk" || len(ds[0].Body.Reviewed) != len(data.Sections) {
		t.Fatalf("signed %+v", ds)
	}
	press(t, m, "x")
	if next := c.TakeGo(); len(next) != 1 || next[0] != (common.ShowQueueMsg{Reload: true}) {
		t.Errorf("a key once signed hands over %v", next)
	}
}

// TestWouldNotCount: an approval the verdict would not count is refused
// by policy.Decide, not signed, and the form says why. Here the form's
// copy of the transition says nothing of review (as when the policy
// changed after the review was read), so only policy.Decide stands
// between the approval and the ledger.
func TestWouldNotCount(t *testing.T) {
	m, _, dir := newForm(t, "", "credit-risk", []policy.Reviewed{{Section: "overview", Seconds: 1}})
	m.review.Transition = nil
	press(t, m, "a", "tab", "tab")
	typeText(t, m, "fine")
	press(t, m, "ctrl+s")
	if m.Entry() != "" || !strings.Contains(m.Err(), policy.ErrWouldNotCount.Error()) || !strings.Contains(m.Err(), "card not opened") {
		t.Fatalf("an approval that would not count: entry %q, err %q", m.Entry(), m.Err())
	}
	if !strings.Contains(strings.Join(strings.Fields(m.View()), " "), "✗ "+policy.ErrWouldNotCount.Error()) {
		t.Errorf("the form does not show the refusal:\n%s", m.View())
	}
	if ds := tuitest.Decisions(t, dir); len(ds) != 0 {
		t.Fatalf("signed %+v", ds)
	}
}

// TestSignErrorsInPlace: an encrypted key asks for its passphrase in the
// form; a wrong one and a ledger held by another process are errors
// shown in place, and the typed reason survives both.
func TestSignErrorsInPlace(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("needs ssh-keygen to put a passphrase on the demo key")
	}
	m, _, dir := newForm(t, "", "recommender", nil)
	keyPath := filepath.Join(dir, workspace.KeyFile)
	if out, err := exec.Command("ssh-keygen", "-q", "-p", "-P", "", "-N", "correct horse", "-f", keyPath).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -p: %v\n%s", err, out)
	}
	press(t, m, "r", "tab", "tab")
	typeText(t, m, "latency over budget")
	press(t, m, "ctrl+s")
	if !m.needPass || m.field != fieldPass || !strings.Contains(m.Err(), "type its passphrase") {
		t.Fatalf("encrypted key: needPass %v field %v err %q", m.needPass, m.field, m.Err())
	}
	typeText(t, m, "wrong")
	press(t, m, "ctrl+s")
	if m.Entry() != "" || m.Err() == "" || m.pass.Value() != "" {
		t.Fatalf("wrong passphrase: entry %q err %q", m.Entry(), m.Err())
	}
	// Another process holds the ledger.
	l, err := ledger.Open(filepath.Join(dir, workspace.LedgerDir))
	if err != nil {
		t.Fatal(err)
	}
	typeText(t, m, "correct horse")
	press(t, m, "ctrl+s")
	if m.Entry() != "" || !strings.Contains(m.Err(), "in use") {
		t.Fatalf("ledger held: entry %q err %q", m.Entry(), m.Err())
	}
	l.Close()
	if got := m.Reason(); got != "latency over budget" {
		t.Fatalf("the reason after the errors: %q", got)
	}
	typeText(t, m, "correct horse")
	press(t, m, "ctrl+s")
	if m.Entry() == "" {
		t.Fatalf("not signed with the right passphrase: %q", m.Err())
	}
	if ds := tuitest.Decisions(t, dir); len(ds) != 1 || ds[0].Body.Reason != "latency over budget" {
		t.Fatalf("signed %+v", ds)
	}
}

// TestSignWithAgent: with --agent the form signs with the key held in a
// real ssh-agent, asking for no passphrase.
func TestSignWithAgent(t *testing.T) {
	for _, tool := range []string{"ssh-agent", "ssh-add"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip("needs " + tool)
		}
	}
	dir := tuitest.Demo(t)
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
	m, c, _ := newForm(t, dir, "recommender", nil)
	c.Opt.Key = home.Key{Agent: true, AgentSocket: sock}
	press(t, m, "c", "tab", "tab")
	typeText(t, m, "add a latency fix first")
	press(t, m, "ctrl+s")
	if m.Entry() == "" || m.needPass {
		t.Fatalf("agent signing: entry %q, needPass %v, err %q", m.Entry(), m.needPass, m.Err())
	}
	if ds := tuitest.Decisions(t, dir); len(ds) != 1 || ds[0].Body.Verdict != policy.RequestChanges {
		t.Fatalf("signed %+v", ds)
	}
}

// TestFormForgetsAnotherSubject: a reason typed for one subject is kept
// through a trip back to its review, and never offered for another.
func TestFormForgetsAnotherSubject(t *testing.T) {
	m, c, _ := newForm(t, "", "recommender", nil)
	press(t, m, "r", "tab", "tab")
	typeText(t, m, "latency regressed")
	m.Update(common.OpenDecideMsg{Review: tuitest.Review(t, c, "recommender")})
	if got := m.reason.Value(); got != "latency regressed" {
		t.Fatalf("back on the same subject, the reason is %q", got)
	}
	m.Update(common.OpenDecideMsg{Review: tuitest.Review(t, c, "credit-risk")})
	if got := m.reason.Value(); got != "" {
		t.Fatalf("another subject's form offers %q", got)
	}
}
