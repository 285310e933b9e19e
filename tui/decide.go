package tui

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textarea"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/signoff-dev/signoff/inert"
	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
)

type field int

const (
	fieldVerdict field = iota
	fieldRole
	fieldReason
	fieldTicket
	fieldPass
)

var verdicts = []string{policy.Approve, policy.Reject, policy.RequestChanges}

var verdictLabels = map[string]string{policy.Approve: "approve", policy.Reject: "reject", policy.RequestChanges: "request changes"}

type decideState struct {
	verdict  int // index in verdicts; -1 until chosen
	roles    []string
	role     int
	reason   textarea.Model
	ticket   textinput.Model
	pass     textinput.Model
	needPass bool
	field    field
	signing  bool
	err      string
	entry    string // the entry id once signed
}

type signedMsg struct {
	id  string
	err error
}

// openDecide shows the decision form for the subject under review.
func (m *Model) openDecide() tea.Cmd {
	m.leaveReview()
	f := &m.form
	f.verdict, f.role, f.field, f.err, f.entry, f.signing = -1, 0, fieldVerdict, "", "", false
	f.roles = nil
	var wanted []string
	if t := m.rev.data.Transition; t != nil {
		wanted = t.RequiredRoles()
	}
	for _, r := range m.me.Roles {
		if len(wanted) == 0 || slices.Contains(wanted, r) {
			f.roles = append(f.roles, r)
		}
	}
	if len(f.roles) == 0 {
		f.roles = m.me.Roles
	}
	f.reason.Blur()
	f.ticket.Blur()
	f.pass.Blur()
	m.screen = screenDecide
	m.status, m.errText = "", ""
	return nil
}

// reviewed is what the reader has opened so far, and for how long: what
// a decision records.
func (m *Model) reviewed() []policy.Reviewed {
	var out []policy.Reviewed
	for _, s := range sections {
		if m.rev.opened[s] {
			out = append(out, policy.Reviewed{Section: s, Seconds: int64(m.rev.spent[s] / time.Second)})
		}
	}
	return out
}

// missingSections says what the review lacks against the policy's
// require_review_of (policy's own rule: the verdict asks the same).
func (m *Model) missingSections() []string {
	if t := m.rev.data.Transition; t != nil {
		return t.ReviewShortfall(m.reviewed())
	}
	return nil
}

func (f *decideState) focus(fl field) tea.Cmd {
	f.reason.Blur()
	f.ticket.Blur()
	f.pass.Blur()
	f.field = fl
	switch fl {
	case fieldReason:
		return f.reason.Focus()
	case fieldTicket:
		return f.ticket.Focus()
	case fieldPass:
		return f.pass.Focus()
	}
	return nil
}

func (f *decideState) fields() []field {
	fs := []field{fieldVerdict, fieldRole, fieldReason, fieldTicket}
	if f.needPass {
		fs = append(fs, fieldPass)
	}
	return fs
}

func (f *decideState) updateFocused(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	switch f.field {
	case fieldReason:
		f.reason, cmd = f.reason.Update(msg)
	case fieldTicket:
		f.ticket, cmd = f.ticket.Update(msg)
	case fieldPass:
		f.pass, cmd = f.pass.Update(msg)
	}
	return cmd
}

func (m *Model) decideKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	f, k := &m.form, m.keys
	if f.signing {
		return m, nil
	}
	if f.entry != "" { // signed: any key goes back to the queue
		if key.Matches(msg, k.Quit) && !m.typing() {
			return m, tea.Quit
		}
		m.screen = screenQueue
		return m, m.reloadQueue()
	}
	fs := f.fields()
	at := slices.Index(fs, f.field)
	switch {
	case key.Matches(msg, k.Back):
		// Back to the review; what was typed stays.
		f.focus(fieldVerdict)
		m.screen = screenReview
		m.openSection(m.rev.section)
		return m, nil
	case key.Matches(msg, k.Sign):
		return m, m.sign()
	case key.Matches(msg, k.NextField):
		return m, f.focus(fs[(at+1)%len(fs)])
	case key.Matches(msg, k.PrevField):
		return m, f.focus(fs[(at+len(fs)-1)%len(fs)])
	}
	switch f.field {
	case fieldVerdict:
		switch msg.String() {
		case "left", "h":
			f.verdict = (max(f.verdict, 0) + len(verdicts) - 1) % len(verdicts)
		case "right", "l", "space":
			f.verdict = (f.verdict + 1) % len(verdicts)
		case "a":
			f.verdict = 0
		case "r":
			f.verdict = 1
		case "c":
			f.verdict = 2
		case "enter":
			return m, f.focus(fieldRole)
		}
		f.err = ""
		return m, nil
	case fieldRole:
		switch msg.String() {
		case "left", "h":
			f.role = (f.role + len(f.roles) - 1) % max(len(f.roles), 1)
		case "right", "l", "space":
			f.role = (f.role + 1) % max(len(f.roles), 1)
		case "enter":
			return m, f.focus(fieldReason)
		}
		return m, nil
	case fieldTicket, fieldPass:
		if msg.String() == "enter" {
			return m, m.sign()
		}
	}
	f.err = ""
	return m, f.updateFocused(msg)
}

// sign checks the form and signs the decision.
func (m *Model) sign() tea.Cmd {
	f := &m.form
	switch {
	case f.verdict < 0:
		f.err = "choose approve, reject or request changes"
		return f.focus(fieldVerdict)
	case len(f.roles) == 0:
		f.err = "the keyring in force gives you no role: you cannot decide here"
		return nil
	case strings.TrimSpace(f.reason.Value()) == "":
		f.err = "a decision needs a reason"
		return f.focus(fieldReason)
	case m.me.Standing != "":
		f.err = "the keyring would not count your signature: " + m.me.Standing
		return nil
	}
	if verdicts[f.verdict] == policy.Approve {
		if missing := m.missingSections(); len(missing) > 0 {
			f.err = "the policy asks for more review before approving: " + strings.Join(missing, "; ") + " (esc goes back to the review)"
			return nil
		}
	}
	reviewed := m.reviewed()
	d := policy.Decision{
		Subject: m.rev.data.Verdict.Subject, Verdict: verdicts[f.verdict], Role: f.roles[f.role],
		Reason: f.reason.Value(), Ticket: strings.TrimSpace(f.ticket.Value()), Gates: m.rev.data.Verdict.Gates, Reviewed: reviewed,
	}
	f.signing, f.err = true, ""
	pass := f.pass.Value()
	now := m.now()
	anchor := m.trust.Anchor
	return func() tea.Msg {
		s, closeFn, err := m.openSigner(pass)
		if err != nil {
			return signedMsg{err: err}
		}
		defer closeFn()
		var id string
		err = m.withLedger(func(l *ledger.Ledger) error {
			e, err := policy.Decide(l, s, d, anchor, now)
			if err == nil {
				id = e.ID.String()
			}
			return err
		})
		return signedMsg{id: id, err: err}
	}
}

// openSigner opens the signing key: from ssh-agent, or the key file with
// the passphrase typed (errNeedPassphrase if it is encrypted and none was).
func (m *Model) openSigner(pass string) (ledger.Signer, func(), error) {
	if m.opt.Agent {
		var prefer = m.preferredKey()
		s, err := ledger.NewAgentSigner(m.opt.AgentSocket, m.opt.Fingerprint, prefer)
		if err != nil {
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	}
	s, err := ledger.LoadKeyFile(m.opt.KeyPath, func() ([]byte, error) {
		if pass == "" {
			return nil, errNeedPassphrase
		}
		return []byte(pass), nil
	})
	if err != nil {
		return nil, nil, err
	}
	return s, func() {}, nil
}

func (m *Model) signed(msg signedMsg) (tea.Model, tea.Cmd) {
	f := &m.form
	f.signing = false
	switch {
	case errors.Is(msg.err, errNeedPassphrase):
		f.needPass = true
		f.err = "your key is encrypted: type its passphrase, then ctrl+s"
		return m, f.focus(fieldPass)
	case msg.err != nil:
		f.err = msg.err.Error()
		if f.needPass {
			f.pass.SetValue("")
			return m, f.focus(fieldPass)
		}
		return m, nil
	}
	f.entry = msg.id
	f.pass.SetValue("")
	f.reason.Blur()
	f.ticket.Blur()
	m.status = "signed and recorded: " + msg.id
	return m, nil
}

func (m *Model) decideView() string {
	f := &m.form
	d := m.rev.data
	v := d.Verdict
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	pass := 0
	for _, g := range v.Gates {
		if g.Status == policy.Pass {
			pass++
		}
	}
	polDigest, krVersion := "none in force", 0
	if p := m.trust.PolicyAt(m.now()); p != nil {
		polDigest = p.Digest
	}
	if k := m.trust.KeyringAt(m.now()); k != nil {
		krVersion = k.Version
	}
	summary := strings.Join([]string{
		"You are signing, as " + safe(m.me.Identity) + ":",
		"  subject   " + safe(v.Subject.Model+" "+v.Subject.Version) + "  " + safe(v.Subject.From+" → "+v.Subject.To),
		"  bundle    " + v.Subject.Bundle,
		"  policy    " + polDigest,
		fmt.Sprintf("  keyring   version %d", krVersion),
		fmt.Sprintf("  gates     ✓ %d  ✗ %d", pass, len(v.Gates)-pass),
	}, "\n")
	b.WriteString(m.th.Border.Width(min(m.width, 100)).Render(truncate(summary, min(m.width, 100)-2)) + "\n")
	if f.entry != "" {
		line("%s", m.th.Pass.Render("✓ signed and recorded durably in your ledger"))
		line("  entry %s", f.entry)
		line("%s", m.th.Subtle.Render("  any key: back to the queue (reloaded)"))
		return b.String()
	}
	label := func(fl field, s string) string {
		if f.field == fl {
			return m.th.Input.Render("▸ " + s)
		}
		return m.th.Subtle.Render("  " + s)
	}
	var vs []string
	for i, x := range verdicts {
		t := "[ ] " + verdictLabels[x]
		if i == f.verdict {
			t = "[x] " + verdictLabels[x]
			switch x {
			case policy.Approve:
				t = m.th.Pass.Render(t)
			default:
				t = m.th.Fail.Render(t)
			}
		}
		vs = append(vs, t)
	}
	line("%s %s", label(fieldVerdict, pad("Verdict", 9)), strings.Join(vs, "  "))
	role := "(none)"
	if len(f.roles) > 0 {
		role = f.roles[f.role]
		if len(f.roles) > 1 {
			role = "‹ " + role + " ›"
		}
	}
	line("%s %s", label(fieldRole, pad("Role", 9)), role)
	line("%s", label(fieldReason, "Reason"))
	line("%s", f.reason.View())
	line("%s %s", label(fieldTicket, pad("Ticket", 9)), f.ticket.View())
	if f.needPass {
		line("%s %s", label(fieldPass, pad("Passphrase", 9)), f.pass.View())
	}
	var opened []string
	for _, s := range sections {
		opened = append(opened, sectionTitles[s]+" "+map[bool]string{true: "✓", false: "·"}[m.rev.opened[s]])
	}
	line("%s", m.th.Subtle.Render(truncate("opened: "+strings.Join(opened, "  "), m.width)))
	if missing := m.missingSections(); len(missing) > 0 {
		line("%s", m.th.Warn.Render(truncate("approval needs more review: "+strings.Join(missing, "; "), m.width)))
	}
	switch {
	case f.signing:
		line("%s", m.th.Subtle.Render("signing…"))
	case f.err != "":
		line("%s", m.th.Fail.Render(wrap("✗ "+inert.Line(f.err), m.width-2, "  ")))
	default:
		line("%s", m.th.Subtle.Render("ctrl+s signs · tab moves · esc back to the review (what you typed stays)"))
	}
	return b.String()
}
