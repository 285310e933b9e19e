// Package footer is the console's bottom lines: the status line (a
// message, or an error) and the help of the page in front, short or all
// of it.
package footer

import (
	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/signoff-dev/signoff/tui/common"
	"github.com/signoff-dev/signoff/tui/components/text"
)

// Footer is the status line and the help.
type Footer struct {
	c     *common.Common
	help  help.Model
	keys  help.KeyMap
	width int
}

var _ common.Component = (*Footer)(nil)

// New returns the footer, showing the short help of keys.
func New(c *common.Common, keys help.KeyMap) *Footer {
	f := &Footer{c: c, help: help.New(), keys: keys}
	f.SetSize(c.Width, c.Height)
	f.Restyle()
	return f
}

// Restyle takes the current styles.
func (f *Footer) Restyle() {
	st := f.c.Styles
	f.help.Styles = help.Styles{
		Ellipsis: st.HelpSep,
		ShortKey: st.HelpKey, ShortDesc: st.HelpDesc, ShortSeparator: st.HelpSep,
		FullKey: st.HelpKey, FullDesc: st.HelpDesc, FullSeparator: st.HelpSep,
	}
}

// SetKeys shows the help of keys.
func (f *Footer) SetKeys(keys help.KeyMap) { f.keys = keys }

// ShowAll reports whether all the help shows, not only the short line.
func (f *Footer) ShowAll() bool { return f.help.ShowAll }

// SetShowAll shows all the help, or the short line.
func (f *Footer) SetShowAll(all bool) { f.help.ShowAll = all }

// Height is the lines the footer takes.
func (f *Footer) Height() int { return 1 + lipgloss.Height(f.help.View(f.keys)) }

// Update implements common.Component.
func (f *Footer) Update(tea.Msg) (common.Component, tea.Cmd) { return f, nil }

// View draws the status line, then the help.
func (f *Footer) View() string {
	st := f.c.Styles
	status, err := f.c.Status()
	line := ""
	switch {
	case err != "":
		line = st.Fail.Render("✗ " + text.Safe(err))
	case status != "":
		line = st.Subtle.Render(text.Safe(status))
	}
	return text.Truncate(line, f.width) + "\n" + f.help.View(f.keys)
}

// SetSize implements common.Component.
func (f *Footer) SetSize(width, height int) {
	f.width = width
	f.help.SetWidth(max(width, 20))
}

// ShortHelp implements help.KeyMap.
func (f *Footer) ShortHelp() []key.Binding { return f.keys.ShortHelp() }

// FullHelp implements help.KeyMap.
func (f *Footer) FullHelp() [][]key.Binding { return f.keys.FullHelp() }
