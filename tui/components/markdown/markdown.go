// Package markdown renders markdown from outside (a model card's body)
// for the terminal with glamour: made inert first, and with the links'
// escape sequences removed, so that nothing in it is clickable.
//
// A [Renderer] keeps one glamour renderer per style and width; like the
// rest of the console it is used from the UI goroutine only.
package markdown

import (
	"strings"

	"charm.land/glamour/v2"

	"github.com/signoff-dev/signoff/inert"
)

// Renderer renders markdown, keeping a glamour renderer per style and
// width.
type Renderer struct {
	cache map[key]*glamour.TermRenderer
}

type key struct {
	style string
	width int
}

// Render renders untrusted md, made inert first, in the glamour style
// named, wrapped to fit w columns. If glamour fails, it returns md made
// inert.
func (r *Renderer) Render(md, style string, w int) string {
	md = inert.Text(md)
	k := key{style, w}
	tr, ok := r.cache[k]
	if !ok {
		var err error
		tr, err = glamour.NewTermRenderer(glamour.WithStandardStyle(style), glamour.WithWordWrap(w-2))
		if err != nil {
			return md
		}
		if r.cache == nil {
			r.cache = map[key]*glamour.TermRenderer{}
		}
		r.cache[k] = tr
	}
	out, err := tr.Render(md)
	if err != nil {
		return md
	}
	// Glamour writes OSC 8 links for link text; the links came from
	// outside, so show their text and address but make nothing clickable.
	out = stripOSC(out)
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		lines = append(lines, strings.TrimRight(l, " "))
	}
	return strings.Trim(strings.Join(lines, "\n"), "\n")
}

// stripOSC removes OSC strings (hyperlinks) that glamour wrote, keeping
// its colours.
func stripOSC(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "\x1b]")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		rest := s[i+2:]
		end, n := len(rest), 0
		if j := strings.IndexByte(rest, '\a'); j >= 0 {
			end, n = j, 1
		}
		if j := strings.Index(rest, "\x1b\\"); j >= 0 && j < end {
			end, n = j, 2
		}
		s = rest[min(end+n, len(rest)):]
	}
}
