// Package review is the review of one subject, in sections: the
// overview (what is asked, the gates, who has signed and who is
// missing), the model card, the metrics beside the baseline's, fairness
// by group, the evidence checklist, and the signed history.
//
// The page notes which sections the reader opened and for how long: the
// decision form records it, and the policy may ask for it before an
// approval counts.
package review

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/signoff-dev/signoff/inert"
	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
	"github.com/signoff-dev/signoff/tui/common"
	"github.com/signoff-dev/signoff/tui/components/markdown"
	"github.com/signoff-dev/signoff/tui/components/tabs"
	"github.com/signoff-dev/signoff/tui/components/text"
	"github.com/signoff-dev/signoff/tui/data"
)

// Model is the review page.
type Model struct {
	c *common.Common

	row     data.Row
	data    *data.Review
	loading bool
	opening int // counts openings, so that a review read for one left is dropped

	tabs    *tabs.Tabs
	section int // the section open, in data.Sections
	vp      viewport.Model
	// What the reader opened, and for how long: what a decision records.
	opened map[string]bool
	spent  map[string]time.Duration
	since  time.Time // when the open section was opened; zero when away
	// ticking says a reading tick is on its way: while a section is open
	// the tabs show, each second, the time a required section has had.
	ticking bool
	// cardCache is the card rendered at cardWidth.
	md        markdown.Renderer
	cardCache []byte
	cardWidth int

	width int
}

var _ common.Page = (*Model)(nil)

// New returns the review page, with nothing open.
func New(c *common.Common) *Model {
	titles := make([]string, len(data.Sections))
	for i, s := range data.Sections {
		titles[i] = data.SectionTitle(s)
	}
	m := &Model{c: c, tabs: tabs.New(c, titles), vp: viewport.New(viewport.WithWidth(80), viewport.WithHeight(18))}
	m.SetSize(c.Width, c.Height)
	return m
}

// Init implements common.Page.
func (m *Model) Init() tea.Cmd { return nil }

// Title implements common.Page.
func (m *Model) Title() string { return "Review" }

// Typing implements common.Page.
func (m *Model) Typing() bool { return false }

// Review returns what the page shows, nil until it is read.
func (m *Model) Review() *data.Review { return m.data }

type reviewMsg struct {
	opening int
	data    *data.Review
	err     error
}

func (reviewMsg) For() common.PageID { return common.ReviewPage }

// open starts reading a subject's review.
func (m *Model) open(r data.Row) tea.Cmd {
	m.opening++
	m.row, m.data, m.loading = r, nil, true
	m.section, m.since = 0, time.Time{}
	m.opened, m.spent = map[string]bool{}, map[string]time.Duration{}
	m.cardCache = nil
	m.tabs.Reset()
	m.vp.SetContent("")
	m.c.ClearStatus()
	m.c.SetStatus("re-evaluating the gates from the evidence the ledger carries…")
	c, opening, now, trust, reports := m.c, m.opening, m.c.Now(), m.c.Trust, m.c.Reports
	return func() tea.Msg {
		var rv *data.Review
		err := c.WithLedger(func(l *ledger.Ledger) error {
			var err error
			rv, err = data.LoadReview(l, trust, reports, r.Subject, now)
			return err
		})
		return reviewMsg{opening: opening, data: rv, err: err}
	}
}

// Update implements common.Component.
func (m *Model) Update(msg tea.Msg) (common.Component, tea.Cmd) {
	switch msg := msg.(type) {
	case common.OpenReviewMsg:
		return m, m.open(msg.Row)
	case common.ResumeReviewMsg:
		m.openSection(m.section)
		return m, m.tick()
	case reviewMsg:
		if msg.opening != m.opening {
			return m, nil // the reader has moved on
		}
		m.loading = false
		m.c.SetStatus("")
		if msg.err != nil {
			m.c.SetError(msg.err.Error())
			return m, nil
		}
		m.data = msg.data
		m.tabs.Lit = true
		m.openSection(0)
		return m, m.tick()
	case readingMsg:
		m.ticking = false
		if msg.opening != m.opening || m.since.IsZero() {
			return m, nil // the reader left: the clock is stopped
		}
		m.markSections()
		return m, m.tick()
	case tea.BackgroundColorMsg:
		m.cardCache = nil
		m.refresh()
	case tea.KeyPressMsg:
		return m, m.key(msg)
	}
	return m, nil
}

func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	k := m.c.Keys
	switch {
	case key.Matches(msg, k.Back):
		m.leave()
		m.opening++ // a review still being read is not wanted
		m.c.ClearStatus()
		m.c.Go(common.ShowQueueMsg{})
	case key.Matches(msg, k.Quit):
		return tea.Quit
	case m.data == nil:
	case key.Matches(msg, k.NextSection, k.PrevSection, k.Section):
		m.tabs.Update(msg)
		m.openSection(m.tabs.Active())
		return m.tick()
	case key.Matches(msg, k.Decide):
		m.leave()
		m.c.Go(common.OpenDecideMsg{Review: m.data, Reviewed: m.reviewed()})
	case key.Matches(msg, k.Top):
		m.vp.GotoTop()
	case key.Matches(msg, k.Bottom):
		m.vp.GotoBottom()
	default:
		var cmd tea.Cmd
		m.vp, cmd = m.vp.Update(msg)
		return cmd
	}
	return nil
}

// openSection makes section i current, counting the time spent in the
// one before.
func (m *Model) openSection(i int) {
	now := m.c.Now()
	if !m.since.IsZero() {
		m.spent[data.Sections[m.section]] += now.Sub(m.since)
	}
	m.tabs.Open(i)
	m.section = m.tabs.Active()
	m.since = now
	m.opened[data.Sections[m.section]] = true
	m.markSections()
	m.refresh()
	m.vp.GotoTop()
}

// leave stops the clock on the open section.
func (m *Model) leave() {
	if !m.since.IsZero() {
		m.spent[data.Sections[m.section]] += m.c.Now().Sub(m.since)
		m.since = time.Time{}
	}
	m.markSections()
}

// readingMsg is a reading tick: a second has passed with a section open.
type readingMsg struct{ opening int }

func (readingMsg) For() common.PageID { return common.ReviewPage }

// tick asks for the next reading tick, unless one is on its way.
func (m *Model) tick() tea.Cmd {
	if m.ticking || m.since.IsZero() || m.c.Opt.Tick < 0 {
		return nil
	}
	m.ticking = true
	opening := m.opening
	return tea.Tick(m.c.Opt.Tick, func(time.Time) tea.Msg { return readingMsg{opening} })
}

// markSections shows on each tab opened where its review stands, by the
// policy's own minimum ([policy.Transition.ReviewMinimum]): " ✓" once a
// section has been open long enough (or is not required), else the
// seconds it has had so far, the open one counting on.
func (m *Model) markSections() {
	var t *policy.Transition
	if m.data != nil {
		t = m.data.Transition
	}
	now := m.c.Now()
	for i, s := range data.Sections {
		spent := m.spent[s]
		if i == m.section && !m.since.IsZero() {
			spent += now.Sub(m.since)
		}
		var least time.Duration
		required := false
		if t != nil {
			least, required = t.ReviewMinimum(s)
		}
		mark := ""
		switch {
		case !m.opened[s]:
		case required && spent < least:
			mark = fmt.Sprintf(" %ds", int64(spent/time.Second))
		default:
			mark = " ✓"
		}
		m.tabs.SetMark(i, mark)
	}
}

// reviewed is what the reader has opened so far, and for how long in
// whole seconds: what a decision records.
func (m *Model) reviewed() []policy.Reviewed {
	var out []policy.Reviewed
	for _, s := range data.Sections {
		if m.opened[s] {
			out = append(out, policy.Reviewed{Section: s, Seconds: int64(m.spent[s] / time.Second)})
		}
	}
	return out
}

// refresh draws the open section into the viewport.
func (m *Model) refresh() {
	if m.data == nil {
		return
	}
	w := max(m.width-2, 20)
	var s string
	switch data.Sections[m.section] {
	case "overview":
		s = m.overview(w)
	case "card":
		s = m.card(w)
	case "metrics":
		s = m.metrics(w)
	case "fairness":
		s = m.fairness(w)
	case "evidence":
		s = m.evidence()
	case "history":
		s = m.history(w)
	}
	m.vp.SetContent(text.Truncate(s, m.width))
}

// View implements common.Component.
func (m *Model) View() string {
	st := m.c.Styles
	s := m.row.Subject
	var b strings.Builder
	b.WriteString(st.Accent.Render(text.Truncate(text.Safe(s.Model+" "+s.Version)+"  "+text.Safe(s.From+" → "+s.To)+"  "+st.Subtle.Render(inert.Digest(s.Bundle)), m.width)) + "\n")
	b.WriteString(m.tabs.View() + "\n")
	switch {
	case m.loading:
		b.WriteString(st.Subtle.Render("  computing metrics, intervals and fairness from the bundle's evidence…"))
	case m.data == nil:
		b.WriteString(st.Fail.Render("  the review could not be loaded"))
	default:
		b.WriteString(m.vp.View())
	}
	return b.String()
}

// SetSize implements common.Component.
func (m *Model) SetSize(width, height int) {
	m.width = width // the card is rendered again for a new width only
	m.vp.SetWidth(max(width, 20))
	m.vp.SetHeight(max(height-2, 3))
	m.tabs.SetSize(width, 1)
	m.refresh()
}

// ShortHelp implements help.KeyMap.
func (m *Model) ShortHelp() []key.Binding {
	k := m.c.Keys
	return append(m.tabs.ShortHelp(), k.Decide, k.Back, k.Help)
}

// FullHelp implements help.KeyMap.
func (m *Model) FullHelp() [][]key.Binding {
	k := m.c.Keys
	return append(m.tabs.FullHelp(), []key.Binding{k.Up, k.Down, k.PageUp, k.PageDown}, []key.Binding{k.Decide, k.Back, k.Quit, k.Help})
}
