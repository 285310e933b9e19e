package tui

import (
	"context"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/progress"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"golang.org/x/crypto/ssh"

	"github.com/signoff-dev/signoff/inert"
	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
)

// maxAudit bounds the entries the timeline holds: the newest ones.
const maxAudit = 5000

type auditRow struct {
	entry    *ledger.Entry
	subject  string // model and version, for records about a subject
	what     string
	verified bool
	search   string
}

type auditState struct {
	rows      []auditRow
	view      []int
	cursor    int
	offset    int
	loading   bool
	more      bool // the ledger holds more than maxAudit entries
	filter    textinput.Model
	filtering bool
	// A verification under way, or its outcome.
	verifying bool
	done      int
	total     int
	bar       progress.Model
	result    string
	resultOK  bool
}

type auditMsg struct {
	rows []auditRow
	more bool
	err  error
}

type verifyMsg struct {
	done, total int
	report      *ledger.Report
	err         error
	finished    bool
	ch          chan verifyMsg
}

func (m *Model) openAudit() tea.Cmd {
	m.screen = screenAudit
	a := &m.audit
	a.loading, a.rows, a.view, a.cursor, a.offset = true, nil, nil, 0, 0
	m.status, m.errText = "", ""
	return func() tea.Msg {
		var rows []auditRow
		more := false
		err := m.withLedger(func(l *ledger.Ledger) error {
			return l.Entries(ledger.Query{}, func(e *ledger.Entry) error {
				if len(rows) == maxAudit {
					more = true
					return ledger.ErrStop
				}
				r := auditRow{entry: e, verified: e.Verify() == nil}
				if rec, err := policy.ReadRecord(e); err == nil {
					if s := rec.Body.Subject; s != nil {
						r.subject = s.Model + " " + s.Version
					}
					switch {
					case rec.Body.Verdict != "":
						r.what = rec.Body.Verdict + " as " + rec.Body.Role + ": " + rec.Body.Reason
					case rec.Body.Digest != "":
						r.what = fmt.Sprintf("adopts version %d %s", rec.Body.Version, inert.Digest(rec.Body.Digest))
					case rec.Body.Subject != nil && rec.Body.Subject.To != "":
						r.what = rec.Body.Subject.From + " → " + rec.Body.Subject.To + " " + rec.Body.Reason
					default:
						r.what = rec.Body.Reason
					}
				}
				r.search = strings.ToLower(strings.Join([]string{e.Identity, e.Kind, r.subject, r.what}, " "))
				rows = append(rows, r)
				return nil
			})
		})
		return auditMsg{rows: rows, more: more, err: err}
	}
}

func (m *Model) auditLoaded(msg auditMsg) (tea.Model, tea.Cmd) {
	a := &m.audit
	a.loading = false
	if msg.err != nil {
		m.errText = msg.err.Error()
	}
	a.rows, a.more = msg.rows, msg.more
	m.applyAuditFilter()
	return m, nil
}

func (m *Model) applyAuditFilter() {
	a := &m.audit
	words := strings.Fields(strings.ToLower(a.filter.Value()))
	a.view = a.view[:0]
	for i := range a.rows {
		if matches(a.rows[i].search, words) {
			a.view = append(a.view, i)
		}
	}
	a.cursor = 0
	m.clampAudit()
}

func (m *Model) auditRows() int { return max(m.bodyHeight()-4, 1) }

func (m *Model) clampAudit() {
	a := &m.audit
	a.cursor, a.offset = scroll(a.cursor, a.offset, len(a.view), m.auditRows())
}

func (m *Model) auditKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	a, k := &m.audit, m.keys
	switch {
	case key.Matches(msg, k.Back):
		if a.filter.Value() != "" {
			a.filter.SetValue("")
			m.applyAuditFilter()
			return m, nil
		}
		m.screen = screenQueue
		return m, nil
	case key.Matches(msg, k.Quit):
		return m, tea.Quit
	case k.move(msg, &a.cursor, m.auditRows(), len(a.view)):
	case key.Matches(msg, k.Filter):
		a.filtering = true
		return m, a.filter.Focus()
	case key.Matches(msg, k.Verify):
		if !a.verifying {
			return m, m.startVerify()
		}
	}
	m.clampAudit()
	return m, nil
}

func (m *Model) auditFilterKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	a := &m.audit
	switch msg.String() {
	case "enter", "esc":
		a.filtering = false
		a.filter.Blur()
		if msg.String() == "esc" {
			a.filter.SetValue("")
		}
		m.applyAuditFilter()
		return m, nil
	}
	var cmd tea.Cmd
	a.filter, cmd = a.filter.Update(msg)
	m.applyAuditFilter()
	return m, cmd
}

// startVerify runs a full verification of the ledger, with progress.
func (m *Model) startVerify() tea.Cmd {
	a := &m.audit
	a.verifying, a.done, a.total, a.result = true, 0, 0, ""
	a.bar = progress.New(progress.WithWidth(min(m.width-20, 60)), progress.WithoutPercentage())
	ch := make(chan verifyMsg, 16)
	go func() {
		var report *ledger.Report
		err := m.withLedger(func(l *ledger.Ledger) error {
			var err error
			report, err = l.Verify(context.Background(), ledger.VerifyOptions{Full: true, Progress: func(done, total int) {
				select {
				case ch <- verifyMsg{done: done, total: total}:
				default: // the screen is behind: skip this one
				}
			}})
			return err
		})
		ch <- verifyMsg{finished: true, report: report, err: err}
		close(ch)
	}()
	return waitVerify(ch)
}

func waitVerify(ch chan verifyMsg) tea.Cmd {
	return func() tea.Msg {
		msg, ok := <-ch
		if !ok {
			return verifyMsg{finished: true}
		}
		msg.ch = ch
		return msg
	}
}

func (m *Model) verifyUpdate(msg verifyMsg) (tea.Model, tea.Cmd) {
	a := &m.audit
	if !msg.finished {
		a.done, a.total = msg.done, msg.total
		return m, waitVerify(msg.ch)
	}
	a.verifying = false
	switch {
	case msg.err != nil:
		a.result, a.resultOK = "verification failed: "+msg.err.Error(), false
	case msg.report == nil:
	case msg.report.OK():
		a.result, a.resultOK = fmt.Sprintf("ledger intact: %d entries checked, every signature, link and seq", msg.report.Checked), true
	default:
		var probs []string
		for _, p := range msg.report.Problems {
			probs = append(probs, p.Error())
		}
		for _, q := range msg.report.Equivocations {
			probs = append(probs, q.Error())
		}
		a.result, a.resultOK = fmt.Sprintf("NOT INTACT: %d bad entries, %d equivocations: %s", msg.report.BadEntries, len(msg.report.Equivocations), strings.Join(probs, "; ")), false
	}
	return m, nil
}

func (m *Model) auditView() string {
	a := &m.audit
	var b strings.Builder
	title := fmt.Sprintf("%d entries, newest first", len(a.rows))
	if a.more {
		title = fmt.Sprintf("the newest %d entries", len(a.rows))
	}
	if a.loading {
		title = "reading the ledger…"
	}
	b.WriteString(m.th.Subtle.Render(truncate(title+" · v verifies the whole ledger", m.width)) + "\n")
	switch {
	case a.verifying:
		frac := 0.0
		if a.total > 0 {
			frac = float64(a.done) / float64(a.total)
		}
		b.WriteString(truncate(fmt.Sprintf("verifying %d of %d  %s", a.done, a.total, a.bar.ViewAs(frac)), m.width) + "\n")
	case a.result != "":
		st := m.th.Fail
		if a.resultOK {
			st = m.th.Pass
		}
		b.WriteString(st.Render(truncate(a.result, m.width)) + "\n")
	case a.filtering || a.filter.Value() != "":
		b.WriteString(a.filter.View() + "\n")
	default:
		b.WriteString("\n")
	}
	widths, timeFormat := []int{16, 26, 15, 18, 3, 0}, "2006-01-02 15:04"
	if m.width < 120 {
		widths, timeFormat = []int{11, 20, 9, 14, 3, 0}, "01-02 15:04"
	}
	fixed := 0
	for _, w := range widths {
		fixed += w + 1
	}
	widths[5] = max(m.width-fixed-1, 10)
	head := []string{"TIME (UTC)", "SIGNER (CLAIMED)", "KIND", "SUBJECT", "SIG", "WHAT"}
	var hs []string
	for i, h := range head {
		hs = append(hs, pad(h, widths[i]))
	}
	b.WriteString(m.th.Header.Render(truncate(strings.Join(hs, " "), m.width)) + "\n")
	n := m.auditRows()
	for i := a.offset; i < min(a.offset+n, len(a.view)); i++ {
		r := &a.rows[a.view[i]]
		sig := map[bool]string{true: "✓", false: "✗"}[r.verified]
		cells := []string{r.entry.Time.UTC().Format(timeFormat), safe(r.entry.Identity), r.entry.Kind, safe(r.subject), sig, safe(r.what)}
		var cs []string
		for j, c := range cells {
			cs = append(cs, pad(c, widths[j]))
		}
		line := truncate(strings.Join(cs, " "), m.width)
		switch {
		case i == a.cursor:
			line = m.th.Selected.Render(pad(line, m.width))
		case !r.verified:
			line = m.th.Fail.Render(line)
		default:
			line = m.th.Text.Render(line)
		}
		b.WriteString(line + "\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// preferredKey is the home's public key, for choosing among agent keys.
func (m *Model) preferredKey() ssh.PublicKey {
	if m.opt.KeyPath == "" {
		return nil
	}
	pub, _, err := ledger.ReadPublicKeyFile(m.opt.KeyPath + ".pub")
	if err != nil {
		return nil
	}
	return pub
}
