package tui

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
)

// Sort orders of the queue.
var sorts = []string{"state", "age", "model", "quorum"}

type queueState struct {
	rows       []Row
	view       []int // indexes of the rows shown, in order
	cursor     int   // in view
	offset     int   // first row of view on screen
	filter     textinput.Model
	filtering  bool
	forYouOnly bool
	sort       int
}

func (q *queueState) add(rows []Row) { q.rows = append(q.rows, rows...) }

// stateRank orders states by what needs the reader first.
var stateRank = map[string]int{StateForYou: 0, StatePartly: 1, StateWaiting: 2, StateBlocked: 3, StateGates: 4, StateApproved: 5}

// applyQueueFilter recomputes which rows show, in which order. It keeps
// the selected subject selected when it still shows.
func (m *Model) applyQueueFilter() {
	q := &m.queue
	var selected *Row
	if q.cursor < len(q.view) {
		selected = &q.rows[q.view[q.cursor]]
	}
	words := strings.Fields(strings.ToLower(q.filter.Value()))
	q.view = q.view[:0]
	for i := range q.rows {
		r := &q.rows[i]
		if q.forYouOnly && !r.ForYou {
			continue
		}
		if matches(r.search, words) {
			q.view = append(q.view, i)
		}
	}
	by := sorts[q.sort]
	slices.SortStableFunc(q.view, func(a, b int) int {
		ra, rb := &q.rows[a], &q.rows[b]
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
	q.cursor = 0
	if selected != nil {
		for i, idx := range q.view {
			if &q.rows[idx] == selected {
				q.cursor = i
				break
			}
		}
	}
	m.clampQueue()
}

// reloadQueue reads the queue again, keeping the filter and sort.
func (m *Model) reloadQueue() tea.Cmd {
	q := &m.queue
	*q = queueState{filter: q.filter, forYouOnly: q.forYouOnly, sort: q.sort}
	m.loading = true
	return m.load()
}

// move moves a list's cursor for the navigation keys, over count rows
// shown page at a time, and reports whether msg was one.
func (k keyMap) move(msg tea.KeyPressMsg, cursor *int, page, count int) bool {
	switch {
	case key.Matches(msg, k.Up):
		*cursor--
	case key.Matches(msg, k.Down):
		*cursor++
	case key.Matches(msg, k.PageUp):
		*cursor -= page
	case key.Matches(msg, k.PageDown):
		*cursor += page
	case key.Matches(msg, k.Top):
		*cursor = 0
	case key.Matches(msg, k.Bottom):
		*cursor = count - 1
	default:
		return false
	}
	return true
}

func (m *Model) queueRows() int { return max(m.bodyHeight()-3, 1) }

func (m *Model) clampQueue() {
	q := &m.queue
	q.cursor, q.offset = scroll(q.cursor, q.offset, len(q.view), m.queueRows())
}

// scroll keeps a cursor among count rows and the window of n rows on
// screen (from offset) around it.
func scroll(cursor, offset, count, n int) (int, int) {
	cursor = max(min(cursor, count-1), 0)
	if cursor < offset {
		offset = cursor
	}
	if cursor >= offset+n {
		offset = cursor - n + 1
	}
	return cursor, max(min(offset, count-n), 0)
}

// matches reports whether search holds every word.
func matches(search string, words []string) bool {
	for _, w := range words {
		if !strings.Contains(search, w) {
			return false
		}
	}
	return true
}

func (m *Model) queueKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	q, k := &m.queue, m.keys
	switch {
	case key.Matches(msg, k.Quit), key.Matches(msg, k.Back) && !q.forYouOnly && q.filter.Value() == "":
		return m, tea.Quit
	case key.Matches(msg, k.Back):
		q.filter.SetValue("")
		q.forYouOnly = false
		m.applyQueueFilter()
	case k.move(msg, &q.cursor, m.queueRows(), len(q.view)):
	case key.Matches(msg, k.Filter):
		q.filtering = true
		return m, q.filter.Focus()
	case key.Matches(msg, k.ForYou):
		q.forYouOnly = !q.forYouOnly
		m.applyQueueFilter()
	case key.Matches(msg, k.Sort):
		q.sort = (q.sort + 1) % len(sorts)
		m.applyQueueFilter()
		m.status = "sorted by " + sorts[q.sort]
	case key.Matches(msg, k.Audit):
		return m, m.openAudit()
	case key.Matches(msg, k.Reload):
		m.errText, m.status = "", ""
		return m, m.reloadQueue()
	case key.Matches(msg, k.Open):
		if q.cursor < len(q.view) {
			return m, m.openReview(q.rows[q.view[q.cursor]])
		}
	}
	m.clampQueue()
	return m, nil
}

func (m *Model) queueFilterKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	q := &m.queue
	switch msg.String() {
	case "enter", "esc":
		q.filtering = false
		q.filter.Blur()
		if msg.String() == "esc" {
			q.filter.SetValue("")
		}
		m.applyQueueFilter()
		return m, nil
	case "up", "down":
		q.filtering = false
		q.filter.Blur()
		return m.queueKey(msg)
	}
	var cmd tea.Cmd
	q.filter, cmd = q.filter.Update(msg)
	m.applyQueueFilter()
	return m, cmd
}

// queue columns: name, width (0: flexible), whether it shows when narrow.
type column struct {
	title string
	width int
	wide  bool // only on wide screens
}

var queueColumns = []column{
	{"", 1, false},
	{"MODEL", 0, false},
	{"TO", 12, false},
	{"TIER", 8, false},
	{"GATES", 6, false},
	{"QUORUM", 6, false},
	{"STATE", 17, false},
	{"MISSING", 30, true},
	{"REQUESTED BY", 24, true},
	{"AGE", 4, false},
}

// wide reports whether the screen has room for the wide columns.
func (m *Model) wide() bool { return m.width >= 140 }

func (m *Model) columns() []int {
	widths := make([]int, len(queueColumns))
	used := 0
	flex := -1
	for i, c := range queueColumns {
		w := c.width
		switch {
		case c.wide && !m.wide():
			widths[i] = -1
			continue
		case c.width == 0:
			flex = i
			continue
		case c.title == "TO" && m.wide():
			w = 22 // from → to
		}
		widths[i] = w
		used += w + 1
	}
	widths[flex] = max(m.width-used-1, 8)
	return widths
}

func (m *Model) queueView() string {
	q := &m.queue
	var b strings.Builder
	// The title line: counts and the filter.
	forYou := 0
	for i := range q.rows {
		if q.rows[i].ForYou {
			forYou++
		}
	}
	title := fmt.Sprintf("%d open requests, %d waiting for you", len(q.rows), forYou)
	if m.loading {
		title += " (loading…)"
	}
	if q.forYouOnly {
		title += " · showing: waiting for you"
	}
	title += " · sort: " + sorts[q.sort]
	b.WriteString(m.th.Subtle.Render(truncate(title, m.width)) + "\n")
	switch {
	case q.filtering || q.filter.Value() != "":
		b.WriteString(q.filter.View() + "\n")
	case q.cursor < len(q.view):
		// Who is missing, for the selected row (the wide layout has a
		// column for it).
		r := &q.rows[q.view[q.cursor]]
		what := "all sign-offs are in"
		if r.Missing != "" {
			what = "needs " + safe(r.Missing)
		}
		b.WriteString(m.th.Subtle.Render(truncate("▸ "+safe(r.Subject.Model+" "+r.Subject.Version)+": "+what+" · requested by "+safe(r.Requester), m.width)) + "\n")
	default:
		b.WriteString("\n")
	}
	widths := m.columns()
	var head []string
	for i, c := range queueColumns {
		if widths[i] >= 0 {
			title := c.title
			if title == "TO" && m.wide() {
				title = "TRANSITION"
			}
			head = append(head, pad(title, widths[i]))
		}
	}
	b.WriteString(m.th.Header.Render(truncate(strings.Join(head, " "), m.width)) + "\n")
	if len(q.view) == 0 {
		switch {
		case m.loading:
			b.WriteString(m.th.Subtle.Render("  reading the ledger…"))
		case len(q.rows) == 0:
			b.WriteString(m.th.Subtle.Render("  no open promotion requests in this ledger"))
		default:
			b.WriteString(m.th.Subtle.Render("  nothing matches; esc clears the filter"))
		}
		return b.String()
	}
	n := m.queueRows()
	for i := q.offset; i < min(q.offset+n, len(q.view)); i++ {
		r := &q.rows[q.view[i]]
		b.WriteString(m.queueLine(r, widths, i == q.cursor) + "\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func (m *Model) queueLine(r *Row, widths []int, selected bool) string {
	mark := " "
	if r.ForYou {
		mark = "●"
	}
	gates := fmt.Sprintf("✓%d", r.Pass)
	if r.Fail > 0 {
		gates += fmt.Sprintf(" ✗%d", r.Fail)
	}
	to := "→ " + r.Subject.To
	if m.wide() {
		to = r.Subject.From + " → " + r.Subject.To
	}
	cells := []string{
		mark,
		safe(r.Subject.Model + " " + r.Subject.Version),
		safe(to),
		safe(r.Tier),
		gates,
		fmt.Sprintf("%d of %d", r.Met, r.Needed),
		r.State,
		safe(r.Missing),
		safe(r.Requester),
		ago(m.now(), r.Requested),
	}
	var parts []string
	for i, c := range cells {
		if widths[i] < 0 {
			continue
		}
		parts = append(parts, pad(c, widths[i]))
	}
	line := truncate(strings.Join(parts, " "), m.width)
	if selected {
		return m.th.Selected.Render(pad(line, m.width))
	}
	switch r.State {
	case StateGates, StateBlocked:
		return m.th.Fail.Render(line)
	case StateApproved:
		return m.th.Pass.Render(line)
	case StateForYou:
		return m.th.Accent.Render(line)
	}
	return m.th.Text.Render(line)
}
