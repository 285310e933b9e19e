// Package header is the console's top line: the page in front, and who
// is signing.
package header

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/signoff-dev/signoff/tui/common"
	"github.com/signoff-dev/signoff/tui/components/text"
)

// Header is the top line.
type Header struct {
	c     *common.Common
	title string
	width int
}

var _ common.Component = (*Header)(nil)

// New returns the header.
func New(c *common.Common) *Header { return &Header{c: c, width: c.Width} }

// SetTitle names the page in front.
func (h *Header) SetTitle(title string) { h.title = title }

// Update implements common.Component.
func (h *Header) Update(tea.Msg) (common.Component, tea.Cmd) { return h, nil }

// View draws the page's name on the left and the signer, with their
// roles, on the right.
func (h *Header) View() string {
	st := h.c.Styles
	who := "loading…"
	if h.c.Trust != nil {
		who = text.Safe(h.c.Me.Identity)
		if len(h.c.Me.Roles) > 0 {
			who += " (" + strings.Join(h.c.Me.Roles, ", ") + ")"
		}
	}
	left := st.Title.Render("signoff") + " " + st.Subtle.Render("·") + " " + st.Text.Render(h.title)
	right := st.Subtle.Render(who)
	gap := max(h.width-text.Width(left)-text.Width(right), 1)
	return text.Truncate(left+strings.Repeat(" ", gap)+right, h.width)
}

// SetSize implements common.Component.
func (h *Header) SetSize(width, height int) { h.width = width }

// ShortHelp implements help.KeyMap: the header takes no keys.
func (h *Header) ShortHelp() []key.Binding { return nil }

// FullHelp implements help.KeyMap.
func (h *Header) FullHelp() [][]key.Binding { return nil }
