package tui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/signoff-dev/signoff/tui/common"
	"github.com/signoff-dev/signoff/tui/components/text"
)

// TestGolden renders every screen at 80×24 and 160×48 in two themes,
// as a terminal with the Ascii colour profile shows them, and compares
// with testdata (go test ./tui -run TestGolden -update rewrites them).
func TestGolden(t *testing.T) {
	screens := []struct {
		name string
		keys []string
	}{
		{"queue", nil},
		{"help", []string{"?"}},
		{"overview", []string{"enter"}},
		{"card", []string{"enter", "2"}},
		{"metrics", []string{"enter", "3"}},
		{"fairness", []string{"enter", "4"}},
		{"evidence", []string{"enter", "5"}},
		{"history", []string{"enter", "6"}},
		{"decide", []string{"enter", "d", "a"}},
		{"gates-failing", []string{"down", "enter"}},
		{"audit", []string{"a"}},
	}
	for _, theme := range []string{"default", "plain"} {
		for _, size := range [][2]int{{80, 24}, {160, 48}} {
			m, _ := newTest(t, size[0], size[1], theme)
			for _, sc := range screens {
				t.Run(fmt.Sprintf("%s/%dx%d/%s", theme, size[0], size[1], sc.name), func(t *testing.T) {
					// Each screen starts from the queue.
					for m.front != common.QueuePage || m.footer.ShowAll() {
						if m.footer.ShowAll() {
							press(t, m, "?")
						} else {
							press(t, m, "esc")
						}
					}
					press(t, m, "home")
					press(t, m, sc.keys...)
					out := ascii(t, m)
					if h := strings.Count(out, "\n") + 1; h != size[1] {
						t.Errorf("the view is %d lines, want %d", h, size[1])
					}
					for i, line := range strings.Split(plain(t, m), "\n") {
						if w := text.Width(line); w > size[0] {
							t.Errorf("line %d is %d columns, wider than %d: %q", i+1, w, size[0], line)
						}
					}
					golden.RequireEqual(t, []byte(out))
				})
			}
		}
	}
}
