package evidence

import (
	"strings"
	"unicode/utf8"
)

// Inert returns s made safe to show on a terminal: every escape sequence
// (CSI such as ESC[2J, OSC such as the clipboard's OSC 52 and OSC 8
// links, DCS, SOS, PM and APC strings, in their 7-bit and 8-bit forms) is
// removed whole, as are the other control characters but tab and newline,
// and the bidirectional overrides and isolates that could reorder what a
// reader sees. Invalid UTF-8 becomes U+FFFD. Evidence, reasons and names
// come from outside: show them through Inert.
func Inert(s string) string {
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
		case unsafeText(r):
			i += n
		default:
			b.WriteString(s[i : i+n])
			i += n
		}
	}
	return b.String()
}

// unsafeText reports whether r is a control character or a
// bidirectional control.
func unsafeText(r rune) bool {
	return r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 ||
		r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x061c
}

func isInert(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || (unsafeText(r) && r != '\t' && r != '\n') {
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
