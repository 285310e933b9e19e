package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	stdsync "sync"
	"syscall"
	"testing"
	"time"

	"github.com/signoff-dev/signoff/ledger"
	ssync "github.com/signoff-dev/signoff/sync"
	"github.com/signoff-dev/signoff/sync/s3test"
)

// faultHome makes a demo workspace (with the built binary: the race
// detector would make it slow) in which the owner's home holds n more
// comments than the others, so that pushing them takes a while.
func faultHome(t *testing.T, bin string, n int) (dir, home string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "d")
	if out, err := exec.Command(bin, "demo", "--dir", dir).CombinedOutput(); err != nil {
		t.Fatalf("signoff demo: %v\n%s", err, out)
	}
	home = filepath.Join(dir, "signers", "owner")
	if out, err := exec.Command(bin, "--home", home, "comment", "--text", "first").CombinedOutput(); err != nil {
		t.Fatalf("signoff comment: %v\n%s", err, out)
	}
	s, err := ledger.LoadKeyFile(filepath.Join(home, "keys", "id_ed25519"), nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(filepath.Join(home, "ledger"))
	if err != nil {
		t.Fatal(err)
	}
	last := headOfFeed(t, l, s)
	l.Close()
	var buf bytes.Buffer
	for i := range n {
		e, err := ledger.SignEntry(s, ledger.Header{Kind: "comment", Seq: last.Seq + 1, Prev: last.ID,
			Time: last.Time.Add(time.Millisecond), Body: fmt.Appendf(nil, `{"text":"note %d of a long review, padded to look like one %s"}`, i, strings.Repeat("x", 200))})
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(e.MarshalLine())
		buf.WriteByte('\n')
		last = e
	}
	file := filepath.Join(t.TempDir(), "more.jsonl")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "--home", home, "import", file).CombinedOutput(); err != nil {
		t.Fatalf("signoff import: %v\n%s", err, out)
	}
	return dir, home
}

// headOfFeed is the newest entry of s's feed in l.
func headOfFeed(t *testing.T, l *ledger.Ledger, s ledger.Signer) *ledger.Entry {
	t.Helper()
	var last *ledger.Entry
	if err := l.FeedEntries(ledger.FeedOf(s.PublicKey().Marshal()), 0, func(e *ledger.Entry) error { last = e; return nil }); err != nil {
		t.Fatal(err)
	}
	if last == nil {
		t.Fatal("the feed is empty")
	}
	return last
}

// feedSeqs reads a home's ledger: its entry count and the head seq of
// each feed.
func feedSeqs(t *testing.T, home string) (int, map[string]uint64) {
	t.Helper()
	l, err := ledger.Open(filepath.Join(home, "ledger"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	n := 0
	if err := l.Entries(ledger.Query{}, func(*ledger.Entry) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	hs, err := l.Heads()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	for _, h := range hs {
		if len(h.IDs) != 1 {
			t.Errorf("feed %s is forked at its head", h.Feed)
		}
		out[h.Feed.String()] = h.Seq
	}
	return n, out
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// watchWriter signals when what is written to it contains a string.
type watchWriter struct {
	mu   stdsync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.seen != nil && strings.Contains(w.buf.String(), w.want) {
		close(w.seen)
		w.seen = nil
	}
	return len(p), nil
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// startServe runs signoff serve and waits until it is ready. The
// channel is closed when the server logs that a push arrived.
func startServe(t *testing.T, bin string, args ...string) (*exec.Cmd, <-chan struct{}) {
	t.Helper()
	addr := args[1]
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	log := &watchWriter{want: "push received", seen: make(chan struct{})}
	pushed := log.seen
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := http.Get("http://" + addr + "/v1/ready")
		if err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return cmd, pushed
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not become ready: %v\n%s", err, log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// killDuring runs a sync and kills victim once when is closed. It
// reports whether the sync failed (the kill came mid-sync).
func killDuring(t *testing.T, sync *exec.Cmd, victim func(), when <-chan struct{}) (failed bool, out string) {
	t.Helper()
	var buf bytes.Buffer
	sync.Stdout, sync.Stderr = &buf, &buf
	if err := sync.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sync.Wait() }()
	select {
	case err := <-done:
		return err != nil, buf.String()
	case <-when:
	}
	victim()
	err := <-done
	return err != nil, buf.String()
}

// TestServeKilledMidPush: signoff serve is killed (SIGKILL) while a home
// pushes 8,000 entries to it. Restarted on the same store, the
// next sync finishes: the server then holds every entry once, none lost,
// none doubled, and its feeds are not forked.
func TestServeKilledMidPush(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary, signs 8,000 entries")
	}
	bin := buildBinary(t)
	dir, home := faultHome(t, bin, 8000)
	root := strings.TrimSpace(readFile(t, filepath.Join(dir, "root.pin")))
	store := filepath.Join(t.TempDir(), "srv")
	addr := freeAddr(t)
	// SIGKILL as soon as the server has read the push, while it checks
	// and stores it.
	srv, pushed := startServe(t, bin, "--listen", addr, "--store", store, "--root", root)
	sync := exec.Command(bin, "--home", home, "sync", "http://"+addr)
	failed, out := killDuring(t, sync, func() { srv.Process.Signal(syscall.SIGKILL); srv.Wait() }, pushed)
	t.Logf("killed while storing a push: sync failed=%v: %s", failed, strings.TrimSpace(out))
	if !failed {
		t.Fatal("the sync finished: the push was never interrupted")
	}
	if !strings.Contains(out, "cannot reach the server") && !strings.Contains(out, "the connection broke") {
		t.Errorf("the failed sync's message does not say what happened: %s", out)
	}
	startServe(t, bin, "--listen", addr, "--store", store)
	again, err := exec.Command(bin, "--home", home, "sync", "http://"+addr, "--json").CombinedOutput()
	if err != nil {
		t.Fatalf("the sync after the restart: %v\n%s", err, again)
	}
	var res ssync.Result
	if err := json.Unmarshal(again, &res); err != nil {
		t.Fatal(err)
	}
	t.Logf("after the restart: pushed %d, pulled %d, refused %d, %d requests", res.Pushed, res.Pulled, len(res.Refused), res.Requests)
	// The server's heads are the home's; its feeds hold each seq once.
	r, err := http.Get("http://" + addr + "/v1/heads")
	if err != nil {
		t.Fatal(err)
	}
	var hs ssync.Heads
	json.NewDecoder(r.Body).Decode(&hs)
	r.Body.Close()
	want, seqs := feedSeqs(t, home)
	got := 0
	for _, h := range hs.Feeds {
		if seqs[h.Feed] != h.Seq || len(h.IDs) != 1 {
			t.Errorf("feed %s: server head %d (%d ids), home %d", h.Feed, h.Seq, len(h.IDs), seqs[h.Feed])
		}
		got += countFeed(t, addr, h.Feed, h.Seq)
	}
	if got != want || len(hs.Feeds) != len(seqs) {
		t.Errorf("the server holds %d entries in %d feeds; the home %d in %d", got, len(hs.Feeds), want, len(seqs))
	}
}

// countFeed pulls a feed from a server, checking each seq comes once.
func countFeed(t *testing.T, addr, feed string, head uint64) int {
	t.Helper()
	n, after := 0, uint64(0)
	for after < head {
		r, err := http.Get(fmt.Sprintf("http://%s/v1/entries?feed=%s&after=%d", addr, url.QueryEscape(feed), after))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(r.Body)
		sc.Buffer(nil, 4<<20)
		for sc.Scan() {
			e, err := ledger.ParseLine(sc.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if e.Seq != after+1 {
				t.Fatalf("feed %s: seq %d after %d", feed, e.Seq, after)
			}
			after = e.Seq
			n++
		}
		r.Body.Close()
	}
	return n
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestS3KilledMidPush: the S3 server is killed while a home pushes to a
// bucket. The sync fails with a clear message; once the server is back,
// the next sync finishes, and the bucket's log holds every entry exactly
// once.
func TestS3KilledMidPush(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary, signs 8,000 entries, runs an S3 server")
	}
	bin := buildBinary(t)
	_, home := faultHome(t, bin, 8000)
	srv := s3test.Start(t)
	if _, err := srv.Bucket("approvals"); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), srv.Env()...)
	// The sync talks to the S3 server through a proxy on loopback that
	// watches for the batch's PUT: the server is killed as that request
	// starts, while its body is on the way.
	putSeen := make(chan struct{})
	proxy := watchProxy(t, strings.TrimPrefix(srv.Endpoint, "http://"), []byte("PUT /approvals/p/log/"), putSeen)
	env = append(env, "AWS_ENDPOINT_URL=http://"+proxy)
	prefix := "s3://approvals/p"
	sync := exec.Command(bin, "--home", home, "sync", prefix)
	sync.Env = env
	failed, out := killDuring(t, sync, srv.Stop, putSeen)
	t.Logf("killed as the batch's PUT began: sync failed=%v: %s", failed, strings.TrimSpace(out))
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	killed := failed
	if failed && !strings.Contains(out, "the connection to the store broke") && !strings.Contains(out, "cannot reach the store") {
		t.Errorf("the failed sync's message does not say what happened: %s", out)
	}
	if !killed {
		t.Fatal("the sync finished: the push was never interrupted")
	}
	sync = exec.Command(bin, "--home", home, "sync", prefix)
	sync.Env = env
	if out, err := sync.CombinedOutput(); err != nil {
		t.Fatalf("the sync after the restart: %v\n%s", err, out)
	}
	// Every entry of the home is in the bucket's log exactly once.
	srv.Setenv(t)
	store, err := ssync.NewS3(context.Background(), prefix, ssync.S3Options{})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	names, err := store.List(context.Background(), "log/", "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		data, err := store.Get(context.Background(), name, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
			if e, err := ledger.ParseLine(line); err == nil {
				ids[e.ID.String()]++
			}
		}
	}
	want, _ := feedSeqs(t, home)
	doubled := 0
	for _, n := range ids {
		if n > 1 {
			doubled++
		}
	}
	if len(ids) != want || doubled > 0 {
		t.Errorf("the bucket holds %d distinct entries (%d more than once) in %d batches; the home %d", len(ids), doubled, len(names), want)
	}
	t.Logf("%d entries in %d batches, none doubled", len(ids), len(names))
}

// watchProxy forwards loopback connections to upstream and closes seen
// the first time a client sends want.
func watchProxy(t *testing.T, upstream string, want []byte, seen chan struct{}) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var once stdsync.Once
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				u, err := net.Dial("tcp", upstream)
				if err != nil {
					return
				}
				defer u.Close()
				go func() { io.Copy(c, u); c.Close() }()
				buf := make([]byte, 64<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						if bytes.Contains(buf[:n], want) {
							once.Do(func() { close(seen) })
						}
						if _, err := u.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}
