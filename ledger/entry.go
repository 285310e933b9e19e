package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/signoff-dev/signoff/inert"
)

// Version is the payload format version, the "v" field of every payload.
const Version = 1

// MaxPayload bounds the size of one payload.
const MaxPayload = 1 << 20

// maxLine bounds one JSON Lines envelope: base64 of the largest payload and
// signature, with room for the field names.
const maxLine = MaxPayload/3*4 + 4 + maxSignatureBlob/3*4 + 4 + 64

// An ID names an entry: the SHA-256 of its payload bytes.
type ID [sha256.Size]byte

// String returns "sha256:" and the lowercase hex of the digest.
func (id ID) String() string { return "sha256:" + hex.EncodeToString(id[:]) }

// Short returns the first 12 hex digits, for display.
func (id ID) Short() string { return hex.EncodeToString(id[:6]) }

// IsZero reports whether id is the zero ID (no entry).
func (id ID) IsZero() bool { return id == ID{} }

// ParseID parses "sha256:" followed by 64 hex digits.
func ParseID(s string) (ID, error) {
	var id ID
	h, ok := cutPrefix(s, "sha256:")
	if !ok || len(h) != 2*len(id) || !isLowerHex(h) {
		return id, fmt.Errorf("entry id %q is not sha256: and 64 lowercase hex digits", inert.Cut(s, 80))
	}
	hex.Decode(id[:], []byte(h))
	return id, nil
}

// A Feed names one signer's chain of entries: the SHA-256 fingerprint of the
// signer's public key, as OpenSSH prints it ("SHA256:" and unpadded base64).
type Feed [sha256.Size]byte

// String returns the OpenSSH fingerprint form.
func (f Feed) String() string { return "SHA256:" + base64.RawStdEncoding.EncodeToString(f[:]) }

// ParseFeed parses an OpenSSH SHA256 fingerprint.
func ParseFeed(s string) (Feed, error) {
	var f Feed
	b64, ok := cutPrefix(s, "SHA256:")
	if !ok || len(b64) != 43 {
		return f, fmt.Errorf("feed %q is not an OpenSSH SHA256 fingerprint", inert.Cut(s, 80))
	}
	n, err := base64.RawStdEncoding.Strict().Decode(f[:], []byte(b64))
	if err != nil || n != len(f) {
		return f, fmt.Errorf("feed %q is not an OpenSSH SHA256 fingerprint", inert.Cut(s, 80))
	}
	return f, nil
}

// FeedOf returns the feed of an SSH public key in wire format.
func FeedOf(keyBlob []byte) Feed { return Feed(sha256.Sum256(keyBlob)) }

// Header holds the fields every payload carries. Body is the kind-specific
// part, opaque to the ledger.
type Header struct {
	Kind     string
	Feed     Feed
	Seq      uint64
	Prev     ID // zero for seq 1
	Time     time.Time
	Identity string // the identity the signer claims; may be empty
	// Subject names what the entry is about, for the subject index (a
	// bundle digest, for example): up to [MaxSubjects] subjects separated
	// by commas, or empty. The ledger gives them no meaning beyond that.
	Subject string
	Body    json.RawMessage
}

// An Entry is a payload exactly as signed and its SSHSIG signature.
type Entry struct {
	Header
	Payload   []byte
	Signature []byte // binary SSHSIG blob
	ID        ID
}

// appendPayload writes h in the one form signoff reads back:
//
//	{"v":1,"kind":K,"feed":F,"seq":N,"prev":P,"time":T[,"identity":I][,"subject":S],"body":B}
//
// Strings are restricted to characters that need no JSON escaping, so the
// encoding is unique and the parser needs no unescaping.
func appendPayload(b []byte, h *Header) []byte {
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, Version, 10)
	b = append(b, `,"kind":"`...)
	b = append(b, h.Kind...)
	b = append(b, `","feed":"`...)
	b = append(b, h.Feed.String()...)
	b = append(b, `","seq":`...)
	b = strconv.AppendUint(b, h.Seq, 10)
	b = append(b, `,"prev":"`...)
	if !h.Prev.IsZero() {
		b = append(b, h.Prev.String()...)
	}
	b = append(b, `","time":"`...)
	b = append(b, formatTime(h.Time)...)
	b = append(b, '"')
	if h.Identity != "" {
		b = append(b, `,"identity":"`...)
		b = append(b, h.Identity...)
		b = append(b, '"')
	}
	if h.Subject != "" {
		b = append(b, `,"subject":"`...)
		b = append(b, h.Subject...)
		b = append(b, '"')
	}
	b = append(b, `,"body":`...)
	b = append(b, h.Body...)
	return append(b, '}')
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// checkHeader reports whether h can be written as a payload.
func checkHeader(h *Header) error {
	if err := CheckKind(h.Kind); err != nil {
		return err
	}
	if h.Seq == 0 || h.Seq > maxSeq {
		return fmt.Errorf("seq %d is out of range", h.Seq)
	}
	if (h.Seq == 1) != h.Prev.IsZero() {
		return errors.New("prev must be empty exactly for seq 1")
	}
	if y := h.Time.UTC().Year(); y < 1970 || y > 2200 {
		return fmt.Errorf("time %v is out of range (1970 to 2200)", h.Time)
	}
	if h.Identity != "" {
		if err := CheckIdentity(h.Identity); err != nil {
			return err
		}
	}
	if h.Subject != "" {
		if err := checkSubjects(h.Subject); err != nil {
			return err
		}
	}
	if !utf8.Valid(h.Body) {
		return errors.New("body is not UTF-8")
	}
	if !json.Valid(h.Body) || len(h.Body) == 0 || h.Body[0] != '{' {
		return errors.New("body is not a JSON object")
	}
	if !isCompact(h.Body) {
		return errors.New("body is not compact JSON (whitespace outside strings)")
	}
	return nil
}

const maxSeq = 1<<53 - 1

// CheckKind reports whether kind is a valid entry kind: 1 to 32 lowercase
// letters, digits and hyphens.
func CheckKind(kind string) error {
	if len(kind) == 0 || len(kind) > 32 {
		return fmt.Errorf("kind %q must be 1 to 32 characters", inert.Cut(kind, 40))
	}
	for i := 0; i < len(kind); i++ {
		c := kind[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return fmt.Errorf("kind %q may hold only a-z, 0-9 and -", inert.Cut(kind, 40))
		}
	}
	return nil
}

// MaxSubjects bounds how many subjects one entry may name.
const MaxSubjects = 4

// CheckSubject reports whether s can name an entry's subject: 1 to 128
// lowercase letters, digits and : . _ -.
func CheckSubject(s string) error {
	if len(s) == 0 || len(s) > 128 {
		return fmt.Errorf("subject %q must be 1 to 128 characters", inert.Cut(s, 40))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte(":._-", c) >= 0) {
			return fmt.Errorf("subject %q may hold only a-z, 0-9 and : . _ -", inert.Cut(s, 40))
		}
	}
	return nil
}

// checkSubjects reports whether s names 1 to [MaxSubjects] subjects,
// separated by commas, each valid and none twice.
func checkSubjects(s string) error {
	parts := strings.Split(s, ",")
	if len(parts) > MaxSubjects {
		return fmt.Errorf("an entry names at most %d subjects, not %d", MaxSubjects, len(parts))
	}
	for i, p := range parts {
		if err := CheckSubject(p); err != nil {
			return err
		}
		if slices.Contains(parts[:i], p) {
			return fmt.Errorf("subject %q is named twice", inert.Cut(p, 40))
		}
	}
	return nil
}

// Subjects returns the subjects the entry names: none, or up to
// [MaxSubjects].
func (h *Header) Subjects() []string {
	if h.Subject == "" {
		return nil
	}
	return strings.Split(h.Subject, ",")
}

// About reports whether the entry names subject among its subjects.
func (h *Header) About(subject string) bool {
	return h.Subject != "" && slices.Contains(h.Subjects(), subject)
}

// CheckIdentity reports whether id can name a signer: 1 to 254 of the
// characters of an e-mail address, letters, digits and . _ % + - @. The
// characters OpenSSH's allowed_signers reads as patterns (* ? ! ,) are
// refused: an identity "*" would vouch for every other.
func CheckIdentity(id string) error {
	if len(id) == 0 || len(id) > 254 {
		return fmt.Errorf("identity %q must be 1 to 254 characters", inert.Cut(id, 60))
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("._%+-@", c) >= 0) {
			return fmt.Errorf("identity %q may hold only letters, digits and . _ %% + - @ (an e-mail address)", inert.Cut(id, 60))
		}
	}
	return nil
}

// ParsePayload parses payload bytes in the form [appendPayload] writes and
// rejects anything else: other field orders, whitespace, escapes, unknown
// fields, a body that is not a JSON object, or bytes after it.
func ParsePayload(p []byte) (*Header, error) {
	if len(p) > MaxPayload {
		return nil, fmt.Errorf("payload is %d bytes, more than %d", len(p), MaxPayload)
	}
	r := payloadReader{p: p}
	r.lit(`{"v":`)
	if v := r.uint(); r.err == nil && v != Version {
		return nil, fmt.Errorf("payload version %d is not supported (want %d)", v, Version)
	}
	h := new(Header)
	r.lit(`,"kind":`)
	h.Kind = r.str()
	r.lit(`,"feed":`)
	feed := r.str()
	r.lit(`,"seq":`)
	h.Seq = r.uint()
	r.lit(`,"prev":`)
	prev := r.str()
	r.lit(`,"time":`)
	ts := r.str()
	if r.peek(`,"identity":`) {
		r.lit(`,"identity":`)
		h.Identity = r.str()
		if r.err == nil && h.Identity == "" {
			r.fail("empty identity must be omitted")
		}
	}
	if r.peek(`,"subject":`) {
		r.lit(`,"subject":`)
		h.Subject = r.str()
		if r.err == nil && h.Subject == "" {
			r.fail("empty subject must be omitted")
		}
	}
	r.lit(`,"body":`)
	if r.err != nil {
		return nil, r.err
	}
	if len(r.p) < 2 || r.p[len(r.p)-1] != '}' {
		return nil, errors.New("payload does not end with the body object")
	}
	h.Body = json.RawMessage(r.p[:len(r.p)-1])

	var err error
	if h.Feed, err = ParseFeed(feed); err != nil {
		return nil, err
	}
	if h.Seq > 1 {
		if h.Prev, err = ParseID(prev); err != nil {
			return nil, fmt.Errorf("prev: %w", err)
		}
	} else if prev != "" {
		return nil, errors.New("prev must be empty at seq 1")
	}
	if h.Time, err = time.Parse(time.RFC3339Nano, ts); err != nil || formatTime(h.Time) != ts {
		return nil, fmt.Errorf("time %q is not RFC 3339 in UTC", inert.Cut(ts, 40))
	}
	if err := checkHeader(h); err != nil {
		return nil, err
	}
	return h, nil
}

type payloadReader struct {
	p   []byte
	off int
	err error
}

func (r *payloadReader) fail(msg string) {
	if r.err == nil {
		r.err = fmt.Errorf("payload byte %d: %s", r.off, msg)
	}
}

func (r *payloadReader) peek(lit string) bool {
	return r.err == nil && bytes.HasPrefix(r.p, []byte(lit))
}

func (r *payloadReader) lit(lit string) {
	if r.err != nil {
		return
	}
	if !bytes.HasPrefix(r.p, []byte(lit)) {
		r.fail("want " + lit)
		return
	}
	r.p = r.p[len(lit):]
	r.off += len(lit)
}

// uint reads a decimal with no sign and no leading zero.
func (r *payloadReader) uint() uint64 {
	if r.err != nil {
		return 0
	}
	n := 0
	for n < len(r.p) && n < 17 && '0' <= r.p[n] && r.p[n] <= '9' {
		n++
	}
	if n == 0 || (n > 1 && r.p[0] == '0') {
		r.fail("want a decimal number")
		return 0
	}
	v, err := strconv.ParseUint(string(r.p[:n]), 10, 64)
	if err != nil || v > maxSeq {
		r.fail("number out of range")
		return 0
	}
	r.p = r.p[n:]
	r.off += n
	return v
}

// str reads a quoted string of printable ASCII with no escapes.
func (r *payloadReader) str() string {
	if r.err != nil {
		return ""
	}
	if len(r.p) == 0 || r.p[0] != '"' {
		r.fail(`want a string`)
		return ""
	}
	for i := 1; i < len(r.p) && i <= 256; i++ {
		c := r.p[i]
		switch {
		case c == '"':
			s := string(r.p[1:i])
			r.p = r.p[i+1:]
			r.off += i + 1
			return s
		case c < ' ' || c >= 0x7f || c == '\\':
			r.off += i
			r.fail("header strings hold printable ASCII only")
			return ""
		}
	}
	r.fail("unterminated or overlong string")
	return ""
}

// ParseEntry parses a payload and its binary signature. It does not check
// the signature: see [Entry.Verify].
func ParseEntry(payload, signature []byte) (*Entry, error) {
	h, err := ParsePayload(payload)
	if err != nil {
		return nil, err
	}
	if len(signature) > maxSignatureBlob {
		return nil, fmt.Errorf("signature is %d bytes, more than %d", len(signature), maxSignatureBlob)
	}
	return &Entry{Header: *h, Payload: payload, Signature: signature, ID: sha256.Sum256(payload)}, nil
}

// Verify checks that e's signature is a valid SSHSIG over its payload by the
// key its feed names.
func (e *Entry) Verify() error {
	sig, err := ParseSignature(e.Signature)
	if err != nil {
		return err
	}
	if FeedOf(ed25519KeyBlob(sig.PublicKey)) != e.Feed {
		return errors.New("signed by a key other than the feed's")
	}
	return sig.Verify(Namespace, e.Payload)
}

// PublicKey returns the signer's key from e's signature.
func (e *Entry) PublicKey() ([]byte, error) {
	sig, err := ParseSignature(e.Signature)
	if err != nil {
		return nil, err
	}
	return ed25519KeyBlob(sig.PublicKey), nil
}

// envelope is one JSON Lines record of an export.
type envelope struct {
	Payload   []byte `json:"payload"`
	Signature []byte `json:"signature"`
}

// MarshalLine encodes e as one JSON Lines record, without the newline.
func (e *Entry) MarshalLine() []byte {
	b, _ := json.Marshal(envelope{e.Payload, e.Signature}) // cannot fail
	return b
}

// ParseLine parses one JSON Lines record: {"payload": base64, "signature":
// base64}. It does not check the signature.
func ParseLine(line []byte) (*Entry, error) {
	if len(line) > maxLine {
		return nil, fmt.Errorf("line is %d bytes, more than %d", len(line), maxLine)
	}
	if e, ok := parseLineFast(line); ok {
		return e()
	}
	if !utf8.Valid(line) {
		return nil, errors.New("line is not UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var env envelope
	if err := dec.Decode(&env); err != nil {
		return nil, fmt.Errorf("not an envelope: %v", err)
	}
	if rest := bytes.TrimSpace(line[dec.InputOffset():]); len(rest) != 0 {
		return nil, errors.New("data after the envelope")
	}
	if len(env.Payload) == 0 || len(env.Signature) == 0 {
		return nil, errors.New("envelope needs payload and signature")
	}
	return ParseEntry(env.Payload, env.Signature)
}

// parseLineFast parses the exact form [Entry.MarshalLine] writes without
// a JSON decoder; ok is false for any other form, which [ParseLine] then
// decodes in full.
func parseLineFast(line []byte) (parse func() (*Entry, error), ok bool) {
	const head, mid, tail = `{"payload":"`, `","signature":"`, `"}`
	if !bytes.HasPrefix(line, []byte(head)) || !bytes.HasSuffix(line, []byte(tail)) || len(line) < len(head)+len(tail) {
		return nil, false
	}
	rest := line[len(head) : len(line)-len(tail)]
	i := bytes.Index(rest, []byte(mid))
	// The decoder rejects every byte outside the alphabet but CR and LF,
	// which it skips; refuse those so one entry has one line form.
	if i < 0 || bytes.IndexByte(rest, '\r') >= 0 || bytes.IndexByte(rest, '\n') >= 0 {
		return nil, false
	}
	p64, s64 := rest[:i], rest[i+len(mid):]
	return func() (*Entry, error) {
		buf := make([]byte, base64.StdEncoding.DecodedLen(len(p64))+base64.StdEncoding.DecodedLen(len(s64)))
		n, err := base64.StdEncoding.Decode(buf, p64)
		if err != nil {
			return nil, fmt.Errorf("payload is not base64: %v", err)
		}
		m, err := base64.StdEncoding.Decode(buf[n:], s64)
		if err != nil {
			return nil, fmt.Errorf("signature is not base64: %v", err)
		}
		if n == 0 || m == 0 {
			return nil, errors.New("envelope needs payload and signature")
		}
		return ParseEntry(buf[:n:n], buf[n:n+m:n+m])
	}, true
}

// encodeValue is the stored form of an entry: the payload length, the
// payload and the signature.
func encodeValue(e *Entry) []byte {
	b := make([]byte, 0, binary.MaxVarintLen64+len(e.Payload)+len(e.Signature))
	b = binary.AppendUvarint(b, uint64(len(e.Payload)))
	b = append(b, e.Payload...)
	return append(b, e.Signature...)
}

// decodeValue splits a stored value. The slices alias v.
func decodeValue(v []byte) (payload, signature []byte, err error) {
	n, k := binary.Uvarint(v)
	if k <= 0 || n > uint64(len(v)-k) {
		return nil, nil, errors.New("stored entry is truncated")
	}
	return v[k : k+int(n)], v[k+int(n):], nil
}

// isCompact reports whether valid JSON b has no whitespace outside strings.
func isCompact(b []byte) bool {
	inString, escaped := false, false
	for _, c := range b {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case !inString && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return false
		}
	}
	return true
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || s[:len(prefix)] != prefix {
		return s, false
	}
	return s[len(prefix):], true
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
