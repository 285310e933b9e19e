// Package filter is a list's search field: "/" focuses it, what is typed
// narrows the list to the rows holding every word, enter keeps the
// search and esc clears it.
package filter

import (
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/signoff-dev/signoff/tui/common"
)

// width is the field's width on screen.
const width = 40

// Filter is a search field.
type Filter struct {
	c      *common.Common
	input  textinput.Model
	active bool
}

var _ common.Component = (*Filter)(nil)

// New returns an empty search field that suggests what to type.
func New(c *common.Common, placeholder string) *Filter {
	f := &Filter{c: c, input: textinput.New()}
	f.input.Prompt = "/ "
	f.input.Placeholder = placeholder
	f.input.SetWidth(width)
	f.Restyle()
	return f
}

// Restyle takes the current styles.
func (f *Filter) Restyle() { f.c.StyleInput(&f.input) }

// Focus gives the field the keys.
func (f *Filter) Focus() tea.Cmd {
	f.active = true
	return f.input.Focus()
}

// Active reports whether the field has the keys.
func (f *Filter) Active() bool { return f.active }

// Blur takes the keys from the field, keeping what was typed.
func (f *Filter) Blur() {
	f.active = false
	f.input.Blur()
}

// Value is what was typed.
func (f *Filter) Value() string { return f.input.Value() }

// Clear empties the field.
func (f *Filter) Clear() { f.input.SetValue("") }

// Shown reports whether the field is on screen: it has the keys or
// holds a search.
func (f *Filter) Shown() bool { return f.active || f.input.Value() != "" }

// Words returns the words typed, lowercased, for [Matches].
func (f *Filter) Words() []string { return strings.Fields(strings.ToLower(f.input.Value())) }

// Matches reports whether search (lowercased) holds every word.
func Matches(search string, words []string) bool {
	for _, w := range words {
		if !strings.Contains(search, w) {
			return false
		}
	}
	return true
}

// Update handles a message while the field has the keys: enter keeps the
// search, esc clears it, and both give the keys back.
func (f *Filter) Update(msg tea.Msg) (common.Component, tea.Cmd) {
	if !f.active {
		return f, nil
	}
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "enter":
			f.Blur()
			return f, nil
		case "esc":
			f.Blur()
			f.Clear()
			return f, nil
		}
	}
	var cmd tea.Cmd
	f.input, cmd = f.input.Update(msg)
	return f, cmd
}

// View implements common.Component.
func (f *Filter) View() string { return f.input.View() }

// SetSize implements common.Component: the field keeps its width.
func (f *Filter) SetSize(width, height int) {}

// ShortHelp implements help.KeyMap: the list's help stands while typing.
func (f *Filter) ShortHelp() []key.Binding { return nil }

// FullHelp implements help.KeyMap.
func (f *Filter) FullHelp() [][]key.Binding { return nil }
