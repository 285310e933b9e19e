// Package tabs is a row of numbered tabs, one open, with a mark on those
// already opened (" ✓", or one the page sets): the review's sections.
package tabs

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/signoff-dev/signoff/tui/common"
	"github.com/signoff-dev/signoff/tui/components/text"
)

// Tabs is a row of tabs.
type Tabs struct {
	c      *common.Common
	labels []string
	active int
	seen   []bool
	marks  []string // set by the page; "" for the default mark
	// Lit shows which tab is open; off while there is nothing to show.
	Lit   bool
	width int
}

var _ common.Component = (*Tabs)(nil)

// New returns tabs with the labels given, numbered from 1, the first
// open.
func New(c *common.Common, labels []string) *Tabs {
	return &Tabs{c: c, labels: labels, seen: make([]bool, len(labels)), marks: make([]string, len(labels)), width: c.Width}
}

// Active is the open tab.
func (t *Tabs) Active() int { return t.active }

// Open makes tab i open (counting round from either end) and marks it
// seen.
func (t *Tabs) Open(i int) {
	n := len(t.labels)
	t.active = (i%n + n) % n
	t.seen[t.active] = true
}

// Seen reports whether tab i was opened since [Tabs.Reset].
func (t *Tabs) Seen(i int) bool { return t.seen[i] }

// Reset opens the first tab, marking none seen, and unlit.
func (t *Tabs) Reset() {
	t.active, t.Lit = 0, false
	clear(t.seen)
	clear(t.marks)
}

// SetMark sets what tab i shows after its label once seen, the open tab
// included (" ✓" when mark is "").
func (t *Tabs) SetMark(i int, mark string) { t.marks[i] = mark }

// mark is what tab i shows once seen.
func (t *Tabs) mark(i int) string {
	if t.marks[i] != "" {
		return t.marks[i]
	}
	return " ✓"
}

// Update moves between tabs: the next, the previous, or one by number.
func (t *Tabs) Update(msg tea.Msg) (common.Component, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return t, nil
	}
	switch keys := t.c.Keys; {
	case key.Matches(k, keys.NextSection):
		t.Open(t.active + 1)
	case key.Matches(k, keys.PrevSection):
		t.Open(t.active - 1)
	case key.Matches(k, keys.Section):
		if i := int(k.String()[0] - '1'); i < len(t.labels) {
			t.Open(i)
		}
	}
	return t, nil
}

// View draws the tabs on one line.
func (t *Tabs) View() string {
	st := t.c.Styles
	var tabs []string
	for i, l := range t.labels {
		label := fmt.Sprintf("%d %s", i+1, l)
		switch {
		case i == t.active && t.Lit && t.marks[i] != "":
			tabs = append(tabs, st.TabOn.Render(label+t.marks[i]))
		case i == t.active && t.Lit:
			tabs = append(tabs, st.TabOn.Render(label))
		case t.seen[i]:
			tabs = append(tabs, st.TabSeen.Render(label+t.mark(i)))
		default:
			tabs = append(tabs, st.Tab.Render(label))
		}
	}
	return text.Truncate(strings.Join(tabs, "  "), t.width)
}

// SetSize implements common.Component.
func (t *Tabs) SetSize(width, height int) { t.width = width }

// ShortHelp implements help.KeyMap.
func (t *Tabs) ShortHelp() []key.Binding { return []key.Binding{t.c.Keys.NextSection} }

// FullHelp implements help.KeyMap.
func (t *Tabs) FullHelp() [][]key.Binding {
	k := t.c.Keys
	return [][]key.Binding{{k.NextSection, k.PrevSection, k.Section}}
}
