package queue

import (
	"fmt"
	"strings"

	"github.com/signoff-dev/signoff/tui/components/text"
	"github.com/signoff-dev/signoff/tui/data"
)

// A column of the queue: its title, its width (0: it takes what is
// left), and whether it shows only on wide screens.
type column struct {
	title string
	width int
	wide  bool
}

var columns = []column{
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

// widths returns each column's width; -1 for a column not shown.
func (m *Model) widths() []int {
	widths := make([]int, len(columns))
	used := 0
	flex := -1
	for i, c := range columns {
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

// View implements common.Component.
func (m *Model) View() string {
	st := m.c.Styles
	var b strings.Builder
	// The title line: counts and the filter.
	forYou := 0
	for i := range m.rows {
		if m.rows[i].ForYou {
			forYou++
		}
	}
	title := fmt.Sprintf("%d open requests, %d waiting for you", len(m.rows), forYou)
	if m.loading {
		title += " (loading…)"
	}
	if m.forYouOnly {
		title += " · showing: waiting for you"
	}
	title += " · sort: " + Sorts[m.sort]
	b.WriteString(st.Subtle.Render(text.Truncate(title, m.width)) + "\n")
	switch r, ok := m.Selected(); {
	case m.filter.Shown():
		b.WriteString(m.filter.View() + "\n")
	case ok:
		// Who is missing, for the selected row (the wide layout has a
		// column for it).
		what := "all sign-offs are in"
		if r.Missing != "" {
			what = "needs " + text.Safe(r.Missing)
		}
		b.WriteString(st.Subtle.Render(text.Truncate("▸ "+text.Safe(r.Subject.Model+" "+r.Subject.Version)+": "+what+" · requested by "+text.Safe(r.Requester), m.width)) + "\n")
	default:
		b.WriteString("\n")
	}
	widths := m.widths()
	var head []string
	for i, c := range columns {
		if widths[i] >= 0 {
			title := c.title
			if title == "TO" && m.wide() {
				title = "TRANSITION"
			}
			head = append(head, text.Pad(title, widths[i]))
		}
	}
	b.WriteString(st.Header.Render(text.Truncate(strings.Join(head, " "), m.width)) + "\n")
	if len(m.view) == 0 {
		switch {
		case m.loading:
			b.WriteString(st.Subtle.Render("  reading the ledger…"))
		case len(m.rows) == 0:
			b.WriteString(st.Subtle.Render("  no open promotion requests in this ledger"))
		default:
			b.WriteString(st.Subtle.Render("  nothing matches; esc clears the filter"))
		}
		return b.String()
	}
	from, to := m.cur.Window(len(m.view), m.pageRows())
	for i := from; i < to; i++ {
		b.WriteString(m.line(&m.rows[m.view[i]], widths, i == m.cur.Pos) + "\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// line draws one row.
func (m *Model) line(r *data.Row, widths []int, selected bool) string {
	st := m.c.Styles
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
		text.Safe(r.Subject.Model + " " + r.Subject.Version),
		text.Safe(to),
		text.Safe(r.Tier),
		gates,
		fmt.Sprintf("%d of %d", r.Met, r.Needed),
		r.State,
		text.Safe(r.Missing),
		text.Safe(r.Requester),
		text.Ago(m.c.Now(), r.Requested),
	}
	var parts []string
	for i, c := range cells {
		if widths[i] < 0 {
			continue
		}
		parts = append(parts, text.Pad(c, widths[i]))
	}
	line := text.Truncate(strings.Join(parts, " "), m.width)
	if selected {
		return st.Selected.Render(text.Pad(line, m.width))
	}
	switch r.State {
	case data.StateGates, data.StateBlocked:
		return st.Fail.Render(line)
	case data.StateApproved:
		return st.Pass.Render(line)
	case data.StateForYou:
		return st.Accent.Render(line)
	}
	return st.Text.Render(line)
}
