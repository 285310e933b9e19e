// Package text fits text to the screen: made inert and folded to one line
// when it came from outside ([Safe]), cut or padded to a width, folded to
// one, or made exactly so many lines high. Widths are display columns;
// styled text (SGR sequences) keeps its styling.
package text

import (
	"fmt"
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/signoff-dev/signoff/inert"
)

// Safe makes outside text (names, reasons, cards' fields, group values)
// safe to show, and one line: every page shows such text through it.
func Safe(s string) string { return inert.Line(inert.Text(s)) }

// Width is the columns s takes on screen.
func Width(s string) int { return lipgloss.Width(s) }

// Truncate cuts each line of s to width display columns, marking a cut
// with "…".
func Truncate(s string, width int) string {
	if width <= 0 {
		return ""
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, width, "…")
	}
	return strings.Join(lines, "\n")
}

// Pad pads or cuts s to exactly width display columns.
func Pad(s string, width int) string {
	s = ansi.Truncate(s, width, "…")
	if w := lipgloss.Width(s); w < width {
		s += strings.Repeat(" ", width-w)
	}
	return s
}

// FitHeight makes s exactly h lines, cutting or adding empty ones.
func FitHeight(s string, h int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}

// Wrap folds s to width w (at least 10) at spaces, indenting the lines
// after the first.
func Wrap(s string, w int, indent string) string {
	if w < 10 {
		w = 10
	}
	var lines []string
	cur := ""
	for _, word := range strings.Fields(s) {
		if cur != "" && Width(cur)+1+Width(word) > w {
			lines = append(lines, cur)
			cur = word
			continue
		}
		if cur != "" {
			cur += " "
		}
		cur += word
	}
	lines = append(lines, cur)
	return strings.Join(lines, "\n"+indent)
}

// Ago says how long before now t was, in minutes, hours or days; "-" for
// no time.
func Ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case t.IsZero():
		return "-"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
