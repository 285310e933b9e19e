package list

import (
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/signoff-dev/signoff/tui/keymap"
)

func TestCursor(t *testing.T) {
	k := keymap.DefaultKeyMap()
	key := func(s string) tea.KeyPressMsg {
		switch s {
		case "down":
			return tea.KeyPressMsg{Code: tea.KeyDown}
		case "up":
			return tea.KeyPressMsg{Code: tea.KeyUp}
		case "pgdown":
			return tea.KeyPressMsg{Code: tea.KeyPgDown}
		}
		return tea.KeyPressMsg{Code: []rune(s)[0], Text: s}
	}
	const count, rows = 10, 4
	var c Cursor
	for _, tc := range []struct {
		key         string
		pos, offset int
	}{
		{"down", 1, 0}, {"j", 2, 0}, {"down", 3, 0}, {"down", 4, 1}, {"pgdown", 8, 5}, {"pgdown", 9, 6},
		{"g", 0, 0}, {"up", 0, 0}, {"G", 9, 6}, {"k", 8, 6},
	} {
		if !c.Move(k, key(tc.key), rows, count) {
			t.Fatalf("%s is not a move", tc.key)
		}
		c.Clamp(count, rows)
		if c.Pos != tc.pos || c.Offset != tc.offset {
			t.Errorf("%s: at %d from %d, want %d from %d", tc.key, c.Pos, c.Offset, tc.pos, tc.offset)
		}
	}
	if c.Move(k, key("x"), rows, count) {
		t.Error("x moves")
	}
	if from, to := c.Window(count, rows); from != 6 || to != 10 {
		t.Errorf("window %d-%d", from, to)
	}
	// Fewer rows than the screen holds: no offset.
	c = Cursor{Pos: 5, Offset: 3}
	c.Clamp(3, rows)
	if c.Pos != 2 || c.Offset != 0 {
		t.Errorf("clamped to 3 rows: at %d from %d", c.Pos, c.Offset)
	}
	c.Clamp(0, rows)
	if c.Pos != 0 || c.Offset != 0 {
		t.Errorf("clamped to none: at %d from %d", c.Pos, c.Offset)
	}
}
