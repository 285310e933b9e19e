package table

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/signoff-dev/signoff/themes"
)

func TestRender(t *testing.T) {
	st, _ := themes.New("plain", true)
	rows := [][]string{{"metric", "value", "note"}, {"auc", "0.91", "a long note that gives way first"}, {"ece", "0.02", ""}}
	for _, tc := range []struct {
		w    int
		want string
	}{
		{80, "  metric value note\n  auc    0.91  a long note that gives way first\n  ece    0.02\n"},
		{30, "  metric value note\n  auc    0.91  a long note th…\n  ece    0.02\n"},
		// Past the narrowest, columns stop giving way.
		{10, "  metric value note\n  auc    0.91  a lon…\n  ece    0.02\n"},
	} {
		var lines []string
		for _, l := range strings.Split(ansi.Strip(Render(st, rows, tc.w, nil)), "\n") {
			lines = append(lines, strings.TrimRight(l, " "))
		}
		if got := strings.Join(lines, "\n"); got != tc.want {
			t.Errorf("width %d:\n%s\nwant\n%s", tc.w, got, tc.want)
		}
	}
	// The header is bold; a failing row is in the fail style.
	st.Fail = st.Fail.Underline(true)
	out := Render(st, rows, 80, []Mark{Fail})
	lines := strings.Split(out, "\n")
	if lines[0] == ansi.Strip(lines[0]) || lines[1] == ansi.Strip(lines[1]) || lines[2] != ansi.Strip(lines[2]) {
		t.Errorf("styles: %q", out)
	}
}
