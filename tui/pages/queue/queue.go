// Package queue is the console's first page: the open promotion
// requests, those waiting for the signer's roles first, each with its
// gates and sign-offs so far; searched, narrowed to those waiting for
// the signer, and sorted.
//
// The queue also reads what the console needs before anything else: the
// governance in force and the signer's place in its keyring. It reads
// them when the console starts, without delaying the first frame, and
// again on reload.
package queue

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/signoff-dev/signoff/policy"
	"github.com/signoff-dev/signoff/tui/common"
	"github.com/signoff-dev/signoff/tui/components/filter"
	"github.com/signoff-dev/signoff/tui/components/list"
	"github.com/signoff-dev/signoff/tui/data"
)

// Sorts are the orders of the queue, in the order s goes through them.
var Sorts = []string{"state", "age", "model", "quorum"}

// stateRank orders states by what needs the reader first.
var stateRank = map[string]int{data.StateForYou: 0, data.StatePartly: 1, data.StateWaiting: 2, data.StateBlocked: 3, data.StateGates: 4, data.StateApproved: 5}

// Model is the queue page.
type Model struct {
	c          *common.Common
	rows       []data.Row
	view       []int // indexes of the rows shown, in order
	cur        list.Cursor
	filter     *filter.Filter
	forYouOnly bool
	sort       int // in Sorts
	loading    bool

	width, height int
}

var _ common.Page = (*Model)(nil)

// New returns the queue, loading.
func New(c *common.Common) *Model {
	return &Model{c: c, filter: filter.New(c, "model, version, tier, state, requester"), loading: true, width: c.Width, height: c.Height}
}

// Init reads the governance, the signer and the queue.
func (m *Model) Init() tea.Cmd { return m.load() }

// Title implements common.Page.
func (m *Model) Title() string { return "Queue" }

// Typing implements common.Page.
func (m *Model) Typing() bool { return m.filter.Active() }

// Loading reports whether the queue is still being read.
func (m *Model) Loading() bool { return m.loading }

// Rows returns every row read, in the order read.
func (m *Model) Rows() []data.Row { return m.rows }

// SetRows replaces the rows read, as a reload would, keeping the search,
// the narrowing and the order.
func (m *Model) SetRows(rows []data.Row) {
	m.rows = rows
	m.apply()
}

// Shown returns the rows shown, in order.
func (m *Model) Shown() []data.Row {
	out := make([]data.Row, len(m.view))
	for i, idx := range m.view {
		out[i] = m.rows[idx]
	}
	return out
}

// Selected returns the row under the cursor.
func (m *Model) Selected() (data.Row, bool) {
	if m.cur.Pos < len(m.view) {
		return m.rows[m.view[m.cur.Pos]], true
	}
	return data.Row{}, false
}

// messages

type loadedMsg struct {
	trust *policy.Trust
	me    data.Me
	rows  chan rowsMsg
	err   error
}

type rowsMsg struct {
	rows   []data.Row
	done   bool
	err    error
	rowsCh chan rowsMsg // where the next batch comes from
}

func (loadedMsg) For() common.PageID { return common.QueuePage }
func (rowsMsg) For() common.PageID   { return common.QueuePage }

// load reads the governance and the signer's standing, then streams the
// queue in batches on a channel, the ledger open until the last.
func (m *Model) load() tea.Cmd {
	c := m.c
	now := c.Now()
	return func() tea.Msg {
		select {
		case <-c.Drawn():
		case <-time.After(200 * time.Millisecond):
		}
		feed, claimed, err := c.MyFeed()
		if err != nil {
			return loadedMsg{err: fmt.Errorf("your key: %w", err)}
		}
		l, release, err := c.OpenLedger()
		if err != nil {
			return loadedMsg{err: err}
		}
		trust, err := policy.LoadTrust(l, c.Opt.Anchor, now)
		if err != nil {
			release()
			return loadedMsg{err: err}
		}
		me := data.WhoAmI(trust, feed, claimed, now)
		ch := make(chan rowsMsg, 4)
		ctx := c.Context()
		go func() {
			err := data.LoadQueue(ctx, l, trust, c.Reports, me, now, func(rows []data.Row) {
				select {
				case ch <- rowsMsg{rows: rows}:
				case <-ctx.Done(): // the console has closed
				}
			})
			release()
			if ctx.Err() != nil {
				return
			}
			ch <- rowsMsg{done: true, err: err}
			close(ch)
		}()
		return loadedMsg{trust: trust, me: me, rows: ch}
	}
}

func waitRows(ch chan rowsMsg) tea.Cmd {
	return func() tea.Msg {
		msg, ok := <-ch
		if !ok {
			return rowsMsg{done: true}
		}
		msg.rowsCh = ch
		return msg
	}
}

// reload reads the queue again, keeping the search, narrowing and sort.
func (m *Model) reload() tea.Cmd {
	m.rows, m.view, m.cur = nil, nil, list.Cursor{}
	m.loading = true
	return m.load()
}

// Update implements common.Component.
func (m *Model) Update(msg tea.Msg) (common.Component, tea.Cmd) {
	switch msg := msg.(type) {
	case common.ShowQueueMsg:
		if msg.Reload {
			return m, m.reload()
		}
		return m, nil
	case loadedMsg:
		if msg.err != nil {
			m.loading = false
			m.c.SetError(msg.err.Error())
			return m, nil
		}
		m.c.Trust, m.c.Me = msg.trust, msg.me
		if msg.me.Standing != "" {
			m.c.SetStatus("you cannot sign here: " + msg.me.Standing)
		}
		return m, waitRows(msg.rows)
	case rowsMsg:
		if msg.err != nil {
			m.c.SetError(msg.err.Error())
		}
		m.rows = append(m.rows, msg.rows...)
		m.apply()
		if msg.done {
			m.loading = false
			return m, nil
		}
		return m, waitRows(msg.rowsCh)
	case tea.BackgroundColorMsg:
		m.filter.Restyle()
		return m, nil
	case tea.KeyPressMsg:
		if m.filter.Active() {
			return m, m.filterKey(msg)
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
	case key.Matches(msg, k.Quit), key.Matches(msg, k.Back) && !m.forYouOnly && m.filter.Value() == "":
		return tea.Quit
	case key.Matches(msg, k.Back):
		m.filter.Clear()
		m.forYouOnly = false
		m.apply()
	case m.cur.Move(k, msg, m.pageRows(), len(m.view)):
	case key.Matches(msg, k.Filter):
		return m.filter.Focus()
	case key.Matches(msg, k.ForYou):
		m.forYouOnly = !m.forYouOnly
		m.apply()
	case key.Matches(msg, k.Sort):
		m.sort = (m.sort + 1) % len(Sorts)
		m.apply()
		m.c.SetStatus("sorted by " + Sorts[m.sort])
	case key.Matches(msg, k.Audit):
		m.c.Go(common.OpenAuditMsg{})
		return nil
	case key.Matches(msg, k.Reload):
		m.c.ClearStatus()
		return m.reload()
	case key.Matches(msg, k.Open):
		if r, ok := m.Selected(); ok {
			m.c.Go(common.OpenReviewMsg{Row: r})
			return nil
		}
	}
	m.clamp()
	return nil
}

// filterKey is a key while the search field has them: up and down leave
// it for the list.
func (m *Model) filterKey(msg tea.KeyPressMsg) tea.Cmd {
	if s := msg.String(); s == "up" || s == "down" {
		m.filter.Blur()
		return m.key(msg)
	}
	_, cmd := m.filter.Update(msg)
	m.apply()
	return cmd
}

// apply recomputes which rows show, in which order. It keeps the
// selected subject selected when it still shows.
func (m *Model) apply() {
	selected := -1
	if m.cur.Pos < len(m.view) {
		selected = m.view[m.cur.Pos]
	}
	words := m.filter.Words()
	m.view = m.view[:0]
	for i := range m.rows {
		r := &m.rows[i]
		if m.forYouOnly && !r.ForYou {
			continue
		}
		if filter.Matches(r.Search, words) {
			m.view = append(m.view, i)
		}
	}
	by := Sorts[m.sort]
	slices.SortStableFunc(m.view, func(a, b int) int {
		ra, rb := &m.rows[a], &m.rows[b]
		switch by {
		case "age":
			return ra.Requested.Compare(rb.Requested)
		case "model":
			return cmp.Or(strings.Compare(ra.Subject.Model, rb.Subject.Model), strings.Compare(ra.Subject.Version, rb.Subject.Version))
		case "quorum":
			return cmp.Compare(ra.Needed-ra.Met, rb.Needed-rb.Met)
		}
		return cmp.Or(cmp.Compare(stateRank[ra.State], stateRank[rb.State]), ra.Requested.Compare(rb.Requested))
	})
	m.cur.Pos = 0
	if selected >= 0 {
		if i := slices.Index(m.view, selected); i >= 0 {
			m.cur.Pos = i
		}
	}
	m.clamp()
}

// pageRows is the rows on screen, under the title, the line below it and
// the column heads.
func (m *Model) pageRows() int { return max(m.height-3, 1) }

func (m *Model) clamp() { m.cur.Clamp(len(m.view), m.pageRows()) }

// SetSize implements common.Component.
func (m *Model) SetSize(width, height int) {
	m.width, m.height = width, height
	m.clamp()
}

// ShortHelp implements help.KeyMap.
func (m *Model) ShortHelp() []key.Binding {
	k := m.c.Keys
	return []key.Binding{k.Open, k.Filter, k.ForYou, k.Audit, k.Quit, k.Help}
}

// FullHelp implements help.KeyMap.
func (m *Model) FullHelp() [][]key.Binding {
	k := m.c.Keys
	return [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}, {k.Open, k.Filter, k.ForYou, k.Sort}, {k.Audit, k.Reload, k.Quit, k.Help}}
}
