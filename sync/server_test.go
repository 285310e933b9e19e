package sync

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
	"github.com/signoff-dev/signoff/policy/workspace"
	"github.com/signoff-dev/signoff/sync/s3test"
)

// The demo workspace's last entry is signed at demoNow; the servers'
// clocks read serveNow.
var (
	demoNow  = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	serveNow = demoNow.Add(time.Hour)
)

// A demoFixture is the demo workspace, made once per test process (it
// takes seconds), and what the tests need of it.
type demoFixture struct {
	dir     string
	anchor  string                   // the pinned root digest
	export  []byte                   // the demo ledger in the export format
	entries int                      // how many entries it holds
	blobs   int                      // and blobs
	keys    map[string]ledger.Signer // by workspace signer name
}

var (
	demoOnce stdsync.Once
	demoFix  *demoFixture
	demoErr  error
	demoTemp string // removed by TestMain
)

func TestMain(m *testing.M) {
	code := m.Run()
	if demoTemp != "" {
		os.RemoveAll(demoTemp)
	}
	os.Exit(code)
}

// loadDemo returns the demo workspace, making it the first time.
func loadDemo(t testing.TB) *demoFixture {
	t.Helper()
	demoOnce.Do(func() { demoFix, demoErr = makeDemo() })
	if demoErr != nil {
		t.Fatalf("the demo workspace: %v", demoErr)
	}
	return demoFix
}

func makeDemo() (*demoFixture, error) {
	tmp, err := os.MkdirTemp("", "signoff-sync-test-")
	if err != nil {
		return nil, err
	}
	demoTemp = tmp
	d := &demoFixture{dir: filepath.Join(tmp, "demo"), keys: map[string]ledger.Signer{}}
	if err := workspace.Create(d.dir, demoNow, nil); err != nil {
		return nil, err
	}
	pin, err := os.ReadFile(filepath.Join(d.dir, workspace.RootPin))
	if err != nil {
		return nil, err
	}
	d.anchor = strings.TrimSpace(string(pin))
	for _, s := range workspace.Signers {
		k, err := ledger.LoadKeyFile(filepath.Join(workspace.Home(d.dir, s), workspace.KeyFile), nil)
		if err != nil {
			return nil, err
		}
		d.keys[s.Name] = k
	}
	l, err := ledger.Open(filepath.Join(d.dir, workspace.LedgerDir))
	if err != nil {
		return nil, err
	}
	defer l.Close()
	var buf bytes.Buffer
	if d.entries, err = l.Export(&buf); err != nil {
		return nil, err
	}
	d.export = buf.Bytes()
	err = l.BlobDigests(func(string) error { d.blobs++; return nil })
	return d, err
}

// demoHome returns a new ledger holding the demo ledger's entries and
// blobs.
func demoHome(t *testing.T) *ledger.Ledger {
	t.Helper()
	d := loadDemo(t)
	l := openBare(t)
	if _, err := l.Import(bytes.NewReader(d.export), ledger.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	return l
}

// A testServer is a Server on a ledger, listening on loopback.
type testServer struct {
	*Server
	l    *ledger.Ledger
	http *httptest.Server
	url  string
	ep   *Endpoint
}

// startServer serves l, trusting anchor, with the backing store if not
// nil, until the test ends.
func startServer(t *testing.T, l *ledger.Ledger, backing Store, anchor string) *testServer {
	t.Helper()
	srv, err := NewServer(context.Background(), ServerOptions{Ledger: l, Backing: backing, Anchor: anchor, Now: func() time.Time { return serveNow }})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	ep, err := NewEndpoint(hs.URL, hs.Client())
	if err != nil {
		t.Fatal(err)
	}
	return &testServer{Server: srv, l: l, http: hs, url: hs.URL, ep: ep}
}

// postEntries pushes body and returns the status and the reply, which
// must be JSON.
func postEntries(t *testing.T, base string, body []byte) (int, PushReply) {
	t.Helper()
	resp, err := http.Post(base+"/v1/entries", "application/jsonl", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, decodePushReply(t, resp)
}

func decodePushReply(t *testing.T, resp *http.Response) PushReply {
	t.Helper()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json", resp.Status, ct)
	}
	var rep PushReply
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("%s: the reply %q is not a PushReply: %v", resp.Status, data, err)
	}
	return rep
}

// getJSON GETs base+path and decodes the JSON reply into v, returning
// the status.
func getJSON(t *testing.T, base, path string, v any) int {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s: %s, Content-Type %q, want application/json", path, resp.Status, ct)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("GET %s: %s: the reply %q is not JSON: %v", path, resp.Status, data, err)
	}
	return resp.StatusCode
}

// entrySet returns the ids of every entry l holds.
func entrySet(t *testing.T, l *ledger.Ledger) map[ledger.ID]bool {
	t.Helper()
	out := map[ledger.ID]bool{}
	if err := l.Entries(ledger.Query{}, func(e *ledger.Entry) error { out[e.ID] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// blobSet returns the digests of every blob l holds.
func blobSet(t *testing.T, l *ledger.Ledger) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	if err := l.BlobDigests(func(d string) error { out[d] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// headSet returns the head seq of each feed of l.
func headSet(t *testing.T, l *ledger.Ledger) map[string]uint64 {
	t.Helper()
	hs, err := headSeqs(l)
	if err != nil {
		t.Fatal(err)
	}
	return hs
}

func feedOf(t *testing.T, s ledger.Signer) ledger.Feed {
	t.Helper()
	f, err := ledger.ParseFeed(ledger.Fingerprint(s.PublicKey()))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// headOf returns the newest entry of s's feed in l, or nil.
func headOf(t *testing.T, l *ledger.Ledger, s ledger.Signer) *ledger.Entry {
	t.Helper()
	var last *ledger.Entry
	if err := l.FeedEntries(feedOf(t, s), 0, func(e *ledger.Entry) error { last = e; return nil }); err != nil {
		t.Fatal(err)
	}
	return last
}

// signAfter signs, without storing it, the comment that follows prev
// (nil for the first) in s's feed.
func signAfter(t *testing.T, s ledger.Signer, prev *ledger.Entry, body string, at time.Time) *ledger.Entry {
	t.Helper()
	h := ledger.Header{Kind: "comment", Seq: 1, Time: at, Body: json.RawMessage(body)}
	if prev != nil {
		h.Seq, h.Prev = prev.Seq+1, prev.ID
	}
	e, err := ledger.SignEntry(s, h)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// comment appends n comments by s to l.
func comment(t *testing.T, l *ledger.Ledger, s ledger.Signer, n int, from time.Time) {
	t.Helper()
	for i := range n {
		if _, err := l.Append(s, "comment", fmt.Appendf(nil, `{"n":%d}`, i), from.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
}

// stranger returns a signer whose key no keyring names.
func stranger(t *testing.T) ledger.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ss, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ledger.NewSigner(ss, "stranger@example.com")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// lines joins lines, each ended by a newline.
func lines(ls ...[]byte) []byte {
	var b bytes.Buffer
	for _, l := range ls {
		b.Write(l)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// badSignature returns e's line with a byte of its signature changed:
// the line still parses, and the signature no longer verifies.
func badSignature(t *testing.T, e *ledger.Entry) []byte {
	t.Helper()
	b := bytes.Clone(e.MarshalLine())
	i := len(b) - len(`"}`) - 10 // within the ed25519 signature, clear of the padding
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	bad, err := ledger.ParseLine(b)
	if err != nil {
		t.Fatalf("the changed line does not parse: %v", err)
	}
	if bad.ID != e.ID || bad.Verify() == nil {
		t.Fatal("the changed line still verifies, or is another entry")
	}
	return b
}

// wantRefusals checks the refusals' lines and statuses, and that each
// gives a reason containing the matching text.
func wantRefusals(t *testing.T, got []Refusal, want ...Refusal) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("refusals %+v, want %+v", got, want)
	}
	for i, w := range want {
		g := got[i]
		if g.Line != w.Line || g.Status != w.Status || !strings.Contains(g.Error, w.Error) || (w.ID != "" && g.ID != w.ID) {
			t.Errorf("refusal %d: %+v, want line %d, status %d, id %q, an error containing %q", i, g, w.Line, w.Status, w.ID, w.Error)
		}
	}
}

// TestServePushPull: a demo home syncs its whole ledger to a new server
// in one go; a second sync finds nothing new for one request; an empty
// home gets every entry and blob back.
func TestServePushPull(t *testing.T) {
	ctx := context.Background()
	d := loadDemo(t)
	home, err := ledger.Open(filepath.Join(d.dir, workspace.LedgerDir))
	if err != nil {
		t.Fatal(err)
	}
	defer home.Close()
	srv := startServer(t, openBare(t), nil, d.anchor)

	var st State
	res, err := SyncEndpoint(ctx, home, srv.ep, &st, loadDemo(t).anchor)
	if err != nil {
		t.Fatal(err)
	}
	if res.Pushed != d.entries || res.Blobs != d.blobs || res.Pulled != 0 || len(res.Refused) != 0 {
		t.Errorf("the first sync: %+v; want %d entries and %d blobs pushed, nothing refused", res, d.entries, d.blobs)
	}
	if got, want := entrySet(t, srv.l), entrySet(t, home); !maps.Equal(got, want) {
		t.Errorf("the server holds %d entries, the home %d", len(got), len(want))
	}
	if got, want := blobSet(t, srv.l), blobSet(t, home); !maps.Equal(got, want) {
		t.Errorf("the server holds %d blobs, the home %d", len(got), len(want))
	}

	res, err = SyncEndpoint(ctx, home, srv.ep, &st, loadDemo(t).anchor)
	if err != nil || res.Requests != 1 || res.Pushed+res.Pulled+res.Blobs != 0 || len(res.Refused) != 0 {
		t.Errorf("a sync with nothing new: %+v, %v; want one request and nothing moved", res, err)
	}

	fresh := openBare(t)
	var fst State
	res, err = SyncEndpoint(ctx, fresh, srv.ep, &fst, loadDemo(t).anchor)
	if err != nil {
		t.Fatal(err)
	}
	if res.Pulled != d.entries || res.Pushed != 0 || len(res.Refused) != 0 {
		t.Errorf("an empty home's sync: %+v; want %d entries pulled", res, d.entries)
	}
	if got, want := entrySet(t, fresh), entrySet(t, home); !maps.Equal(got, want) {
		t.Errorf("the empty home now holds %d entries, the source %d", len(got), len(want))
	}
	if got, want := blobSet(t, fresh), blobSet(t, home); !maps.Equal(got, want) {
		t.Errorf("the empty home now holds %d blobs, the source %d", len(got), len(want))
	}
	res, err = SyncEndpoint(ctx, fresh, srv.ep, &fst, loadDemo(t).anchor)
	if err != nil || res.Requests != 1 || res.Pushed+res.Pulled+res.Blobs != 0 {
		t.Errorf("the new home's second sync: %+v, %v; want one request and nothing moved", res, err)
	}
}

// endlessZeros reads as zero bytes without end.
type endlessZeros struct{}

func (endlessZeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestServePushStatus: each kind of bad line gets its status, with a
// refusal naming the line and why; good lines beside bad ones are kept;
// pushing the same body again adds nothing.
func TestServePushStatus(t *testing.T) {
	d := loadDemo(t)
	srv := startServer(t, demoHome(t), nil, d.anchor)
	home := demoHome(t)
	at := serveNow

	t.Run("stranger/403", func(t *testing.T) {
		scratch := openBare(t)
		e, err := scratch.Append(stranger(t), "comment", []byte(`{"hello":"world"}`), at)
		if err != nil {
			t.Fatal(err)
		}
		before := len(entrySet(t, srv.l))
		status, rep := postEntries(t, srv.url, lines(e.MarshalLine()))
		if status != http.StatusForbidden || rep.Accepted != 0 || rep.Held != 0 || rep.Error == "" {
			t.Errorf("status %d, %+v; want 403, nothing stored, an error", status, rep)
		}
		wantRefusals(t, rep.Refused, Refusal{Line: 1, ID: e.ID.String(), Status: http.StatusForbidden, Error: "not in keyring"})
		if n := len(entrySet(t, srv.l)); n != before {
			t.Errorf("the server holds %d entries, had %d", n, before)
		}
	})

	t.Run("equivocation/409", func(t *testing.T) {
		compliance := d.keys["compliance"]
		var orig *ledger.Entry
		srv.l.FeedEntries(feedOf(t, compliance), 1, func(e *ledger.Entry) error { orig = e; return ledger.ErrStop })
		if orig == nil || orig.Seq != 2 {
			t.Fatalf("the demo has no compliance entry at seq 2: %v", orig)
		}
		eq, err := ledger.SignEntry(compliance, ledger.Header{Kind: "comment", Seq: orig.Seq, Prev: orig.Prev, Time: orig.Time, Body: json.RawMessage(`{"note":"a second history"}`)})
		if err != nil {
			t.Fatal(err)
		}
		status, rep := postEntries(t, srv.url, lines(eq.MarshalLine()))
		if status != http.StatusConflict || rep.Accepted != 0 {
			t.Errorf("status %d, %+v; want 409, nothing stored", status, rep)
		}
		wantRefusals(t, rep.Refused, Refusal{Line: 1, ID: eq.ID.String(), Status: http.StatusConflict, Error: "equivocation: seq 2"})
		if forks, err := srv.l.Forks(feedOf(t, compliance)); err != nil || len(forks) != 0 {
			t.Errorf("the server's compliance feed is forked: %v, %v", forks, err)
		}

		// Two entries at one new seq in one push: the first is kept.
		mlops := d.keys["mlops"]
		a, b := signAfter(t, mlops, nil, `{"n":1}`, at), signAfter(t, mlops, nil, `{"n":2}`, at)
		status, rep = postEntries(t, srv.url, lines(a.MarshalLine(), b.MarshalLine()))
		if status != http.StatusConflict || rep.Accepted != 1 {
			t.Errorf("two entries at one seq: status %d, %+v; want 409, one stored", status, rep)
		}
		wantRefusals(t, rep.Refused, Refusal{Line: 2, ID: b.ID.String(), Status: http.StatusConflict, Error: "in this push"})
		if _, err := srv.l.Get(a.ID); err != nil {
			t.Errorf("the first of the two: %v", err)
		}
		if _, err := srv.l.Get(b.ID); err == nil {
			t.Error("the second of the two was stored")
		}
	})

	t.Run("malformed/400", func(t *testing.T) {
		for _, body := range []string{"not json\n", "\n\n{\"payload\":\"\n", `{"payload":"AAAA","signature":"AAAA"}` + "\n", `{"blob":"!!"}` + "\n"} {
			status, rep := postEntries(t, srv.url, []byte(body))
			line := strings.Count(strings.TrimRight(body, "\n"), "\n") + 1
			if status != http.StatusBadRequest || rep.Accepted != 0 || rep.Error == "" {
				t.Errorf("%q: status %d, %+v; want 400", body, status, rep)
			}
			wantRefusals(t, rep.Refused, Refusal{Line: line, Status: http.StatusBadRequest})
		}
	})

	clinician := d.keys["clinician"]
	clinicianNext := signAfter(t, clinician, headOf(t, home, clinician), `{"note":"reviewed"}`, at)

	t.Run("bad signature/400", func(t *testing.T) {
		status, rep := postEntries(t, srv.url, lines(badSignature(t, clinicianNext)))
		if status != http.StatusBadRequest || rep.Accepted != 0 {
			t.Errorf("status %d, %+v; want 400", status, rep)
		}
		wantRefusals(t, rep.Refused, Refusal{Line: 1, ID: clinicianNext.ID.String(), Status: http.StatusBadRequest, Error: "does not verify"})
		if _, err := srv.l.Get(clinicianNext.ID); err == nil {
			t.Error("an entry whose signature does not verify was stored")
		}
	})

	t.Run("too large/413", func(t *testing.T) {
		// Declared too large: refused before the body is read.
		addr := srv.http.Listener.Addr().String()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		fmt.Fprintf(conn, "POST /v1/entries HTTP/1.1\r\nHost: %s\r\nContent-Type: application/jsonl\r\nContent-Length: %d\r\n\r\n", addr, MaxPush+1)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		rep := decodePushReply(t, resp)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(rep.Error, "at most") {
			t.Errorf("Content-Length %d: %s, %+v; want 413", MaxPush+1, resp.Status, rep)
		}

		// Streamed, of no declared length: refused once it runs over.
		resp, err = http.Post(srv.url+"/v1/entries", "application/jsonl", io.LimitReader(endlessZeros{}, MaxPush+1))
		if err != nil {
			t.Fatal(err)
		}
		rep = decodePushReply(t, resp)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(rep.Error, "at most") {
			t.Errorf("a streamed body of %d bytes: %s, %+v; want 413", MaxPush+1, resp.Status, rep)
		}
	})

	owner := d.keys["owner"]
	ownerNext := signAfter(t, owner, headOf(t, home, owner), `{"note":"rollback rehearsed"}`, at)
	strangerEntry := signAfter(t, stranger(t), nil, `{}`, at)
	evidence := []byte("a new evidence file, pushed with the entries")
	mixed := lines(ownerNext.MarshalLine(), []byte("{not json"), strangerEntry.MarshalLine(), clinicianNext.MarshalLine(), ledger.BlobLine(evidence))

	t.Run("mixed", func(t *testing.T) {
		before := len(entrySet(t, srv.l))
		status, rep := postEntries(t, srv.url, mixed)
		if status != http.StatusBadRequest || rep.Accepted != 2 || rep.Held != 0 || rep.Blobs != 0 {
			t.Errorf("status %d, %+v; want 400 (the worst refusal), 2 entries stored", status, rep)
		}
		// The blob is evidence of no request: anyone could send it, so it
		// is refused rather than left to fill the store.
		wantRefusals(t, rep.Refused,
			Refusal{Line: 2, Status: http.StatusBadRequest},
			Refusal{Line: 3, ID: strangerEntry.ID.String(), Status: http.StatusForbidden, Error: "not admitted"},
			Refusal{Line: 5, Status: http.StatusForbidden, Error: "evidence of no request"})
		if !strings.Contains(rep.Error, "3 lines refused (2 entries stored, 0 held already, 0 blobs stored); first: line 2") {
			t.Errorf("the reply's error: %q", rep.Error)
		}
		want := map[string]uint64{ownerNext.Feed.String(): ownerNext.Seq, clinicianNext.Feed.String(): clinicianNext.Seq}
		if !maps.Equal(rep.Heads, want) {
			t.Errorf("heads %v, want %v", rep.Heads, want)
		}
		for _, id := range []ledger.ID{ownerNext.ID, clinicianNext.ID} {
			if _, err := srv.l.Get(id); err != nil {
				t.Errorf("a good line was not kept: %v", err)
			}
		}
		if srv.l.HasBlob(ledger.BlobDigest(evidence)) {
			t.Error("a blob no request carries was kept")
		}
		if n := len(entrySet(t, srv.l)); n != before+2 {
			t.Errorf("the server holds %d entries, want %d", n, before+2)
		}
	})

	t.Run("idempotent", func(t *testing.T) {
		entries, blobs := entrySet(t, srv.l), blobSet(t, srv.l)
		status, rep := postEntries(t, srv.url, mixed)
		if status != http.StatusBadRequest || rep.Accepted != 0 || rep.Held != 2 || rep.Blobs != 0 {
			t.Errorf("the mixed push again: status %d, %+v; want 400, 2 held, nothing added", status, rep)
		}
		wantRefusals(t, rep.Refused, Refusal{Line: 2, Status: 400}, Refusal{Line: 3, Status: 403}, Refusal{Line: 5, Status: 403})

		status, rep = postEntries(t, srv.url, d.export)
		if status != http.StatusOK || rep.Accepted != 0 || rep.Held != d.entries || rep.Blobs != d.blobs || len(rep.Refused) != 0 || rep.Error != "" {
			t.Errorf("the demo again: status %d, %+v; want 200, %d held", status, rep, d.entries)
		}
		if !maps.Equal(entries, entrySet(t, srv.l)) || !maps.Equal(blobs, blobSet(t, srv.l)) {
			t.Error("pushing again changed what the server holds")
		}
	})
}

// demoOrder splits the demo export into its blob lines, the admin's
// governance entries, and everyone else's entries.
func demoOrder(t *testing.T, d *demoFixture) (blobs, admin, members [][]byte) {
	t.Helper()
	adminFeed := feedOf(t, d.keys["admin"])
	for _, raw := range bytes.Split(bytes.TrimRight(d.export, "\n"), []byte("\n")) {
		if _, ok, _ := ledger.ParseBlobLine(raw); ok {
			blobs = append(blobs, raw)
			continue
		}
		e, err := ledger.ParseLine(raw)
		if err != nil {
			t.Fatal(err)
		}
		if e.Feed == adminFeed {
			admin = append(admin, raw)
		} else {
			members = append(members, raw)
		}
	}
	if len(admin) != 3 || len(members) == 0 || len(blobs) != d.blobs {
		t.Fatalf("the demo export: %d admin entries, %d others, %d blobs", len(admin), len(members), len(blobs))
	}
	return blobs, admin, members
}

// TestServeBootstrap: a server with an empty ledger takes the whole demo
// ledger in one push, the root's adoption, the keyring and the members'
// entries together, even with the governance last; without the
// governance, or trusting another root, it takes no entry.
func TestServeBootstrap(t *testing.T) {
	d := loadDemo(t)
	blobs, admin, members := demoOrder(t, d)

	srv := startServer(t, openBare(t), nil, d.anchor)
	status, rep := postEntries(t, srv.url, lines(members...))
	if status != http.StatusForbidden || rep.Accepted != 0 || len(rep.Refused) != len(members) {
		t.Errorf("the members' entries alone: status %d, %+v; want 403, each refused", status, rep)
	}
	for _, f := range rep.Refused {
		if f.Status != http.StatusForbidden || !strings.Contains(f.Error, "no trusted root yet") && !strings.Contains(f.Error, "which was refused") {
			t.Errorf("refusal %+v; want 403: no trusted root yet, or follows a line refused", f)
		}
	}

	body := lines(slices.Concat(blobs, members, admin)...)
	status, rep = postEntries(t, srv.url, body)
	if status != http.StatusOK || rep.Accepted != d.entries || rep.Held != 0 || rep.Blobs != d.blobs || len(rep.Refused) != 0 {
		t.Fatalf("the whole demo, governance last: status %d, %+v; want 200, %d accepted", status, rep, d.entries)
	}
	if got, want := entrySet(t, srv.l), entrySet(t, demoHome(t)); !maps.Equal(got, want) {
		t.Errorf("the server holds %d entries, the demo %d", len(got), len(want))
	}
	if _, err := policy.LoadTrust(srv.l, d.anchor, serveNow); err != nil {
		t.Errorf("the server's governance: %v", err)
	}

	other := startServer(t, openBare(t), nil, "sha256:"+strings.Repeat("ab", 32))
	status, rep = postEntries(t, other.url, d.export)
	if status != http.StatusForbidden || rep.Accepted != 0 || rep.Blobs != 0 || len(rep.Refused) != d.entries+d.blobs {
		t.Errorf("a server trusting another root: status %d, %+v; want 403, each entry and blob refused", status, rep)
	}
	if n := len(entrySet(t, other.l)); n != 0 {
		t.Errorf("a server trusting another root stored %d entries", n)
	}
}

// TestServeConcurrentHomes: eight homes, each with comments by its own
// member, sync with one new server at once; after a second round every
// home holds what the server holds.
func TestServeConcurrentHomes(t *testing.T) {
	ctx := context.Background()
	d := loadDemo(t)
	srv := startServer(t, openBare(t), nil, d.anchor)
	names := []string{"risk-officer", "compliance", "clinician", "owner", "mlops", "alice", "bob", "carol"}
	const each = 3
	homes := make([]*ledger.Ledger, len(names))
	states := make([]State, len(names))
	for i, name := range names {
		homes[i] = demoHome(t)
		comment(t, homes[i], d.keys[name], each, demoNow.Add(time.Duration(i)*time.Minute))
	}
	var wg stdsync.WaitGroup
	for i := range homes {
		wg.Go(func() {
			res, err := SyncEndpoint(ctx, homes[i], srv.ep, &states[i], loadDemo(t).anchor)
			if err != nil {
				t.Errorf("home %d: %v", i, err)
			} else if len(res.Refused) != 0 {
				t.Errorf("home %d: refused %q", i, res.Refused)
			}
		})
	}
	wg.Wait()
	for i, l := range homes {
		if _, err := SyncEndpoint(ctx, l, srv.ep, &states[i], loadDemo(t).anchor); err != nil {
			t.Fatalf("home %d, again: %v", i, err)
		}
	}
	want := entrySet(t, srv.l)
	if len(want) != d.entries+len(names)*each {
		t.Errorf("the server holds %d entries, want %d", len(want), d.entries+len(names)*each)
	}
	for i, l := range homes {
		if got := entrySet(t, l); !maps.Equal(got, want) {
			t.Errorf("home %d holds %d entries, the server %d", i, len(got), len(want))
		}
		if got := blobSet(t, l); len(got) != d.blobs {
			t.Errorf("home %d holds %d blobs, want %d", i, len(got), d.blobs)
		}
	}
	rep, err := srv.l.Verify(ctx, ledger.VerifyOptions{Full: true})
	if err != nil || !rep.OK() {
		t.Errorf("the server's ledger: %+v, %v", rep, err)
	}
}

// bucketEntries reads every batch of the store's log and counts each
// entry id and blob digest it holds.
func bucketEntries(t *testing.T, s Store) (entries map[ledger.ID]int, blobs map[string]int) {
	t.Helper()
	ctx := context.Background()
	entries, blobs = map[ledger.ID]int{}, map[string]int{}
	names, err := s.List(ctx, "log/", "", listPage)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		data, err := s.Get(ctx, name, maxBatch)
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n")) {
			if b, ok, err := ledger.ParseBlobLine(raw); ok && err == nil {
				blobs[ledger.BlobDigest(b)]++
			} else if e, err := ledger.ParseLine(raw); err == nil {
				entries[e.ID]++
			} else {
				t.Errorf("%s holds a bad line: %v", name, err)
			}
		}
	}
	return entries, blobs
}

// TestServeTwoServersOneBucket: two servers with their own caches on one
// S3 bucket behave as one: what one acknowledges the other shows at
// once, concurrent pushes to both land, and the bucket holds each entry
// once.
func TestServeTwoServersOneBucket(t *testing.T) {
	ctx := context.Background()
	d := loadDemo(t)
	s3srv := s3test.Start(t)
	s3srv.Setenv(t)
	store := bucketStore(t, s3srv, "team")
	a := startServer(t, openBare(t), store(), d.anchor)
	b := startServer(t, openBare(t), store(), d.anchor)

	home := demoHome(t)
	var st State
	if res, err := SyncEndpoint(ctx, home, a.ep, &st, loadDemo(t).anchor); err != nil || res.Pushed != d.entries {
		t.Fatalf("pushing the demo to server A: %+v, %v", res, err)
	}
	var hs Heads
	if status := getJSON(t, b.url, "/v1/heads", &hs); status != http.StatusOK {
		t.Fatalf("GET /v1/heads on server B: %d", status)
	}
	got := map[string]uint64{}
	for _, h := range hs.Feeds {
		got[h.Feed] = h.Seq
	}
	if want := headSet(t, home); !maps.Equal(got, want) || hs.Blobs != d.blobs {
		t.Errorf("server B shows heads %v and %d blobs; server A was given %v and %d", got, hs.Blobs, want, d.blobs)
	}

	// Two homes, each with its own member's comments, push at once, one
	// to each server.
	h1, h2 := demoHome(t), demoHome(t)
	comment(t, h1, d.keys["compliance"], 4, serveNow)
	comment(t, h2, d.keys["clinician"], 4, serveNow)
	var st1, st2 State
	var wg stdsync.WaitGroup
	for _, x := range []struct {
		l  *ledger.Ledger
		ep *Endpoint
		st *State
	}{{h1, a.ep, &st1}, {h2, b.ep, &st2}} {
		wg.Go(func() {
			if res, err := SyncEndpoint(ctx, x.l, x.ep, x.st, loadDemo(t).anchor); err != nil || res.Pushed != 4 || len(res.Refused) != 0 {
				t.Errorf("a concurrent push to %s: %+v, %v", x.ep, res, err)
			}
		})
	}
	wg.Wait()
	// Each home now syncs with the other server.
	if _, err := SyncEndpoint(ctx, h1, b.ep, &State{}, loadDemo(t).anchor); err != nil {
		t.Fatal(err)
	}
	if _, err := SyncEndpoint(ctx, h2, a.ep, &State{}, loadDemo(t).anchor); err != nil {
		t.Fatal(err)
	}
	want := entrySet(t, h1)
	if len(want) != d.entries+8 {
		t.Errorf("home 1 holds %d entries, want %d", len(want), d.entries+8)
	}
	// A third server, new on the bucket, catches up as it starts.
	c := startServer(t, openBare(t), store(), d.anchor)
	for name, l := range map[string]*ledger.Ledger{"home 2": h2, "server A": a.l, "server B": b.l, "server C": c.l} {
		if got := entrySet(t, l); !maps.Equal(got, want) {
			t.Errorf("%s holds %d entries, home 1 %d", name, len(got), len(want))
		}
	}

	entries, blobs := bucketEntries(t, store())
	for id := range want {
		if entries[id] != 1 {
			t.Errorf("entry %s is in the bucket %d times, want once", id.Short(), entries[id])
		}
	}
	if len(entries) != len(want) {
		t.Errorf("the bucket holds %d entries, want %d", len(entries), len(want))
	}
	for digest, n := range blobs {
		if n != 1 {
			t.Errorf("blob %s is in the bucket %d times, want once", digest, n)
		}
	}
	if len(blobs) != d.blobs {
		t.Errorf("the bucket holds %d blobs, want %d", len(blobs), d.blobs)
	}
}

// TestServeVerdict: GET /v1/verdict says what policy.Judge says of the
// same ledger, query and time; and the other endpoints answer in JSON.
func TestServeVerdict(t *testing.T) {
	d := loadDemo(t)
	srv := startServer(t, demoHome(t), nil, d.anchor)
	home := demoHome(t)
	at := serveNow

	// Judging takes seconds: the server's two verdicts and the one here
	// run at once.
	bundle := ""
	err := home.Entries(ledger.Query{Kind: policy.KindRequest}, func(e *ledger.Entry) error {
		if r, err := policy.ReadRecord(e); err == nil && r.Body.Subject != nil && r.Body.Subject.Model == "credit-risk" {
			bundle = r.Body.Subject.Bundle
		}
		return nil
	})
	if err != nil || bundle == "" {
		t.Fatalf("the demo's request for credit-risk: %q, %v", bundle, err)
	}
	queries := []url.Values{
		{"model": {"credit-risk"}, "version": {"7"}, "to": {"production"}, "at": {at.Format(time.RFC3339)}},
		{"subject": {bundle[:len("sha256:")+12]}, "to": {"production"}}, // a prefix, judged at the server's now
	}
	got := make([]any, len(queries))
	var wg stdsync.WaitGroup
	for i, q := range queries {
		wg.Go(func() {
			if status := getJSON(t, srv.url, "/v1/verdict?"+q.Encode(), &got[i]); status != http.StatusOK {
				t.Errorf("%s: status %d: %v", q.Encode(), status, got[i])
			}
		})
	}
	trust, err := policy.LoadTrust(home, d.anchor, at)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := policy.FindBundle(home, "credit-risk", "7", "production", trust, at); err != nil || b != bundle {
		t.Fatalf("FindBundle: %q, %v; want %s", b, err, bundle)
	}
	v, err := policy.Judge(home, policy.Query{Bundle: bundle, To: "production", At: at, Anchor: d.anchor, Trust: trust})
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if v.Subject.Model != "credit-risk" || v.Subject.Version != "7" || v.Approved || len(v.Reasons) == 0 {
		t.Fatalf("the demo's credit-risk v7 should wait for risk: %+v", v)
	}
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var want any
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	for i, q := range queries {
		if !reflect.DeepEqual(got[i], want) {
			g, _ := json.Marshal(got[i])
			t.Errorf("%s:\n got %s\nwant %s", q.Encode(), g, data)
		}
	}

	for _, c := range []struct {
		path   string
		status int
		says   string
	}{
		{"/v1/verdict?model=credit-risk&version=7", http.StatusBadRequest, "to="},
		{"/v1/verdict?to=production", http.StatusBadRequest, "subject="},
		{"/v1/verdict?subject=" + bundle + "&model=credit-risk&version=7&to=production", http.StatusBadRequest, "subject="},
		{"/v1/verdict?subject=" + bundle + "&to=production&at=yesterday", http.StatusBadRequest, "RFC 3339"},
		{"/v1/verdict?subject=sha256:" + strings.Repeat("0", 64) + "&to=production", http.StatusNotFound, "no entry"},
		{"/v1/verdict?model=credit-risk&version=99&to=production", http.StatusNotFound, "no request"},
		{"/v1/nowhere", http.StatusNotFound, "no such endpoint"},
		{"/v1/blobs/sha256:" + strings.Repeat("0", 64), http.StatusNotFound, "no blob"},
		{"/v1/blobs/nonsense", http.StatusBadRequest, "not a sha256"},
		{"/v1/entries?feed=nonsense", http.StatusBadRequest, "feed="},
	} {
		var e apiError
		if status := getJSON(t, srv.url, c.path, &e); status != c.status || !strings.Contains(e.Error, c.says) {
			t.Errorf("GET %s: %d %q; want %d and an error saying %q", c.path, status, e.Error, c.status, c.says)
		}
	}
	// Asked of a time before the root was adopted: not approved, with the
	// reason, as signoff verify says.
	var early policy.Verdict
	if status := getJSON(t, srv.url, "/v1/verdict?model=credit-risk&version=7&to=production&at=1900-01-01T00:00:00Z", &early); status != http.StatusOK ||
		early.Approved || len(early.Reasons) != 1 || !strings.Contains(early.Reasons[0], "not yet adopted then") {
		t.Errorf("a verdict before the root: %d %+v", status, early)
	}
	for path, want := range map[string]string{"/v1/health": "ok", "/v1/ready": "ready"} {
		var got map[string]string
		if status := getJSON(t, srv.url, path, &got); status != http.StatusOK || got["status"] != want {
			t.Errorf("GET %s: %d %v", path, status, got)
		}
	}

	// A server that holds no trusted root has no verdict to give.
	empty := startServer(t, openBare(t), nil, d.anchor)
	var e apiError
	if status := getJSON(t, empty.url, "/v1/verdict?subject="+bundle+"&to=production", &e); status != http.StatusNotFound {
		t.Errorf("a server without the root: %d %q; want 404", status, e.Error)
	}
}

// TestServeRollbackSeen: a home that synced with one server and is then
// pointed, with the same state, at an emptier one reports a rollback
// and changes nothing.
func TestServeRollbackSeen(t *testing.T) {
	ctx := context.Background()
	d := loadDemo(t)
	home := demoHome(t)
	full := startServer(t, openBare(t), nil, d.anchor)
	var st State
	if _, err := SyncEndpoint(ctx, home, full.ep, &st, loadDemo(t).anchor); err != nil {
		t.Fatal(err)
	}

	// The emptier server holds the governance only, and an entry the
	// home lacks, which must not reach it.
	blobs, admin, members := demoOrder(t, d)
	gov := openBare(t)
	if _, err := gov.Import(bytes.NewReader(lines(admin...)), ledger.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	extra, err := gov.Append(d.keys["mlops"], "comment", []byte(`{"n":1}`), serveNow)
	if err != nil {
		t.Fatal(err)
	}
	// And one with every entry but fewer blobs.
	noBlobs := openBare(t)
	if _, err := noBlobs.Import(bytes.NewReader(lines(slices.Concat(blobs[1:], admin, members)...)), ledger.ImportOptions{}); err != nil {
		t.Fatal(err)
	}

	for name, l := range map[string]*ledger.Ledger{"fewer entries": gov, "fewer blobs": noBlobs} {
		other := startServer(t, l, nil, d.anchor)
		saved := cloneState(st)
		saved.BlobCount = st.BlobCount
		entries, blobs := entrySet(t, home), blobSet(t, home)
		_, err := SyncEndpoint(ctx, home, other.ep, &st, loadDemo(t).anchor)
		if !errors.Is(err, ErrRollback) {
			t.Errorf("%s: %v, want an error wrapping ErrRollback", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
		if !maps.Equal(entries, entrySet(t, home)) || !maps.Equal(blobs, blobSet(t, home)) {
			t.Errorf("%s: the home's ledger changed", name)
		}
		if !reflect.DeepEqual(saved, st) {
			t.Errorf("%s: the state changed: %+v, was %+v", name, st, saved)
		}
	}
	if _, err := home.Get(extra.ID); err == nil {
		t.Error("the home took an entry from the server that rolled back")
	}
}

// TestServeBackingForgedSeq: a line in the backing store that claims a
// member's feed at a high seq, but does not verify, is refused; it must
// not stop the server writing that member's later entries to the store.
// A server acknowledges a push only once it is in the log of record.
func TestServeBackingForgedSeq(t *testing.T) {
	ctx := context.Background()
	d := loadDemo(t)
	backing := DirStore{Root: t.TempDir()}
	compliance := d.keys["compliance"]

	// Someone with write access to the bucket adds a batch: the demo, and
	// a copy of a compliance entry whose seq was raised to 1000 (so its
	// signature no longer verifies).
	home := demoHome(t)
	orig := headOf(t, home, compliance)
	payload := bytes.Replace(orig.Payload, fmt.Appendf(nil, `"seq":%d,`, orig.Seq), []byte(`"seq":1000,`), 1)
	forged, err := ledger.ParseEntry(payload, orig.Signature)
	if err != nil || forged.Seq != 1000 || forged.Verify() == nil {
		t.Fatalf("the forged entry: %v", err)
	}
	if err := backing.PutNew(ctx, batchName(1), append(bytes.Clone(d.export), lines(forged.MarshalLine())...)); err != nil {
		t.Fatal(err)
	}

	a := startServer(t, openBare(t), backing, d.anchor)
	if n := len(entrySet(t, a.l)); n != d.entries {
		t.Fatalf("server A took %d entries from the store, want %d", n, d.entries)
	}
	next := signAfter(t, compliance, orig, `{"note":"after the forged line"}`, serveNow)
	status, rep := postEntries(t, a.url, lines(next.MarshalLine()))
	if status != http.StatusOK || rep.Accepted != 1 {
		t.Fatalf("the push: status %d, %+v", status, rep)
	}
	// Acknowledged: it must be in the store, where a second server on it
	// finds it.
	entries, _ := bucketEntries(t, backing)
	if entries[next.ID] != 1 {
		t.Errorf("server A acknowledged entry %s (compliance seq %d) but the store holds it %d times: the forged seq 1000 kept it out",
			next.ID.Short(), next.Seq, entries[next.ID])
	}
	b := startServer(t, openBare(t), backing, d.anchor)
	if _, err := b.l.Get(next.ID); err != nil {
		t.Errorf("server B, on the same store, lacks the entry server A acknowledged: %v", err)
	}
}

// TestServeEntries: GET /v1/entries gives a feed's entries after a seq,
// in order, and nothing after the head, however large the seq asked for.
func TestServeEntries(t *testing.T) {
	d := loadDemo(t)
	srv := startServer(t, demoHome(t), nil, d.anchor)
	feed := feedOf(t, d.keys["admin"]).String()
	for _, c := range []struct {
		after string
		seqs  []uint64
	}{
		{"", []uint64{1, 2, 3}},
		{"0", []uint64{1, 2, 3}},
		{"2", []uint64{3}},
		{"3", nil},
		{"9007199254740991", nil},     // the largest seq an entry can have
		{"18446744073709551615", nil}, // the largest a query can name
	} {
		q := url.Values{"feed": {feed}, "after": {c.after}}
		resp, err := http.Get(srv.url + "/v1/entries?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == http.StatusBadRequest && len(c.after) > 10 {
			continue // beyond any seq: refusing the query is as good
		}
		var seqs []uint64
		for _, raw := range bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n")) {
			if len(raw) == 0 {
				continue
			}
			e, err := ledger.ParseLine(raw)
			if err != nil {
				t.Fatalf("after=%s: a line of the reply: %v", c.after, err)
			}
			seqs = append(seqs, e.Seq)
		}
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Signoff-More") != "false" || !slices.Equal(seqs, c.seqs) {
			t.Errorf("after=%s: %s, Signoff-More %q, seqs %v; want 200, false, %v", c.after, resp.Status, resp.Header.Get("Signoff-More"), seqs, c.seqs)
		}
	}
}

// TestServeTwoServersOneFork: two servers on one bucket are offered the
// two sides of a fork at once, one each, eight times. As one server
// would, one answers 200 and the other 409, and the bucket's log holds
// every entry acknowledged and no fork.
func TestServeTwoServersOneFork(t *testing.T) {
	ctx := context.Background()
	d := loadDemo(t)
	s3srv := s3test.Start(t)
	s3srv.Setenv(t)
	store := bucketStore(t, s3srv, "fork")
	a := startServer(t, openBare(t), store(), d.anchor)
	b := startServer(t, openBare(t), store(), d.anchor)
	home := demoHome(t)
	if _, err := SyncEndpoint(ctx, home, a.ep, &State{}, loadDemo(t).anchor); err != nil {
		t.Fatal(err)
	}
	s := d.keys["compliance"]
	head := headOf(t, home, s)
	var winners []*ledger.Entry
	for round := range 8 {
		x := signAfter(t, s, head, fmt.Sprintf(`{"text":"x%d"}`, round), serveNow)
		y := signAfter(t, s, head, fmt.Sprintf(`{"text":"y%d"}`, round), serveNow)
		var wg stdsync.WaitGroup
		var sx, sy int
		wg.Go(func() { sx, _ = postEntries(t, a.url, lines(x.MarshalLine())) })
		wg.Go(func() { sy, _ = postEntries(t, b.url, lines(y.MarshalLine())) })
		wg.Wait()
		switch {
		case sx == http.StatusOK && sy == http.StatusConflict:
			head = x
		case sy == http.StatusOK && sx == http.StatusConflict:
			head = y
		default:
			t.Fatalf("round %d: A answered %d for x, B %d for y; want one 200 and one 409", round, sx, sy)
		}
		winners = append(winners, head)
	}
	// A new server reads the bucket: it holds each winner, no fork.
	c := startServer(t, openBare(t), store(), d.anchor)
	for _, w := range winners {
		if _, err := c.l.Get(w.ID); err != nil {
			t.Errorf("a new server lacks an entry a server acknowledged: %v", err)
		}
	}
	if fs, err := c.l.Forks(feedOf(t, s)); err != nil || len(fs) != 0 {
		t.Errorf("the bucket's log forks the feed: %v, %v", fs, err)
	}
}

// bucketStore makes a bucket on srv and returns a maker of stores on it
// under prefix, one per server.
func bucketStore(t *testing.T, srv *s3test.Server, prefix string) func() *S3Store {
	t.Helper()
	bucket, err := srv.Bucket("approvals")
	if err != nil {
		t.Fatal(err)
	}
	return func() *S3Store {
		s, err := NewS3(context.Background(), "s3://"+bucket+"/"+prefix, S3Options{Endpoint: srv.Endpoint})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}
