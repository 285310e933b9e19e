// Package decide is the decision form: the verdict (approve, reject or
// request changes), the role to sign in, the reason, a ticket, and the
// passphrase when the key has one; above them the exact subject, bundle
// digest, policy digest and gate summary the signature covers.
//
// The form signs with [policy.Decide], which refuses an approval the
// verdict would not count ([policy.ErrWouldNotCount]); the form shows
// why. Before that it shows what the review still lacks against the
// policy's require_review_of ([policy.Transition.ReviewShortfall]).
package decide

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textarea"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
	"github.com/signoff-dev/signoff/tui/common"
	"github.com/signoff-dev/signoff/tui/data"
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

// Model is the decision form.
type Model struct {
	c        *common.Common
	review   *data.Review
	reviewed []policy.Reviewed // what the reader opened, and for how long

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

	width int
}

var _ common.Page = (*Model)(nil)

// New returns the form, empty.
func New(c *common.Common) *Model {
	m := &Model{c: c, verdict: -1, reason: textarea.New(), ticket: textinput.New(), pass: textinput.New()}
	m.reason.ShowLineNumbers = false
	m.reason.Placeholder = "Why (required): what you checked and what you found"
	m.reason.CharLimit = policy.MaxReason
	m.ticket.Prompt = ""
	m.ticket.Placeholder = "e.g. RISK-112"
	m.ticket.CharLimit = policy.MaxTicket
	m.ticket.SetWidth(30)
	m.pass.Prompt = ""
	m.pass.EchoMode = textinput.EchoPassword
	m.pass.Placeholder = "passphrase of " + filepath.Base(c.KeyName())
	m.pass.SetWidth(30)
	m.restyle()
	m.SetSize(c.Width, c.Height)
	return m
}

func (m *Model) restyle() {
	m.c.StyleArea(&m.reason)
	m.c.StyleInput(&m.ticket)
	m.c.StyleInput(&m.pass)
}

// Init implements common.Page.
func (m *Model) Init() tea.Cmd { return nil }

// Title implements common.Page.
func (m *Model) Title() string { return "Decide" }

// Typing implements common.Page.
func (m *Model) Typing() bool {
	return m.field == fieldReason || m.field == fieldTicket || m.field == fieldPass
}

// Err is the form's error, as it shows it.
func (m *Model) Err() string { return m.err }

// Entry is the id of the entry signed, once signed.
func (m *Model) Entry() string { return m.entry }

// Reason is the reason typed.
func (m *Model) Reason() string { return m.reason.Value() }

// Verdict is the verdict chosen, "" until one is.
func (m *Model) Verdict() string {
	if m.verdict < 0 {
		return ""
	}
	return verdicts[m.verdict]
}

// open shows the form for a review; what was typed before stays, the
// verdict is asked again.
func (m *Model) open(rv *data.Review, reviewed []policy.Reviewed) {
	if m.review == nil || m.review.Verdict.Subject != rv.Verdict.Subject || m.entry != "" {
		// Another subject, or one signed already: nothing typed for one
		// decision is offered for the next.
		m.reason.SetValue("")
		m.ticket.SetValue("")
	}
	m.review, m.reviewed = rv, reviewed
	m.verdict, m.role, m.field, m.err, m.entry, m.signing = -1, 0, fieldVerdict, "", "", false
	m.roles = nil
	var wanted []string
	if t := rv.Transition; t != nil {
		wanted = t.RequiredRoles()
	}
	for _, r := range m.c.Me.Roles {
		if len(wanted) == 0 || slices.Contains(wanted, r) {
			m.roles = append(m.roles, r)
		}
	}
	if len(m.roles) == 0 {
		m.roles = m.c.Me.Roles
	}
	m.reason.Blur()
	m.ticket.Blur()
	m.pass.Blur()
	m.c.ClearStatus()
}

// missing says what the review lacks against the policy's
// require_review_of (policy's own rule: the verdict asks the same).
func (m *Model) missing() []string {
	if t := m.review.Transition; t != nil {
		return t.ReviewShortfall(m.reviewed)
	}
	return nil
}

func (m *Model) focus(fl field) tea.Cmd {
	m.reason.Blur()
	m.ticket.Blur()
	m.pass.Blur()
	m.field = fl
	switch fl {
	case fieldReason:
		return m.reason.Focus()
	case fieldTicket:
		return m.ticket.Focus()
	case fieldPass:
		return m.pass.Focus()
	}
	return nil
}

func (m *Model) fields() []field {
	fs := []field{fieldVerdict, fieldRole, fieldReason, fieldTicket}
	if m.needPass {
		fs = append(fs, fieldPass)
	}
	return fs
}

func (m *Model) updateFocused(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	switch m.field {
	case fieldReason:
		m.reason, cmd = m.reason.Update(msg)
	case fieldTicket:
		m.ticket, cmd = m.ticket.Update(msg)
	case fieldPass:
		m.pass, cmd = m.pass.Update(msg)
	}
	return cmd
}

type signedMsg struct {
	id  string
	err error
}

func (signedMsg) For() common.PageID { return common.DecidePage }

// Update implements common.Component.
func (m *Model) Update(msg tea.Msg) (common.Component, tea.Cmd) {
	switch msg := msg.(type) {
	case common.OpenDecideMsg:
		m.open(msg.Review, msg.Reviewed)
		return m, nil
	case signedMsg:
		return m, m.signed(msg)
	case tea.BackgroundColorMsg:
		m.restyle()
		return m, nil
	case tea.KeyPressMsg:
		return m, m.key(msg)
	}
	// Other messages (cursor blinks) go to the focused field.
	return m, m.updateFocused(msg)
}

func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	k := m.c.Keys
	if m.signing {
		return nil
	}
	if m.entry != "" { // signed: any key goes back to the queue
		if key.Matches(msg, k.Quit) && !m.Typing() {
			return tea.Quit
		}
		m.c.Go(common.ShowQueueMsg{Reload: true})
		return nil
	}
	fs := m.fields()
	at := slices.Index(fs, m.field)
	switch {
	case key.Matches(msg, k.Back):
		// Back to the review; what was typed stays.
		m.focus(fieldVerdict)
		m.c.Go(common.ResumeReviewMsg{})
		return nil
	case key.Matches(msg, k.Sign):
		return m.sign()
	case key.Matches(msg, k.NextField):
		return m.focus(fs[(at+1)%len(fs)])
	case key.Matches(msg, k.PrevField):
		return m.focus(fs[(at+len(fs)-1)%len(fs)])
	}
	switch m.field {
	case fieldVerdict:
		switch msg.String() {
		case "left", "h":
			m.verdict = (max(m.verdict, 0) + len(verdicts) - 1) % len(verdicts)
		case "right", "l", "space":
			m.verdict = (m.verdict + 1) % len(verdicts)
		case "a":
			m.verdict = 0
		case "r":
			m.verdict = 1
		case "c":
			m.verdict = 2
		case "enter":
			return m.focus(fieldRole)
		}
		m.err = ""
		return nil
	case fieldRole:
		switch msg.String() {
		case "left", "h":
			m.role = (m.role + len(m.roles) - 1) % max(len(m.roles), 1)
		case "right", "l", "space":
			m.role = (m.role + 1) % max(len(m.roles), 1)
		case "enter":
			return m.focus(fieldReason)
		}
		return nil
	case fieldTicket, fieldPass:
		if msg.String() == "enter" {
			return m.sign()
		}
	}
	m.err = ""
	return m.updateFocused(msg)
}

// sign checks the form and signs the decision.
func (m *Model) sign() tea.Cmd {
	c := m.c
	switch {
	case m.verdict < 0:
		m.err = "choose approve, reject or request changes"
		return m.focus(fieldVerdict)
	case len(m.roles) == 0:
		m.err = "the keyring in force gives you no role: you cannot decide here"
		return nil
	case strings.TrimSpace(m.reason.Value()) == "":
		m.err = "a decision needs a reason"
		return m.focus(fieldReason)
	case c.Me.Standing != "":
		m.err = "the keyring would not count your signature: " + c.Me.Standing
		return nil
	}
	if verdicts[m.verdict] == policy.Approve {
		if missing := m.missing(); len(missing) > 0 {
			m.err = "the policy asks for more review before approving: " + strings.Join(missing, "; ") + " (esc goes back to the review)"
			return nil
		}
	}
	v := m.review.Verdict
	d := policy.Decision{
		Subject: v.Subject, Verdict: verdicts[m.verdict], Role: m.roles[m.role],
		Reason: m.reason.Value(), Ticket: strings.TrimSpace(m.ticket.Value()), Gates: v.Gates, Reviewed: m.reviewed, Reports: c.Reports,
	}
	m.signing, m.err = true, ""
	pass, now, anchor := m.pass.Value(), c.Now(), c.Trust.Anchor
	return func() tea.Msg {
		s, closeFn, err := c.OpenSigner(pass)
		if err != nil {
			return signedMsg{err: err}
		}
		defer closeFn()
		var id string
		err = c.WithLedger(func(l *ledger.Ledger) error {
			e, err := policy.Decide(l, s, d, anchor, now)
			if err == nil {
				id = e.ID.String()
			}
			return err
		})
		return signedMsg{id: id, err: err}
	}
}

func (m *Model) signed(msg signedMsg) tea.Cmd {
	m.signing = false
	switch {
	case errors.Is(msg.err, common.ErrNeedPassphrase):
		m.needPass = true
		m.err = "your key is encrypted: type its passphrase, then ctrl+s"
		return m.focus(fieldPass)
	case msg.err != nil:
		m.err = msg.err.Error()
		if m.needPass {
			m.pass.SetValue("")
			return m.focus(fieldPass)
		}
		return nil
	}
	m.entry = msg.id
	m.pass.SetValue("")
	m.reason.Blur()
	m.ticket.Blur()
	m.c.SetStatus("signed and recorded: " + msg.id)
	return nil
}

// SetSize implements common.Component.
func (m *Model) SetSize(width, _ int) {
	m.width = width
	m.reason.SetWidth(max(max(width, 20)-4, 20))
	m.reason.SetHeight(4)
}

// ShortHelp implements help.KeyMap.
func (m *Model) ShortHelp() []key.Binding {
	k := m.c.Keys
	return []key.Binding{k.NextField, k.Choose, k.Sign, k.Back}
}

// FullHelp implements help.KeyMap.
func (m *Model) FullHelp() [][]key.Binding {
	k := m.c.Keys
	return [][]key.Binding{{k.NextField, k.PrevField, k.Choose}, {k.Sign, k.Back, k.Help}}
}
