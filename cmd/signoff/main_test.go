package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/signoff-dev/signoff/home"
	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"signoff": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the real binary through the scripts in testdata/script:
// flags, output and exit codes, against stock OpenSSH where it matters.
//
// The scripts run a binary built once, as users run it, rather than this
// test binary: under -race every call of the test binary would cost
// seconds, and the scripts make hundreds. (The packages' own tests run
// under -race.)
func TestScripts(t *testing.T) {
	bin := buildBinary(t)
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", filepath.Dir(bin)+string(os.PathListSeparator)+env.Getenv("PATH"))
			env.Setenv("SIGNOFF_HOME", filepath.Join(env.WorkDir, "home"))
			env.Setenv("SSH_AUTH_SOCK", "")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits":            cmdExits,
			"capture":          cmdCapture,
			"start-agent":      cmdStartAgent,
			"hold-ledger":      cmdHoldLedger,
			"perm":             cmdPerm,
			"pubkey":           cmdPubkey,
			"expand":           cmdExpand,
			"now":              cmdNow,
			"start-s3":         cmdStartS3,
			"s3":               cmdS3,
			"freeport":         cmdFreeport,
			"get":              cmdGet,
			"jsoneq":           cmdJSONEq,
			"setfile":          cmdSetfile,
			"gencert":          cmdGencert,
			"payload":          cmdPayload,
			"envelope":         cmdEnvelope,
			"approve-reviewed": cmdApproveReviewed,
			"adoption":         cmdAdoption,
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "ssh-keygen", "ssh-agent", "ssh-add":
				_, err := exec.LookPath(cond)
				return err == nil, nil
			}
			return false, errors.New("unknown condition " + cond)
		},
	})
}

// exits CODE PROGRAM ARGS...: run PROGRAM and require exit code CODE.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		got = ee.ExitCode()
	} else if err != nil {
		ts.Fatalf("%v", err)
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}

// capture VAR REGEXP: set VAR to the first submatch of REGEXP in the last
// command's stdout, and VAR_RE to it quoted for use in a regexp.
func cmdCapture(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: capture VAR REGEXP")
	}
	m := regexp.MustCompile(args[1]).FindStringSubmatch(ts.ReadFile("stdout"))
	if len(m) < 2 {
		ts.Fatalf("stdout does not match %s", args[1])
	}
	ts.Setenv(args[0], m[1])
	ts.Setenv(args[0]+"_RE", regexp.QuoteMeta(m[1]))
}

// start-agent: start a real ssh-agent for this script and point
// SSH_AUTH_SOCK at it.
func cmdStartAgent(ts *testscript.TestScript, neg bool, args []string) {
	sock := filepath.Join(ts.Getenv("WORK"), "agent.sock")
	cmd := exec.Command("ssh-agent", "-D", "-a", sock)
	ts.Check(cmd.Start())
	ts.Defer(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			ts.Fatalf("ssh-agent did not create %s", sock)
		}
		time.Sleep(10 * time.Millisecond)
	}
	ts.Setenv("SSH_AUTH_SOCK", sock)
}

// hold-ledger: open the home's ledger in this process until the script
// ends, as a second signoff process would.
func cmdHoldLedger(ts *testscript.TestScript, neg bool, args []string) {
	l, err := ledger.Open(filepath.Join(ts.Getenv("SIGNOFF_HOME"), "ledger"))
	ts.Check(err)
	ts.Defer(func() { l.Close() })
}

// perm FILE MODE: require FILE's permission bits to be MODE (octal).
func cmdPerm(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: perm FILE MODE")
	}
	fi, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	want, err := strconv.ParseUint(args[1], 8, 32)
	ts.Check(err)
	if got := fi.Mode().Perm(); (uint64(got) == want) == neg {
		ts.Fatalf("%s has mode %o, want %o", args[0], got, want)
	}
}

// pubkey VAR HOME: set VAR to the key line ("ssh-ed25519 AAAA…", without
// its comment) of HOME/keys/id_ed25519.pub, for root and keyring files.
func cmdPubkey(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: pubkey VAR HOME")
	}
	f := strings.Fields(ts.ReadFile(filepath.Join(args[1], "keys", "id_ed25519.pub")))
	if len(f) < 2 {
		ts.Fatalf("%s holds no public key line", args[1])
	}
	ts.Setenv(args[0], f[0]+" "+f[1])
}

var expandRE = regexp.MustCompile(`\$\{(\w+)\}`)

// expand IN OUT: copy IN to OUT with each ${VAR} replaced by the value of
// VAR in the script's environment (a key line, a digest, a time).
func cmdExpand(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: expand IN OUT")
	}
	out := expandRE.ReplaceAllStringFunc(ts.ReadFile(args[0]), func(m string) string {
		return ts.Getenv(m[2 : len(m)-1])
	})
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(out), 0o644))
}

// now VAR [DURATION]: set VAR to the time now plus DURATION (a Go
// duration, which may be negative), in RFC 3339 UTC to the second, for
// verify --at and for valid_from, valid_until and revoked_at.
func cmdNow(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: now VAR [DURATION]")
	}
	var d time.Duration
	if len(args) == 2 {
		var err error
		d, err = time.ParseDuration(args[1])
		ts.Check(err)
	}
	ts.Setenv(args[0], time.Now().Add(d).UTC().Format(time.RFC3339))
}

// payload HOME KIND SUBJECTS BODYFILE OUT [TIME [SEQ]]: write to OUT the
// exact bytes of the next entry of HOME's key's feed (seq and prev from
// HOME's ledger), of KIND, indexed under SUBJECTS ("-" for none), with
// the body in BODYFILE, signed at TIME (RFC 3339; "now", the default):
// what an insider signs with stock ssh-keygen -Y sign, outside signoff.
// SEQ makes it entry SEQ of the feed instead, after entry SEQ-1: given a
// seq the feed holds already, an equivocation.
func cmdPayload(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 5 || len(args) > 7 {
		ts.Fatalf("usage: payload HOME KIND SUBJECTS BODYFILE OUT [TIME [SEQ]]")
	}
	hdir := ts.MkAbs(args[0])
	pub, identity, err := ledger.ReadPublicKeyFile(filepath.Join(hdir, "keys", "id_ed25519.pub"))
	ts.Check(err)
	h := ledger.Header{Kind: args[1], Feed: ledger.FeedOf(pub.Marshal()), Identity: identity, Seq: 1, Time: time.Now(), Body: []byte(ts.ReadFile(args[3]))}
	if args[2] != "-" {
		h.Subject = args[2]
	}
	if len(args) >= 6 && args[5] != "now" {
		h.Time, err = time.Parse(time.RFC3339, args[5])
		ts.Check(err)
	}
	var seq uint64
	if len(args) == 7 {
		seq, err = strconv.ParseUint(args[6], 10, 64)
		ts.Check(err)
	}
	l, err := ledger.OpenReadOnly(filepath.Join(hdir, "ledger"))
	ts.Check(err)
	defer l.Close()
	ts.Check(l.FeedEntries(h.Feed, 0, func(e *ledger.Entry) error {
		if seq == 0 || e.Seq < seq {
			h.Seq, h.Prev = e.Seq+1, e.ID
		}
		return nil
	}))
	p, err := ledger.Payload(h)
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[4]), p, 0o644))
}

// envelope PAYLOAD SIG OUT: write to OUT the export line of the entry
// made of PAYLOAD and the armored signature SIG (as ssh-keygen -Y sign
// writes it), for signoff import.
func cmdEnvelope(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: envelope PAYLOAD SIG OUT")
	}
	sig, err := ledger.Unarmor([]byte(ts.ReadFile(args[1])))
	ts.Check(err)
	e, err := ledger.ParseEntry([]byte(ts.ReadFile(args[0])), sig)
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[2]), append(e.MarshalLine(), '\n'), 0o644))
}

// approve-reviewed HOME SUBJECT ROLE REASON: sign HOME's approval of the
// subject (a digest or a prefix) as the review console signs it after a
// reviewer has read every section: through policy.Decide, with each
// section recorded open for a minute. The console itself is tested in
// tui and by TestTerminalConsole; the scripts that need an approval the
// CLI refuses to sign (where the policy requires a review) use this.
func cmdApproveReviewed(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 4 {
		ts.Fatalf("usage: approve-reviewed HOME SUBJECT ROLE REASON")
	}
	h, err := home.Open(ts.MkAbs(args[0]))
	ts.Check(err)
	s, done, err := h.Signer(home.Key{})
	ts.Check(err)
	defer done()
	l, err := h.Ledger()
	ts.Check(err)
	defer l.Close()
	anchor, _, err := h.Anchor("", l)
	ts.Check(err)
	digest, err := policy.ResolveSubject(l, args[1])
	ts.Check(err)
	subject, err := policy.SubjectOf(l, digest)
	ts.Check(err)
	now := time.Now()
	gates, err := policy.GateResults(l, nil, digest, anchor, now, nil)
	ts.Check(err)
	var reviewed []policy.Reviewed
	for _, sec := range policy.Sections {
		reviewed = append(reviewed, policy.Reviewed{Section: sec, Seconds: 60})
	}
	e, err := policy.Decide(l, s, policy.Decision{Subject: subject, Verdict: policy.Approve, Role: args[2], Reason: args[3], Gates: gates, Reviewed: reviewed}, anchor, now)
	ts.Check(err)
	fmt.Fprintln(ts.Stdout(), e.ID)
}

// adoption DOC OUT: write to OUT the body of an entry adopting the
// governance document in DOC (its version, digest and text), for payload.
func cmdAdoption(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: adoption DOC OUT")
	}
	text := ts.ReadFile(args[0])
	doc, err := policy.ParseDocument(args[0], []byte(text))
	ts.Check(err)
	b := &policy.Body{Version: doc.Version, Digest: doc.Digest, Document: text}
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), b.Marshal(), 0o644))
}
