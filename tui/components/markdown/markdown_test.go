package markdown

import (
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	var r Renderer
	md := "# Card \x1b]0;owned\x07\n\nSee [the docs](https://example.com/docs) \x1b[2J\u202eevil.\n"
	for _, style := range []string{"dark", "notty"} {
		out := r.Render(md, style, 60)
		for _, bad := range []string{"\x1b]", "\x1b[2J", "\u202e", "\x07"} {
			if strings.Contains(out, bad) {
				t.Errorf("%s: the card holds %q: %q", style, bad, out)
			}
		}
		if !strings.Contains(out, "the docs") || !strings.Contains(out, "evil") {
			t.Errorf("%s: the text is gone: %q", style, out)
		}
		if again := r.Render(md, style, 60); again != out {
			t.Errorf("%s: a cached renderer renders differently", style)
		}
	}
	if len(r.cache) != 2 {
		t.Errorf("%d renderers cached, want one per style and width", len(r.cache))
	}
}

func TestStripOSC(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a\x1b]8;;https://x\x1b\\link\x1b]8;;\x1b\\b", "alinkb"},
		{"\x1b[1ma\x1b]0;t\x07b\x1b[m", "\x1b[1mab\x1b[m"},
		{"a\x1b]unterminated", "a"},
	} {
		if got := stripOSC(tc.in); got != tc.want {
			t.Errorf("stripOSC(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
