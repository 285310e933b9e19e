package evidence

import (
	"testing"
	"unicode/utf8"
)

func TestInert(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text\twith tab\nand newline", "plain text\twith tab\nand newline"},
		{"clear\x1b[2Jscreen", "clearscreen"},
		{"\x1b[38;5;196mred\x1b[0m", "red"},
		{"copy\x1b]52;c;ZXZpbA==\x07me", "copyme"},
		{"copy\x1b]52;c;ZXZpbA==\x1b\\me", "copyme"},
		{"\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", "click"},
		{"8-bit \u009b2J csi", "8-bit  csi"},
		{"8-bit \u009d0;title\u009c osc", "8-bit  osc"},
		{"dcs \x1bPq#0;2;0;0;0\x1b\\ end", "dcs  end"},
		{"reset\x1bc here", "reset here"},
		{"cr\roverwrite", "croverwrite"},
		{"bell\x07 del\x7f nul\x00", "bell del nul"},
		{"bidi \u202eevil\u202c \u2067iso\u2069", "bidi evil iso"},
		{"bad \xff utf8", "bad \ufffd utf8"},
		{"unterminated \x1b]52;c;abc", "unterminated "},
		{"trailing esc \x1b", "trailing esc "},
		{"ümlaut, 漢字, emoji 🙂", "ümlaut, 漢字, emoji 🙂"},
	} {
		if got := Inert(tc.in); got != tc.want {
			t.Errorf("Inert(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzInert(f *testing.F) {
	for _, s := range []string{"a\x1b[2Jb", "\x1b]52;c;x\x07", "\u009b1m", "\u202e", "\x1bP\x1b\\", "\xff\x1b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Inert(s)
		if !utf8.ValidString(out) {
			t.Fatalf("Inert(%q) = %q: not UTF-8", s, out)
		}
		for _, r := range out {
			if unsafeText(r) && r != '\t' && r != '\n' {
				t.Fatalf("Inert(%q) = %q keeps %U", s, out, r)
			}
		}
		if again := Inert(out); again != out {
			t.Fatalf("Inert is not idempotent on %q: %q then %q", s, out, again)
		}
		if len(out) > len(s)*3 {
			t.Fatalf("Inert(%q) grew to %d bytes", s, len(out))
		}
	})
}
