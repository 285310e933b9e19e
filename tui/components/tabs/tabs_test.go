package tabs

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/signoff-dev/signoff/themes"
	"github.com/signoff-dev/signoff/tui/common"
)

func TestTabs(t *testing.T) {
	st, _ := themes.New("plain", true)
	c := common.New(common.Options{}, st)
	tb := New(c, []string{"One", "Two", "Three"})
	tb.SetSize(80, 1)
	for _, tc := range []struct {
		key  tea.KeyPressMsg
		want int
	}{
		{tea.KeyPressMsg{Code: tea.KeyTab}, 1},
		{tea.KeyPressMsg{Code: tea.KeyRight}, 2},
		{tea.KeyPressMsg{Code: tea.KeyTab}, 0},
		{tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}, 2},
		{tea.KeyPressMsg{Code: 'h', Text: "h"}, 1},
		{tea.KeyPressMsg{Code: '3', Text: "3"}, 2},
		{tea.KeyPressMsg{Code: '6', Text: "6"}, 2}, // no sixth tab
		{tea.KeyPressMsg{Code: '1', Text: "1"}, 0},
	} {
		tb.Update(tc.key)
		if tb.Active() != tc.want {
			t.Errorf("%s: tab %d, want %d", tc.key, tb.Active(), tc.want)
		}
	}
	tb.Lit = true
	if got := ansi.Strip(tb.View()); got != "1 One  2 Two ✓  3 Three ✓" {
		t.Errorf("view %q", got)
	}
	tb.Reset()
	if got := ansi.Strip(tb.View()); got != "1 One  2 Two  3 Three" || tb.Seen(1) {
		t.Errorf("after reset %q", got)
	}
	tb.SetSize(10, 1)
	if got := ansi.Strip(tb.View()); !strings.HasSuffix(got, "…") || len([]rune(got)) != 10 {
		t.Errorf("narrow %q", got)
	}
}
