package inert

import (
	"testing"
	"unicode/utf8"
)

func TestText(t *testing.T) {
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
		if got := Text(tc.in); got != tc.want {
			t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzText(f *testing.F) {
	for _, s := range []string{"a\x1b[2Jb", "\x1b]52;c;x\x07", "\u009b1m", "\u202e", "\x1bP\x1b\\", "\xff\x1b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Text(s)
		if !utf8.ValidString(out) {
			t.Fatalf("Text(%q) = %q: not UTF-8", s, out)
		}
		for _, r := range out {
			if Unsafe(r) && r != '\t' && r != '\n' {
				t.Fatalf("Text(%q) = %q keeps %U", s, out, r)
			}
		}
		if again := Text(out); again != out {
			t.Fatalf("Inert is not idempotent on %q: %q then %q", s, out, again)
		}
		if len(out) > len(s)*3 {
			t.Fatalf("Text(%q) grew to %d bytes", s, len(out))
		}
		esc := Escape(s)
		for _, r := range esc {
			if Unsafe(r) && r != '\t' && r != '\n' {
				t.Fatalf("Escape(%q) = %q keeps %U", s, esc, r)
			}
		}
		if cut := Cut(s, 7); utf8.ValidString(s) && !utf8.ValidString(cut) {
			t.Fatalf("Cut(%q, 7) = %q splits a rune", s, cut)
		}
	})
}

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain\ttab\nline", "plain\ttab\nline"},
		{"clear\x1b[2J", `clear\x1b[2J`},
		{"cr\rbell\x07del\x7f", `cr\x0dbell\x07del\x7f`},
		{"8-bit \u009b2J", `8-bit \u009b2J`},
		{"bidi \u202eevil \u2067iso\u2069", `bidi \u202eevil \u2067iso\u2069`},
		{"arabic letter mark \u061c here", `arabic letter mark \u061c here`},
		{"bad \xff utf8", "bad \ufffd utf8"},
		{"ümlaut 漢字 🙂", "ümlaut 漢字 🙂"},
	} {
		if got := Escape(tc.in); got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestJSON(t *testing.T) {
	in := []byte("{\"r\":\"a\u009bb\u202ec\u061cd ü\"}")
	want := `{"r":"a\u009bb\u202ec\u061cd ü"}`
	if got := string(JSON(in)); got != want {
		t.Errorf("JSON(%q) = %q, want %q", in, got, want)
	}
}

func TestCut(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"a longer text", 5, "a lo…"},
		{"漢字漢字漢字", 4, "漢字漢…"},
		{"🙂🙂🙂", 2, "🙂…"},
		{"x", 0, ""},
	} {
		if got := Cut(tc.in, tc.n); got != tc.want {
			t.Errorf("Cut(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
		if !utf8.ValidString(Cut(tc.in, tc.n)) {
			t.Errorf("Cut(%q, %d) splits a rune", tc.in, tc.n)
		}
	}
}

func TestLineAndDigest(t *testing.T) {
	if got := Line("  two\n\tlines  here "); got != "two lines here" {
		t.Errorf("Line = %q", got)
	}
	d := "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	if got := Digest(d); got != "sha256:0123456789ab…" {
		t.Errorf("Digest = %q", got)
	}
	if got := Digest("sha256:01"); got != "sha256:01" {
		t.Errorf("Digest of a short string = %q", got)
	}
}
