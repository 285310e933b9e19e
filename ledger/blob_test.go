package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// blData returns test blobs: text, empty, every byte value, and one big
// enough (2 MiB) that Badger keeps it in its value log.
func blData() [][]byte {
	every := make([]byte, 256)
	for i := range every {
		every[i] = byte(i)
	}
	big := bytes.Repeat([]byte("evidence \x00\xff "), 2<<20/12+1)
	return [][]byte{[]byte("model card\n"), {}, every, big}
}

func blDigest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func TestBlobRoundTrip(t *testing.T) {
	l := openTest(t)
	for _, data := range blData() {
		want := blDigest(data)
		if d := BlobDigest(data); d != want {
			t.Fatalf("BlobDigest = %s, want %s", d, want)
		}
		if l.HasBlob(want) {
			t.Fatalf("HasBlob(%s) before PutBlob", want)
		}
		d, err := l.PutBlob(data)
		if err != nil || d != want {
			t.Fatalf("PutBlob = %s, %v; want %s", d, err, want)
		}
		if !l.HasBlob(d) {
			t.Fatalf("HasBlob(%s) after PutBlob is false", d)
		}
		got, err := l.Blob(d)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("Blob(%s) = %d bytes, %v; want the %d stored", d, len(got), err, len(data))
		}
		// Content-addressed: storing it again stores it once.
		if d2, err := l.PutBlob(bytes.Clone(data)); err != nil || d2 != d {
			t.Fatalf("second PutBlob = %s, %v", d2, err)
		}
	}
	if n := len(sjKeys(t, l, pBlob)); n != len(blData()) {
		t.Fatalf("%d blob keys, want %d", n, len(blData()))
	}
	// Blobs are not entries.
	if r := mustVerify(t, l, true); !r.OK() || r.Checked != 0 {
		t.Fatalf("Verify of a ledger of blobs: %+v", r)
	}
}

func TestBlobErrors(t *testing.T) {
	l := openTest(t)
	if _, err := l.PutBlob([]byte("stored")); err != nil {
		t.Fatal(err)
	}

	unknown := BlobDigest([]byte("never stored"))
	got, err := l.Blob(unknown)
	if !errors.Is(err, ErrNoBlob) || got != nil || !strings.Contains(err.Error(), unknown) {
		t.Errorf("Blob of an unknown digest = %q, %v; want an error naming it and wrapping ErrNoBlob", got, err)
	}
	if l.HasBlob(unknown) {
		t.Error("HasBlob of an unknown digest is true")
	}

	hexd := strings.TrimPrefix(BlobDigest([]byte("stored")), "sha256:")
	for _, d := range []string{
		"",
		"sha256:",
		hexd,
		"sha256:" + hexd[:63],
		"sha256:" + hexd + "0",
		"sha256:" + strings.ToUpper(hexd),
		"SHA256:" + hexd,
		"sha512:" + hexd,
		"sha256:" + strings.Repeat("g", 64),
		"sha256:" + hexd[:62] + "\x00\x00",
		" sha256:" + hexd,
		"sha256:" + hexd + "\n",
	} {
		got, err := l.Blob(d)
		if err == nil || errors.Is(err, ErrNoBlob) || !strings.Contains(err.Error(), "is not a blob digest") || got != nil {
			t.Errorf("Blob(%q) = %q, %v; want a malformed digest error", d, got, err)
		}
		if l.HasBlob(d) {
			t.Errorf("HasBlob(%q) is true", d)
		}
	}

	before := len(sjKeys(t, l, pBlob))
	big := make([]byte, MaxBlob+1)
	d, err := l.PutBlob(big)
	if err == nil || d != "" || !strings.Contains(err.Error(), fmt.Sprintf("more than %d", MaxBlob)) {
		t.Errorf("PutBlob of %d bytes = %q, %v; want it refused", len(big), d, err)
	}
	if l.HasBlob(BlobDigest(big)) || len(sjKeys(t, l, pBlob)) != before {
		t.Error("a refused blob was stored")
	}
}

// TestBlobMaxSize: a blob of exactly MaxBlob bytes is stored and travels
// through an export, its line the longest an import reads.
func TestBlobMaxSize(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 32 MiB blobs")
	}
	l := openTest(t)
	data := bytes.Repeat([]byte{0xa5, 0x00, 'x', '\n'}, MaxBlob/4)
	d, err := l.PutBlob(data)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := l.Export(&buf); err != nil {
		t.Fatal(err)
	}
	if n := buf.Len(); n != maxBlobLine+1 {
		t.Fatalf("the export of one MaxBlob blob is %d bytes, want %d", n, maxBlobLine+1)
	}
	l2 := openTest(t)
	res, err := l2.Import(bytes.NewReader(buf.Bytes()), ImportOptions{})
	if err != nil || res.Blobs != 1 {
		t.Fatalf("Import = %+v, %v", res, err)
	}
	if got, err := l2.Blob(d); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("imported Blob = %d bytes, %v", len(got), err)
	}
}

// blLedger returns a ledger with three entries and the blobs blobs.
func blLedger(t *testing.T, blobs [][]byte) (*Ledger, []string) {
	t.Helper()
	l := openTest(t)
	alice := testSigner(t, "alice@example.com")
	var digests []string
	for i, data := range blobs {
		d, err := l.PutBlob(data)
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, d)
		if i < 3 {
			body := fmt.Sprintf(`{"evidence":%q}`, d)
			if _, err := l.AppendSubject(alice, "request", "model-a", []byte(body), t0.Add(time.Duration(i)*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return l, digests
}

func TestBlobExportImport(t *testing.T) {
	l, digests := blLedger(t, blData())
	var buf bytes.Buffer
	n, err := l.Export(&buf)
	if err != nil || n != 3 {
		t.Fatalf("Export = %d, %v; want 3 entries", n, err)
	}
	// The entries, then a line per blob in digest order.
	lines := bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n"))
	if len(lines) != 3+len(digests) {
		t.Fatalf("the export has %d lines, want %d", len(lines), 3+len(digests))
	}
	for _, line := range lines[:3] {
		if _, err := ParseLine(line); err != nil {
			t.Fatalf("entry line: %v", err)
		}
	}
	sorted := slices.Sorted(slices.Values(digests))
	for i, line := range lines[3:] {
		data, err := l.Blob(sorted[i])
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"blob":"` + base64.StdEncoding.EncodeToString(data) + `"}`; string(line) != want {
			t.Fatalf("blob line %d is %.80s…, want %.80s…", i+1, line, want)
		}
	}

	l2 := openTest(t)
	res, err := l2.Import(bytes.NewReader(buf.Bytes()), ImportOptions{})
	if err != nil || res.Added != 3 || res.Blobs != len(digests) || res.Lines != 3+len(digests) {
		t.Fatalf("Import = %+v, %v; want 3 entries and %d blobs", res, err, len(digests))
	}
	for i, d := range digests {
		got, err := l2.Blob(d)
		if err != nil || !bytes.Equal(got, blData()[i]) {
			t.Fatalf("imported Blob(%s) = %d bytes, %v; want %d", d, len(got), err, len(blData()[i]))
		}
	}
	// Importing again reads the blobs again and stores nothing new.
	res, err = l2.Import(bytes.NewReader(buf.Bytes()), ImportOptions{})
	if err != nil || res.Added != 0 || res.Present != 3 || res.Blobs != len(digests) {
		t.Fatalf("second Import = %+v, %v", res, err)
	}
	if n := len(sjKeys(t, l2, pBlob)); n != len(digests) {
		t.Fatalf("%d blob keys after importing twice, want %d", n, len(digests))
	}
	var buf2 bytes.Buffer
	if _, err := l2.Export(&buf2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf2.Bytes(), buf.Bytes()) {
		t.Fatal("the export of the imported ledger differs")
	}

	// A file of blobs alone imports; a blob line that is not in the
	// form Export writes but decodes to the same bytes is the same blob.
	l3 := openTest(t)
	res, err = l3.Import(strings.NewReader(`{"blob":"AAB="}`+"\n\n"+`{"blob":""}`+"\n"), ImportOptions{})
	if err != nil || res.Added != 0 || res.Blobs != 2 || res.Lines != 2 {
		t.Fatalf("Import of blob lines = %+v, %v", res, err)
	}
	if !l3.HasBlob(BlobDigest([]byte{0, 0})) || !l3.HasBlob(BlobDigest(nil)) {
		t.Fatal("the imported blobs are not there")
	}
}

// TestImportBadBlobLine: a bad blob line fails the whole import, naming
// its line, and nothing is stored, neither entries nor blobs.
func TestImportBadBlobLine(t *testing.T) {
	l, _ := blLedger(t, blData()[:3]) // no big blob: 30 imports
	var buf bytes.Buffer
	if _, err := l.Export(&buf); err != nil {
		t.Fatal(err)
	}
	good := bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n"))
	for _, tc := range []struct{ line, want string }{
		{`{"blob":"not base64!"}`, "blob is not base64"},
		{`{"blob":"AAA"}`, "blob is not base64"},
		{`{"blob":"AA==AA=="}`, "blob is not base64"},
		{`{"blob":"AAAA\r"}`, "blob is not base64"},
		{`{"blob":"AAAA"`, `a blob line is {"blob":"BASE64"}`},
		{`{"blob":"AAAA"} `, ""}, // trailing space is trimmed: a good line
		{`{"blob":"AAAA"}}`, `a blob line is {"blob":"BASE64"}`},
		{`{"blob":"AAAA","x":1}`, `a blob line is {"blob":"BASE64"}`},
		{`{"blob":`, "not an envelope"},
		{`{"blob": "AAAA"}`, "not an envelope"},
	} {
		for _, at := range []int{len(good), 3, 0} { // at the end, after the entries, first
			lines := slices.Insert(slices.Clone(good), at, []byte(tc.line))
			dst := openTest(t)
			if tc.want == "" {
				if _, err := dst.Import(bytes.NewReader(joinExportLines(lines)), ImportOptions{}); err != nil {
					t.Errorf("%s on line %d: %v", tc.line, at+1, err)
				}
				continue
			}
			what := fmt.Sprintf("%s on line %d", tc.line, at+1)
			ie := importMustFail(t, dst, lines, at+1, what)
			if ie.Total != 1 || !strings.Contains(ie.Problems[0].Error(), tc.want) {
				t.Errorf("%s: %v, want one problem with %q", what, ie, tc.want)
			}
			if msg := ie.Error(); !strings.Contains(msg, fmt.Sprintf("line %d: ", at+1)) || !strings.Contains(msg, "nothing imported") {
				t.Errorf("%s: the error %q does not name the line", what, msg)
			}
		}
	}
}

// TestBlobTampered: a blob whose stored bytes changed beneath the API is
// refused, not returned.
func TestBlobTampered(t *testing.T) {
	l := openTest(t)
	for i, data := range blData() {
		d, err := l.PutBlob(data)
		if err != nil {
			t.Fatal(err)
		}
		k, err := blobKey(d)
		if err != nil {
			t.Fatal(err)
		}
		tampered := [][]byte{append(bytes.Clone(data), 0), []byte("another file")}
		if len(data) > 0 {
			tampered = append(tampered, flipByte(data, len(data)/2), data[:len(data)-1], nil)
		}
		for _, changed := range tampered {
			rawSet(t, l, k, changed)
			if got, err := l.Blob(d); !errors.Is(err, ErrTampered) || got != nil || !strings.Contains(err.Error(), d) {
				t.Errorf("blob %d changed to %d bytes: Blob = %d bytes, %v; want an error naming it and wrapping ErrTampered", i, len(changed), len(got), err)
			}
			if !l.HasBlob(d) {
				t.Errorf("blob %d: HasBlob of a tampered blob is false", i)
			}
		}
		// Putting the blob again leaves the tampered bytes: the key is
		// there.
		if _, err := l.PutBlob(data); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Blob(d); !errors.Is(err, ErrTampered) {
			t.Errorf("blob %d after a second PutBlob: %v", i, err)
		}
	}
}

// TestFailedImportLeavesNoBlob: a failed import stores nothing, not even
// the blobs it read before the bad line, also when the import's
// WriteBatch committed part of what it staged before the failure.
func TestFailedImportLeavesNoBlob(t *testing.T) {
	l := openTest(t)
	pad := strings.Repeat("x", 2048)
	es := sjChain(t, testSigner(t, "dave@example.com"), 4200, func(i int) Header {
		return Header{Kind: "comment", Time: t0.Add(time.Duration(i) * time.Second), Body: []byte(fmt.Sprintf(`{"i":%d,"pad":"%s"}`, i, pad))}
	})
	lines := [][]byte{[]byte(`{"blob":"` + base64.StdEncoding.EncodeToString([]byte("evidence")) + `"}`)}
	for _, e := range es {
		lines = append(lines, e.MarshalLine())
	}
	lines = append(lines, []byte("not an envelope"))
	// Give the WriteBatch time to commit, at the progress report of line
	// 4096.
	res, err := l.Import(bytes.NewReader(joinExportLines(lines)), ImportOptions{Progress: func(int) { time.Sleep(time.Second) }})
	if err == nil {
		t.Fatalf("Import = %+v, want an error", res)
	}
	mustBeEmpty(t, l, "after the failed import")
	if l.HasBlob(BlobDigest([]byte("evidence"))) {
		t.Fatal("a failed import left the blob it read")
	}
}
