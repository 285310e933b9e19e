package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/signoff-dev/signoff/inert"
)

// writeJSON writes v as indented JSON; made terminal-safe by [inert.JSON].
func writeJSON(w io.Writer, v any) error { return encodeJSON(w, v, "  ") }

// writeJSONLine writes v as one line of JSON; made terminal-safe by [inert.JSON].
func writeJSONLine(w io.Writer, v any) error { return encodeJSON(w, v, "") }

// encodeJSON writes v without encoding/json's HTML escaping (">=" stays
// ">=" for people reading it), made terminal-safe by [inert.JSON].
func encodeJSON(w io.Writer, v any, indent string) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(inert.JSON(buf.Bytes()))
	return err
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
