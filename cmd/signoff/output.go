package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/ssh"
)

// writeJSON writes v as indented JSON; see [jsonSafe].
func writeJSON(w io.Writer, v any) error { return encodeJSON(w, v, "  ") }

// writeJSONLine writes v as one line of JSON; see [jsonSafe].
func writeJSONLine(w io.Writer, v any) error { return encodeJSON(w, v, "") }

// encodeJSON writes v without encoding/json's HTML escaping (">=" stays
// ">=" for people reading it), made terminal-safe by [jsonSafe].
func encodeJSON(w io.Writer, v any, indent string) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(jsonSafe(buf.Bytes()))
	return err
}

// jsonSafe escapes, in encoded JSON, the characters encoding/json leaves
// raw that a terminal may act on: C1 controls and bidirectional overrides.
// The result is the same JSON value.
func jsonSafe(b []byte) []byte {
	if !strings.ContainsFunc(string(b), unsafeRune) {
		return b
	}
	var out strings.Builder
	for _, r := range string(b) {
		if unsafeRune(r) {
			fmt.Fprintf(&out, "\\u%04x", r)
		} else {
			out.WriteRune(r)
		}
	}
	return []byte(out.String())
}

func unsafeRune(r rune) bool {
	return r >= 0x80 && r < 0xa0 || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
}

// safeText makes untrusted text inert on a terminal: control characters
// (C0 but tab and newline, DEL, C1, and so every escape sequence's
// introducer) become visible escapes, as do bidirectional overrides that
// could reorder what a reader sees.
func safeText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\x%02x", r)
		case unsafeRune(r):
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// authorizedKey formats an SSH wire-format key as an authorized_keys line
// without comment.
func authorizedKey(blob []byte) (string, error) {
	k, err := ssh.ParsePublicKey(blob)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))), nil
}

// plural formats n with the singular or plural noun.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
