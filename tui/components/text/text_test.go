package text

import (
	"testing"
	"time"
)

func TestFit(t *testing.T) {
	for _, tc := range []struct {
		name, got, want string
	}{
		{"pad short", Pad("ab", 4), "ab  "},
		{"pad exact", Pad("abcd", 4), "abcd"},
		{"pad long", Pad("abcdef", 4), "abc…"},
		{"pad wide runes", Pad("✓✓", 3), "✓✓ "},
		{"pad styled", Pad("\x1b[1mab\x1b[m", 3), "\x1b[1mab\x1b[m "},
		{"truncate lines", Truncate("abcdef\nab", 4), "abc…\nab"},
		{"truncate zero", Truncate("abc", 0), ""},
		{"fit cuts", FitHeight("a\nb\nc", 2), "a\nb"},
		{"fit adds", FitHeight("a", 3), "a\n\n"},
		{"wrap", Wrap("one two three four", 10, "  "), "one two\n  three four"},
		{"wrap at least 10", Wrap("one two three", 3, ""), "one two\nthree"},
		{"wrap long word", Wrap("abcdefghijklmno x", 10, ""), "abcdefghijklmno\nx"},
		{"safe", Safe("a\x1b[2J\n b\u202e\x07c"), "a bc"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

func TestAgo(t *testing.T) {
	now := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Time{}, "-"},
		{now.Add(-59 * time.Minute), "59m"},
		{now.Add(-2 * time.Hour), "2h"},
		{now.Add(-47 * time.Hour), "47h"},
		{now.Add(-72 * time.Hour), "3d"},
	} {
		if got := Ago(now, tc.t); got != tc.want {
			t.Errorf("Ago(%v): %q, want %q", now.Sub(tc.t), got, tc.want)
		}
	}
}
