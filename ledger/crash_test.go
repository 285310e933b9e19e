//go:build unix

package ledger

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The crash test kills a process that is appending to a ledger at random
// moments, with SIGKILL, and checks after each kill that the ledger opens,
// verifies, and holds every entry whose Append had returned.

const (
	crashEnvDir   = "SIGNOFF_CRASH_HELPER_LEDGER"
	crashEnvKey   = "SIGNOFF_CRASH_HELPER_KEY"
	crashEnvRound = "SIGNOFF_CRASH_HELPER_ROUND"
	crashAck      = "ack "
)

// TestCrashHelper is the child process of TestCrash, not a test: with the
// environment TestCrash sets, it appends comments to a ledger until it is
// killed, printing each entry's id once Append has returned.
func TestCrashHelper(t *testing.T) {
	dir := os.Getenv(crashEnvDir)
	if dir == "" {
		t.Skip("helper process for TestCrash")
	}
	fail := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "crash helper: "+format+"\n", args...)
		os.Exit(3)
	}
	s, err := LoadKeyFile(os.Getenv(crashEnvKey), nil)
	if err != nil {
		fail("%v", err)
	}
	l, err := Open(dir)
	if err != nil {
		fail("%v", err)
	}
	round := os.Getenv(crashEnvRound)
	for i := 0; ; i++ {
		body := fmt.Sprintf(`{"text":"round %s comment %d"}`, round, i)
		e, err := l.Append(s, "comment", []byte(body), time.Now())
		if err != nil {
			fail("append %d: %v", i, err)
		}
		// os.Stdout is unbuffered: one write per line, so the parent has
		// the line as soon as the write returns.
		if _, err := fmt.Fprintf(os.Stdout, "%s%s %d\n", crashAck, e.ID, e.Seq); err != nil {
			fail("write: %v", err)
		}
	}
}

type crashAckRec struct {
	id  ID
	seq uint64
}

// TestCrash runs rounds of a child process appending to one ledger and
// SIGKILLs it 20 to 300 ms after its first acknowledged append.
func TestCrash(t *testing.T) {
	const rounds = 10
	dir := t.TempDir()
	ledgerDir := filepath.Join(dir, "ledger")
	keyPath := filepath.Join(dir, "keys", "id_ed25519")
	pub, err := GenerateKeyFile(keyPath, "crash@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	feed := FeedOf(pub.Marshal())
	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))

	var all []crashAckRec // every acknowledged entry, over all rounds
	var head uint64
	start := time.Now()
	for round := range rounds {
		delay := time.Duration(20+rng.IntN(281)) * time.Millisecond
		acks := crashRound(t, round, ledgerDir, keyPath, delay)
		if len(acks) == 0 {
			t.Fatalf("round %d: no append was acknowledged", round)
		}
		// The child continued the feed from where the last round left it.
		if acks[0].seq != head+1 {
			t.Fatalf("round %d: first acknowledged seq %d, want %d (head after the last round is %d)", round, acks[0].seq, head+1, head)
		}
		for i := 1; i < len(acks); i++ {
			if acks[i].seq != acks[i-1].seq+1 {
				t.Fatalf("round %d: acknowledged seq %d after %d", round, acks[i].seq, acks[i-1].seq)
			}
		}
		all = append(all, acks...)

		l, err := Open(ledgerDir)
		if err != nil {
			t.Fatalf("round %d: Open after SIGKILL: %v", round, err)
		}
		head = checkAfterCrash(t, l, round, feed, all)
		if err := l.Close(); err != nil {
			t.Fatalf("round %d: Close: %v", round, err)
		}
		t.Logf("round %d: killed after %v, %d appends acknowledged, feed at seq %d", round, delay, len(acks), head)
	}
	t.Logf("%d rounds, %d acknowledged appends in %v", rounds, len(all), time.Since(start))
}

// crashRound runs the child until delay after its first acknowledgement,
// SIGKILLs it and returns every acknowledgement it printed.
func crashRound(t *testing.T, round int, ledgerDir, keyPath string, delay time.Duration) []crashAckRec {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		crashEnvDir+"="+ledgerDir,
		crashEnvKey+"="+keyPath,
		crashEnvRound+"="+strconv.Itoa(round))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()

	var acks []crashAckRec
	parse := func(line string) {
		rest, ok := strings.CutPrefix(line, crashAck)
		if !ok {
			return // test framework output
		}
		idText, seqText, _ := strings.Cut(rest, " ")
		id, err := ParseID(idText)
		seq, err2 := strconv.ParseUint(seqText, 10, 64)
		if err != nil || err2 != nil {
			t.Errorf("round %d: bad acknowledgement %q", round, line)
			return
		}
		acks = append(acks, crashAckRec{id, seq})
	}

	startup := time.NewTimer(30 * time.Second)
	defer startup.Stop()
	var kill <-chan time.Time
	killed := false
	for !killed {
		select {
		case line, ok := <-lines:
			if !ok {
				cmd.Wait()
				t.Fatalf("round %d: the child exited before it was killed: %s", round, stderr.Bytes())
			}
			parse(line)
			if kill == nil && len(acks) > 0 {
				kill = time.After(delay)
			}
		case <-startup.C:
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("round %d: no acknowledgement in 30s: %s", round, stderr.Bytes())
		case <-kill:
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatalf("round %d: kill: %v", round, err)
			}
			killed = true
		}
	}
	// Everything the child wrote before it died is in the pipe: those
	// appends were acknowledged too.
	for line := range lines {
		parse(line)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("round %d: child: %v, want killed by SIGKILL", round, err)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("round %d: child ended with %v, want killed by SIGKILL: %s", round, err, stderr.Bytes())
	}
	return acks
}

// checkAfterCrash checks a reopened ledger and returns its feed's head.
func checkAfterCrash(t *testing.T, l *Ledger, round int, feed Feed, all []crashAckRec) uint64 {
	t.Helper()
	r := mustVerify(t, l, true)
	if !r.OK() {
		t.Fatalf("round %d: Verify Full after SIGKILL: problems %v, equivocations %v", round, r.Problems, r.Equivocations)
	}
	if len(r.Feeds) != 1 || r.Feeds[0].Feed != feed || len(r.Feeds[0].Heads) != 1 {
		t.Fatalf("round %d: feeds %+v, want the one feed %s", round, r.Feeds, feed)
	}
	head := r.Feeds[0].Entries
	if r.Checked != int(head) {
		t.Fatalf("round %d: checked %d entries, feed is at seq %d", round, r.Checked, head)
	}
	// The checkpoint the full run wrote is usable.
	if ri := mustVerify(t, l, false); !ri.OK() || !ri.CheckpointUsed || ri.Skipped != int(head) {
		t.Fatalf("round %d: Verify from the checkpoint: %+v", round, ri)
	}
	// Every acknowledged entry is there, where it was acknowledged.
	for _, a := range all {
		e, err := l.Get(a.id)
		if err != nil {
			t.Fatalf("round %d: acknowledged entry %s (seq %d) is lost: %v", round, a.id, a.seq, err)
		}
		if e.Feed != feed || e.Seq != a.seq {
			t.Fatalf("round %d: entry %s is at feed %s seq %d, acknowledged at seq %d", round, a.id, e.Feed, e.Seq, a.seq)
		}
	}
	if last := all[len(all)-1]; head < last.seq || head > last.seq+1 {
		// At most one append can have been stored and not acknowledged.
		t.Fatalf("round %d: feed head %d, last acknowledged seq %d", round, head, last.seq)
	}
	// The indexes agree with the entries: arrivals and export.
	if n := l.arrivalCount(); n != head {
		t.Fatalf("round %d: %d arrivals, %d entries", round, n, head)
	}
	var buf bytes.Buffer
	if n, err := l.Export(&buf); err != nil || n != int(head) {
		t.Fatalf("round %d: Export = %d, %v; want %d entries", round, n, err, head)
	}
	return head
}

const crashEnvOpen = "SIGNOFF_CRASH_HELPER_OPEN"

// TestCrashOpenHelper is the child of TestCrashDuringOpen: it opens and
// closes a ledger until it is killed.
func TestCrashOpenHelper(t *testing.T) {
	dir := os.Getenv(crashEnvOpen)
	if dir == "" {
		t.Skip("helper process for TestCrashDuringOpen")
	}
	for {
		l, err := Open(dir)
		if err != nil {
			fmt.Fprintf(os.Stderr, "open helper: %v\n", err)
			os.Exit(3)
		}
		l.Close()
	}
}

// TestCrashDuringOpen kills a process at random moments while it opens
// and closes a ledger: the ledger must open afterwards, every time, with
// its entries. (A kill while Badger created a memtable or value log used
// to leave one of zero bytes that Badger would not open.)
func TestCrashDuringOpen(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes")
	}
	dir := filepath.Join(t.TempDir(), "ledger")
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	e, err := l.Append(testSigner(t, "opal@example.com"), "comment", comment(1), t0)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	rng := rand.New(rand.NewPCG(7, 11))
	for round := range 40 {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestCrashOpenHelper$")
		cmd.Env = append(os.Environ(), crashEnvOpen+"="+dir)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(30+rng.IntN(300)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if strings.Contains(stderr.String(), "open helper:") {
			t.Fatalf("round %d: the helper could not open the ledger: %s", round, stderr.String())
		}
		l, err := Open(dir)
		if err != nil {
			t.Fatalf("round %d: after a kill during open: %v", round, err)
		}
		if _, err := l.Get(e.ID); err != nil {
			t.Fatalf("round %d: the entry is gone: %v", round, err)
		}
		l.Close()
	}
}
