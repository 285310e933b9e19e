// Package table draws rows of cells in columns that fit a width, the
// widest column giving way first: the review's tables of card results,
// metrics, fairness by group and history.
package table

import (
	"strings"

	"github.com/signoff-dev/signoff/themes"
	"github.com/signoff-dev/signoff/tui/components/text"
)

// A Mark colours a data row.
type Mark int

const (
	None Mark = iota
	Pass      // a gate it shows passes
	Fail      // a gate it shows fails, or the row does not count
)

// narrowest is as far as a column gives way.
const narrowest = 6

// Render draws rows (the first is the header) indented by two columns in
// width w; marks[i] colours data row i. The cells are already safe to
// show.
func Render(st *themes.Styles, rows [][]string, w int, marks []Mark) string {
	n := len(rows[0])
	widths := make([]int, n)
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], text.Width(c))
		}
	}
	total := func() int {
		t := 2 + n - 1
		for _, x := range widths {
			t += x
		}
		return t
	}
	for total() > w {
		widest := 0
		for i := range widths {
			if widths[i] > widths[widest] {
				widest = i
			}
		}
		if widths[widest] <= narrowest {
			break
		}
		widths[widest]--
	}
	var b strings.Builder
	for ri, r := range rows {
		var cells []string
		for i, c := range r {
			cells = append(cells, text.Pad(c, widths[i]))
		}
		line := "  " + strings.Join(cells, " ")
		mark := None
		if ri > 0 && ri-1 < len(marks) {
			mark = marks[ri-1]
		}
		switch {
		case ri == 0:
			line = st.Header.Render(line)
		case mark == Fail:
			line = st.Fail.Render(line)
		case mark == Pass:
			line = st.Pass.Render(line)
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	return b.String()
}
