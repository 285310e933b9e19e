// Package list is the cursor of a long list shown a window at a time
// (the queue, the audit timeline): the keys that move it, and the window
// that follows it.
package list

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/signoff-dev/signoff/tui/keymap"
)

// A Cursor is a position among Count rows, shown Rows at a time from
// Offset.
type Cursor struct {
	Pos    int // the selected row
	Offset int // the first row on screen
}

// Move moves the cursor for the navigation keys (up, down, page up and
// down, top, bottom), a page being page rows, over count rows, and
// reports whether msg was one of them. Call [Cursor.Clamp] after.
func (c *Cursor) Move(k *keymap.KeyMap, msg tea.KeyPressMsg, page, count int) bool {
	switch {
	case key.Matches(msg, k.Up):
		c.Pos--
	case key.Matches(msg, k.Down):
		c.Pos++
	case key.Matches(msg, k.PageUp):
		c.Pos -= page
	case key.Matches(msg, k.PageDown):
		c.Pos += page
	case key.Matches(msg, k.Top):
		c.Pos = 0
	case key.Matches(msg, k.Bottom):
		c.Pos = count - 1
	default:
		return false
	}
	return true
}

// Clamp keeps the cursor among count rows, and the window of n rows on
// screen around it.
func (c *Cursor) Clamp(count, n int) {
	c.Pos = max(min(c.Pos, count-1), 0)
	if c.Pos < c.Offset {
		c.Offset = c.Pos
	}
	if c.Pos >= c.Offset+n {
		c.Offset = c.Pos - n + 1
	}
	c.Offset = max(min(c.Offset, count-n), 0)
}

// Window returns the rows on screen, [from, to), of count rows shown n
// at a time.
func (c *Cursor) Window(count, n int) (from, to int) {
	return c.Offset, min(c.Offset+n, count)
}
