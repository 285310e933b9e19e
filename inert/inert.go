// Package inert makes text from outside (model cards, reasons, names,
// a remote's replies) safe to show on a terminal, and short enough to fit.
//
// Every surface of signoff shows outside text through this package, so
// there is one table of what a terminal may act on ([Unsafe]): the C0
// controls but tab and newline, DEL, the C1 controls (which introduce
// 8-bit escape sequences), and the bidirectional overrides, isolates and
// the Arabic letter mark, which could reorder what a reader sees.
//
// # Two ways to make text inert
//
// [Text] removes escape sequences whole, for the console, which draws
// the text. [Escape] turns each unsafe character into a visible escape
// (\x1b, \u202e), for the CLI, whose output a reader may need to quote
// exactly. [JSON] escapes them inside encoded JSON, which stays the same
// value.
//
// # Fitting
//
// [Line] folds text to one line, [Cut] shortens it to a number of runes
// (never splitting one), and [Digest] shortens a sha256: digest for
// display.
package inert

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Text returns s made safe to show on a terminal: every escape sequence
// (CSI such as ESC[2J, OSC such as the clipboard's OSC 52 and OSC 8
// links, DCS, SOS, PM and APC strings, in their 7-bit and 8-bit forms) is
// removed whole, as are the other control characters but tab and newline,
// and the bidirectional overrides and isolates that could reorder what a
// reader sees. Invalid UTF-8 becomes U+FFFD. Evidence, reasons and names
// come from outside: the console shows them through Text.
func Text(s string) string {
	if isInert(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteRune(utf8.RuneError)
			i++
		case r == 0x1b: // ESC
			i = skipEscape(s, i+1)
		case r == 0x9b: // CSI
			i = skipCSI(s, i+n)
		case r == 0x9d || r == 0x90 || r == 0x98 || r == 0x9e || r == 0x9f: // OSC, DCS, SOS, PM, APC
			i = skipString(s, i+n)
		case r == '\t' || r == '\n':
			b.WriteRune(r)
			i += n
		case Unsafe(r):
			i += n
		default:
			b.WriteString(s[i : i+n])
			i += n
		}
	}
	return b.String()
}

// Unsafe reports whether a terminal may act on r: a control character
// (tab and newline included; callers keep those where lines are wanted)
// or a bidirectional control.
func Unsafe(r rune) bool {
	return r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 ||
		r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x061c
}

func isInert(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || (Unsafe(r) && r != '\t' && r != '\n') {
			return false
		}
	}
	return true
}

// skipEscape skips what follows an ESC at s[i:].
func skipEscape(s string, i int) int {
	if i >= len(s) {
		return i
	}
	switch s[i] {
	case '[':
		return skipCSI(s, i+1)
	case ']', 'P', 'X', '^', '_':
		return skipString(s, i+1)
	}
	// A two-character sequence (ESC c, ESC 7, …); intermediates first.
	for i < len(s) && s[i] >= 0x20 && s[i] <= 0x2f {
		i++
	}
	if i < len(s) {
		_, n := utf8.DecodeRuneInString(s[i:])
		i += n
	}
	return i
}

// skipCSI skips a control sequence's parameters, intermediates and final
// byte.
func skipCSI(s string, i int) int {
	for i < len(s) {
		c := s[i]
		i++
		if c >= 0x40 && c <= 0x7e {
			return i
		}
		if c < 0x20 || c > 0x3f && c < 0x40 || c >= 0x80 {
			return i // malformed: stop at it
		}
	}
	return i
}

// skipString skips a control string up to its terminator: BEL, ESC \ or
// the 8-bit ST; or to the end.
func skipString(s string, i int) int {
	for i < len(s) {
		switch {
		case s[i] == 0x07:
			return i + 1
		case s[i] == 0x1b && i+1 < len(s) && s[i+1] == '\\':
			return i + 2
		case s[i] == 0x1b:
			return i // another sequence begins: let it be skipped too
		case strings.HasPrefix(s[i:], "\u009c"):
			return i + len("\u009c")
		}
		i++
	}
	return i
}

// Escape makes s inert for the CLI: each unsafe character but tab and
// newline becomes a visible escape (\x1b, \u202e), so nothing reaches
// the terminal that it could act on and nothing is silently dropped.
// Invalid UTF-8 becomes U+FFFD.
func Escape(s string) string {
	if isInert(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteRune(utf8.RuneError)
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r < 0x80 && Unsafe(r):
			fmt.Fprintf(&b, "\\x%02x", r)
		case Unsafe(r):
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// JSON escapes, in encoded JSON, the unsafe characters encoding/json
// leaves raw (C1 controls, bidirectional controls): the result is the
// same JSON value.
func JSON(b []byte) []byte {
	if !strings.ContainsFunc(string(b), func(r rune) bool { return r >= 0x80 && Unsafe(r) }) {
		return b
	}
	var out strings.Builder
	for _, r := range string(b) {
		if r >= 0x80 && Unsafe(r) {
			fmt.Fprintf(&out, "\\u%04x", r)
		} else {
			out.WriteRune(r)
		}
	}
	return []byte(out.String())
}

// Line folds s to one line: every run of white space becomes one space.
func Line(s string) string { return strings.Join(strings.Fields(s), " ") }

// Cut shortens s to at most n runes, the last of them "…" when some
// were cut; it never splits a rune.
func Cut(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for i < len(s) && count < n-1 {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		count++
	}
	return s[:i] + "…"
}

// Digest shortens a digest ("sha256:3f9a…", 19 characters and "…") for
// display; anything shorter is returned as it is.
func Digest(d string) string {
	if len(d) > 19 {
		return d[:19] + "…"
	}
	return d
}
