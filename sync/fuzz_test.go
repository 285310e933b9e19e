package sync

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
)

// fuzzT0 is when the fuzz governance is adopted; its server's clock
// reads an hour later.
var fuzzT0 = time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)

// fuzzGovernance is a small ledger with a root and a keyring adopted,
// cheaper than the demo workspace, and entries signed for it but not
// stored: the seeds of the fuzz targets are made of them.
type fuzzGovernance struct {
	l      *ledger.Ledger
	anchor string
	export []byte
	chain  []*ledger.Entry // the member's first three comments
	fork   *ledger.Entry   // another seq 1 by the member
	stray  *ledger.Entry   // an outsider's first comment
	blob   []byte
}

// newFuzzGovernance opens a ledger in dir, closed when tb ends, and adopts
// the governance into it.
func newFuzzGovernance(tb testing.TB, dir string) *fuzzGovernance {
	tb.Helper()
	admin, member, outsider := signer(tb, "admin@fuzz.example"), signer(tb, "member@fuzz.example"), signer(tb, "outsider@fuzz.example")
	key := func(s ledger.Signer) string {
		return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.PublicKey())))
	}
	root := fmt.Sprintf("version: 1\nthreshold: 1\nadmins:\n  - identity: admin@fuzz.example\n    keys: [%q]\n", key(admin))
	keyring := fmt.Sprintf("version: 1\nmembers:\n  - identity: admin@fuzz.example\n    roles: [governance]\n    keys: [%q]\n"+
		"  - identity: member@fuzz.example\n    roles: [model-owner]\n    keys: [%q]\n", key(admin), key(member))
	l, err := ledger.Open(dir)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	g := &fuzzGovernance{l: l, blob: []byte("fuzz evidence")}
	for i, text := range []string{root, keyring} {
		doc, err := policy.ParseDocument(fmt.Sprint("doc", i), []byte(text))
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := policy.Adopt(l, admin, doc, nil, fuzzT0.Add(time.Duration(i)*time.Minute)); err != nil {
			tb.Fatal(err)
		}
		if doc.Kind == policy.KindRoot {
			g.anchor = doc.Digest
		}
	}
	var buf bytes.Buffer
	if _, err := l.Export(&buf); err != nil {
		tb.Fatal(err)
	}
	g.export = buf.Bytes()
	sign := func(s ledger.Signer, prev *ledger.Entry, body string) *ledger.Entry {
		h := ledger.Header{Kind: "comment", Seq: 1, Time: fuzzT0.Add(10 * time.Minute), Body: json.RawMessage(body)}
		if prev != nil {
			h.Seq, h.Prev, h.Time = prev.Seq+1, prev.ID, prev.Time.Add(time.Minute)
		}
		e, err := ledger.SignEntry(s, h)
		if err != nil {
			tb.Fatal(err)
		}
		return e
	}
	var prev *ledger.Entry
	for i := range 3 {
		prev = sign(member, prev, fmt.Sprintf(`{"n":%d}`, i))
		g.chain = append(g.chain, prev)
	}
	g.fork = sign(member, nil, `{"n":"another history"}`)
	g.stray = sign(outsider, nil, `{"n":0}`)
	return g
}

// flipSignature changes a byte of the signature of an entry's line, so
// that it parses and does not verify.
func flipSignature(line []byte) []byte {
	b := bytes.Clone(line)
	i := len(b) - len(`"}`) - 10
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return b
}

// seeds returns bodies made of g's real lines, good and bad.
func (g *fuzzGovernance) seeds() [][]byte {
	c0, c1, c2 := g.chain[0].MarshalLine(), g.chain[1].MarshalLine(), g.chain[2].MarshalLine()
	blob := ledger.BlobLine(g.blob)
	return [][]byte{
		g.export,
		lines(c0, c1),
		lines(c0, c1, c2),
		lines(g.stray.MarshalLine()),
		lines(g.fork.MarshalLine(), c1),
		lines(flipSignature(c0)),
		lines(c2, c1, c0),
		lines(c0, []byte("{"), g.stray.MarshalLine(), c1, blob),
		append(bytes.ReplaceAll(g.export, []byte("\n"), []byte("\r\n")), c0...), // CRLF, the last line unended
		lines(blob, []byte(`{"blob":""}`), []byte(`{"blob":"@@"}`)),
		[]byte(`{"payload":"e30=","signature":"e30="}` + "\n" + `{"payload":1}` + "\n\n"),
		{},
	}
}

// FuzzIngest: any body pushed to a server gets one of the push statuses
// and a PushReply whose refusals name lines of the body; no equivocation
// and no outsider's entry is ever stored.
func FuzzIngest(f *testing.F) {
	g := newFuzzGovernance(f, f.TempDir())
	srv, err := NewServer(context.Background(), ServerOptions{Ledger: g.l, Anchor: g.anchor, Now: func() time.Time { return fuzzT0.Add(time.Hour) }})
	if err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	outsider := g.stray.Feed
	for _, s := range g.seeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/entries", bytes.NewReader(body)))
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusForbidden, http.StatusConflict, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		var rep PushReply
		dec := json.NewDecoder(rec.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rep); err != nil {
			t.Fatalf("status %d: the reply is not a PushReply: %v", rec.Code, err)
		}
		if rec.Code == http.StatusRequestEntityTooLarge {
			return
		}
		n, nonBlank := 0, 0
		for _, raw := range bytes.Split(body, []byte("\n")) {
			n++
			if len(bytes.TrimSpace(raw)) > 0 {
				nonBlank++
			}
		}
		worst := http.StatusOK
		for i, r := range rep.Refused {
			if r.Line < 1 || r.Line > n || r.Error == "" || (i > 0 && r.Line < rep.Refused[i-1].Line) {
				t.Errorf("refusal %d of %d lines: %+v", i, n, r)
			}
			if severity[r.Status] == 0 {
				t.Errorf("refusal %+v: status %d is not a refusal's", r, r.Status)
			}
			if severity[r.Status] > severity[worst] {
				worst = r.Status
			}
		}
		if rec.Code != worst || (rec.Code == http.StatusOK) != (rep.Error == "") {
			t.Errorf("status %d, error %q, for refusals %+v", rec.Code, rep.Error, rep.Refused)
		}
		if sum := rep.Accepted + rep.Held + rep.Blobs + len(rep.Refused); sum > nonBlank {
			t.Errorf("%d lines account for %d: %+v", nonBlank, sum, rep)
		}
		hs, err := g.l.Heads()
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hs {
			if forks, err := g.l.Forks(h.Feed); err != nil || len(forks) != 0 {
				t.Errorf("feed %s is forked: %v, %v", h.Feed, forks, err)
			}
			if h.Feed == outsider {
				t.Errorf("an outsider's entry was stored")
			}
		}
	})
}

// ledgerCounts returns how many entries and blobs l holds.
func ledgerCounts(t *testing.T, l *ledger.Ledger) (entries, blobs int) {
	t.Helper()
	if err := l.Entries(ledger.Query{}, func(*ledger.Entry) error { entries++; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := l.BlobDigests(func(string) error { blobs++; return nil }); err != nil {
		t.Fatal(err)
	}
	return entries, blobs
}

// FuzzSyncFile: any file given to SyncFile as a remote read for the
// first time is taken or refused without a rollback or tampering error;
// refused, it changes neither the ledger nor the file; taken, the file
// only grew, and a second sync with the same state changes nothing.
//
// A ledger is opened once for many inputs, a new one every
// syncFileReuse: opening one per input would dominate.
func FuzzSyncFile(f *testing.F) {
	const syncFileReuse = 64
	base := f.TempDir()
	g := newFuzzGovernance(f, filepath.Join(base, "governance"))
	for _, s := range g.seeds() {
		f.Add(s)
	}
	ctx := context.Background()
	var l *ledger.Ledger
	uses := 0
	f.Cleanup(func() {
		if l != nil {
			l.Close()
		}
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		if l == nil || uses == syncFileReuse {
			if l != nil {
				l.Close()
				os.RemoveAll(l.Dir())
			}
			dir, err := os.MkdirTemp(base, "ledger-")
			if err != nil {
				t.Fatal(err)
			}
			if l, err = ledger.Open(dir); err != nil {
				t.Fatal(err)
			}
			uses = 0
		}
		uses++
		path := filepath.Join(t.TempDir(), "remote.jsonl")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		entries, blobs := ledgerCounts(t, l)
		var st State
		res, err := SyncFile(ctx, l, path, &st, g.anchor)
		file, rerr := os.ReadFile(path)
		if rerr != nil {
			t.Fatal(rerr)
		}
		e1, b1 := ledgerCounts(t, l)
		if err != nil {
			if errors.Is(err, ErrRollback) || errors.Is(err, ErrTampered) || errors.Is(err, context.Canceled) {
				t.Fatalf("a file read for the first time: %v", err)
			}
			if e1 != entries || b1 != blobs || !bytes.Equal(file, data) {
				t.Fatalf("a refused file (%v) changed the ledger (%d entries, %d blobs; were %d, %d) or the file", err, e1, b1, entries, blobs)
			}
			return
		}
		if !bytes.HasPrefix(file, data) {
			t.Fatalf("the file was changed, not appended to:\n%q\nwas\n%q", file, data)
		}
		if e1-entries != res.Pulled {
			t.Errorf("%d entries pulled, the ledger grew by %d", res.Pulled, e1-entries)
		}
		wantOffset := int64(len(file))
		if len(file) == len(data) {
			wantOffset = int64(bytes.LastIndexByte(data, '\n') + 1) // an unended last line is not read yet
		}
		sum := sha256.Sum256(file[:min(st.FileOffset, int64(len(file)))])
		if st.FileOffset != wantOffset || st.FileDigest != "sha256:"+hex.EncodeToString(sum[:]) {
			t.Errorf("the state says %d bytes read, digest %s; want %d of %d", st.FileOffset, st.FileDigest, wantOffset, len(file))
		}

		res, err = SyncFile(ctx, l, path, &st, g.anchor)
		if err != nil {
			t.Fatalf("a second sync: %v", err)
		}
		again, rerr := os.ReadFile(path)
		if rerr != nil {
			t.Fatal(rerr)
		}
		e2, b2 := ledgerCounts(t, l)
		if res.Pulled+res.Pushed+res.Blobs != 0 || e2 != e1 || b2 != b1 || !bytes.Equal(again, file) {
			t.Errorf("a second sync changed something: %+v; entries %d -> %d, blobs %d -> %d, file %d -> %d bytes",
				res, e1, e2, b1, b2, len(file), len(again))
		}
	})
}

// TestSyncFileUnendedLastLine: a file whose last line is a whole entry
// without its newline. SyncFile ends the line and counts it as read, so
// this home never imports the entry, while every other reader of the
// file does.
func TestSyncFileUnendedLastLine(t *testing.T) {
	ctx := context.Background()
	g := newFuzzGovernance(t, t.TempDir())
	path := filepath.Join(t.TempDir(), "remote.jsonl")
	last := g.chain[0]
	if err := os.WriteFile(path, append(bytes.Clone(g.export), last.MarshalLine()...), 0o644); err != nil {
		t.Fatal(err)
	}
	home := openBare(t)
	if _, err := home.Append(signer(t, "other@fuzz.example"), "comment", []byte(`{}`), fuzzT0); err != nil {
		t.Fatal(err)
	}
	var st State
	if _, err := SyncFile(ctx, home, path, &st, g.anchor); err != nil {
		t.Fatal(err)
	}
	// Another reader gets the entry from the file.
	other := openBare(t)
	if _, err := SyncFile(ctx, other, path, &State{}, g.anchor); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Get(last.ID); err != nil {
		t.Fatalf("another reader of the file: %v", err)
	}
	// So must this home, now or on its next sync.
	if _, err := SyncFile(ctx, home, path, &st, g.anchor); err != nil {
		t.Fatal(err)
	}
	if _, err := home.Get(last.ID); err != nil {
		t.Errorf("the home that ended the line never takes the entry on it, which another reader took: %v", err)
	}
}
