// Package audit is the ledger's timeline, newest first, searchable, and
// a full verification of the ledger with its progress.
package audit

import (
	"context"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/progress"
	tea "charm.land/bubbletea/v2"

	"github.com/signoff-dev/signoff/inert"
	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
	"github.com/signoff-dev/signoff/tui/common"
	"github.com/signoff-dev/signoff/tui/components/filter"
	"github.com/signoff-dev/signoff/tui/components/list"
	"github.com/signoff-dev/signoff/tui/components/text"
)

// maxRows bounds the entries the timeline holds: the newest ones.
const maxRows = 5000

type row struct {
	entry    *ledger.Entry
	subject  string // model and version, for records about a subject
	what     string
	verified bool
	search   string
}

// Model is the audit page.
type Model struct {
	c       *common.Common
	rows    []row
	view    []int
	cur     list.Cursor
	loading bool
	more    bool // the ledger holds more than maxRows entries
	filter  *filter.Filter
	// A verification under way, or its outcome.
	verifying bool
	done      int
	total     int
	bar       progress.Model
	result    string
	resultOK  bool

	width, height int
}

var _ common.Page = (*Model)(nil)

// New returns the audit page, empty.
func New(c *common.Common) *Model {
	return &Model{c: c, filter: filter.New(c, "model, signer or kind"), width: c.Width, height: c.Height}
}

// Init implements common.Page.
func (m *Model) Init() tea.Cmd { return nil }

// Title implements common.Page.
func (m *Model) Title() string { return "Audit" }

// Typing implements common.Page.
func (m *Model) Typing() bool { return m.filter.Active() }

type loadedMsg struct {
	rows []row
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

func (loadedMsg) For() common.PageID { return common.AuditPage }
func (verifyMsg) For() common.PageID { return common.AuditPage }

// load reads the timeline.
func (m *Model) load() tea.Cmd {
	m.loading, m.rows, m.view, m.cur = true, nil, nil, list.Cursor{}
	m.c.ClearStatus()
	c := m.c
	return func() tea.Msg {
		var rows []row
		more := false
		err := c.WithLedger(func(l *ledger.Ledger) error {
			return l.Entries(ledger.Query{}, func(e *ledger.Entry) error {
				if len(rows) == maxRows {
					more = true
					return ledger.ErrStop
				}
				rows = append(rows, rowOf(e))
				return nil
			})
		})
		return loadedMsg{rows: rows, more: more, err: err}
	}
}

// rowOf says what an entry is in a line.
func rowOf(e *ledger.Entry) row {
	r := row{entry: e, verified: e.Verify() == nil}
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
	return r
}

// Update implements common.Component.
func (m *Model) Update(msg tea.Msg) (common.Component, tea.Cmd) {
	switch msg := msg.(type) {
	case common.OpenAuditMsg:
		return m, m.load()
	case loadedMsg:
		m.loading = false
		if msg.err != nil {
			m.c.SetError(msg.err.Error())
		}
		m.rows, m.more = msg.rows, msg.more
		m.apply()
		return m, nil
	case verifyMsg:
		return m, m.verified(msg)
	case tea.BackgroundColorMsg:
		m.filter.Restyle()
		return m, nil
	case tea.KeyPressMsg:
		if m.filter.Active() {
			_, cmd := m.filter.Update(msg)
			m.apply()
			return m, cmd
		}
		return m, m.key(msg)
	}
	// Other messages (cursor blinks) go to the search field.
	_, cmd := m.filter.Update(msg)
	return m, cmd
}

func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	k := m.c.Keys
	switch {
	case key.Matches(msg, k.Back):
		if m.filter.Value() != "" {
			m.filter.Clear()
			m.apply()
			return nil
		}
		m.c.Go(common.ShowQueueMsg{})
		return nil
	case key.Matches(msg, k.Quit):
		return tea.Quit
	case m.cur.Move(k, msg, m.pageRows(), len(m.view)):
	case key.Matches(msg, k.Filter):
		return m.filter.Focus()
	case key.Matches(msg, k.Verify):
		if !m.verifying {
			return m.verify()
		}
	}
	m.clamp()
	return nil
}

func (m *Model) apply() {
	words := m.filter.Words()
	m.view = m.view[:0]
	for i := range m.rows {
		if filter.Matches(m.rows[i].search, words) {
			m.view = append(m.view, i)
		}
	}
	m.cur.Pos = 0
	m.clamp()
}

// pageRows is the rows on screen, under the title, the line below it and
// the column heads.
func (m *Model) pageRows() int { return max(m.height-4, 1) }

func (m *Model) clamp() { m.cur.Clamp(len(m.view), m.pageRows()) }

// verify runs a full verification of the ledger, with progress.
func (m *Model) verify() tea.Cmd {
	m.verifying, m.done, m.total, m.result = true, 0, 0, ""
	m.bar = progress.New(progress.WithWidth(min(m.width-20, 60)), progress.WithoutPercentage())
	ch := make(chan verifyMsg, 16)
	c := m.c
	go func() {
		var report *ledger.Report
		err := c.WithLedger(func(l *ledger.Ledger) error {
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

func (m *Model) verified(msg verifyMsg) tea.Cmd {
	if !msg.finished {
		m.done, m.total = msg.done, msg.total
		return waitVerify(msg.ch)
	}
	m.verifying = false
	switch {
	case msg.err != nil:
		m.result, m.resultOK = "verification failed: "+msg.err.Error(), false
	case msg.report == nil:
	case msg.report.OK():
		m.result, m.resultOK = fmt.Sprintf("ledger intact: %d entries checked, every signature, link and seq", msg.report.Checked), true
	default:
		var probs []string
		for _, p := range msg.report.Problems {
			probs = append(probs, p.Error())
		}
		for _, q := range msg.report.Equivocations {
			probs = append(probs, q.Error())
		}
		m.result, m.resultOK = fmt.Sprintf("NOT INTACT: %d bad entries, %d equivocations: %s", msg.report.BadEntries, len(msg.report.Equivocations), strings.Join(probs, "; ")), false
	}
	return nil
}

// View implements common.Component.
func (m *Model) View() string {
	st := m.c.Styles
	var b strings.Builder
	title := fmt.Sprintf("%d entries, newest first", len(m.rows))
	if m.more {
		title = fmt.Sprintf("the newest %d entries", len(m.rows))
	}
	if m.loading {
		title = "reading the ledger…"
	}
	b.WriteString(st.Subtle.Render(text.Truncate(title+" · v verifies the whole ledger", m.width)) + "\n")
	switch {
	case m.verifying:
		frac := 0.0
		if m.total > 0 {
			frac = float64(m.done) / float64(m.total)
		}
		b.WriteString(text.Truncate(fmt.Sprintf("verifying %d of %d  %s", m.done, m.total, m.bar.ViewAs(frac)), m.width) + "\n")
	case m.result != "":
		rs := st.Fail
		if m.resultOK {
			rs = st.Pass
		}
		b.WriteString(rs.Render(text.Truncate(text.Safe(m.result), m.width)) + "\n")
	case m.filter.Shown():
		b.WriteString(m.filter.View() + "\n")
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
		hs = append(hs, text.Pad(h, widths[i]))
	}
	b.WriteString(st.Header.Render(text.Truncate(strings.Join(hs, " "), m.width)) + "\n")
	from, to := m.cur.Window(len(m.view), m.pageRows())
	for i := from; i < to; i++ {
		r := &m.rows[m.view[i]]
		sig := map[bool]string{true: "✓", false: "✗"}[r.verified]
		cells := []string{r.entry.Time.UTC().Format(timeFormat), text.Safe(r.entry.Identity), r.entry.Kind, text.Safe(r.subject), sig, text.Safe(r.what)}
		var cs []string
		for j, cell := range cells {
			cs = append(cs, text.Pad(cell, widths[j]))
		}
		line := text.Truncate(strings.Join(cs, " "), m.width)
		switch {
		case i == m.cur.Pos:
			line = st.Selected.Render(text.Pad(line, m.width))
		case !r.verified:
			line = st.Fail.Render(line)
		default:
			line = st.Text.Render(line)
		}
		b.WriteString(line + "\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// SetSize implements common.Component.
func (m *Model) SetSize(width, height int) {
	m.width, m.height = width, height
	m.clamp()
}

// ShortHelp implements help.KeyMap.
func (m *Model) ShortHelp() []key.Binding {
	k := m.c.Keys
	return []key.Binding{k.Filter, k.Verify, k.Back, k.Help}
}

// FullHelp implements help.KeyMap.
func (m *Model) FullHelp() [][]key.Binding {
	k := m.c.Keys
	return [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}, {k.Filter, k.Verify, k.Back, k.Quit, k.Help}}
}
