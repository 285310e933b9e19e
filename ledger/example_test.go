package ledger_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/signoff-dev/signoff/ledger"
)

// signer returns the signer of a fixed test key for identity, so that the
// examples' output does not vary. Real signers come from
// [ledger.LoadKeyFile] or [ledger.NewAgentSigner].
func signer(seed byte, identity string) ledger.Signer {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		log.Fatal(err)
	}
	sig, err := ledger.NewSigner(s, identity)
	if err != nil {
		log.Fatal(err)
	}
	return sig
}

// at is a fixed signing time.
func at(minutes int) time.Time {
	return time.Date(2026, 11, 21, 9, minutes, 0, 0, time.UTC)
}

// tempLedger opens a new ledger in a temporary directory and returns it
// with a function that closes and removes it.
func tempLedger() (*ledger.Ledger, func()) {
	dir, err := os.MkdirTemp("", "ledger-example")
	if err != nil {
		log.Fatal(err)
	}
	l, err := ledger.Open(filepath.Join(dir, "ledger"))
	if err != nil {
		log.Fatal(err)
	}
	return l, func() {
		l.Close()
		os.RemoveAll(dir)
	}
}

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "ledger-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// Open creates the ledger if there is none.
	l, err := ledger.Open(filepath.Join(dir, "ledger"))
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()

	// A second writer must wait.
	if _, err := ledger.Open(filepath.Join(dir, "ledger")); errors.Is(err, ledger.ErrLocked) {
		fmt.Println("locked")
	}
	// Output:
	// locked
}

func ExampleGenerateKeyFile() {
	dir, err := os.MkdirTemp("", "ledger-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// An empty passphrase leaves the key unencrypted; give one for a key
	// that stays on disk.
	path := filepath.Join(dir, "keys", "alice")
	pub, err := ledger.GenerateKeyFile(path, "alice@example.com", nil)
	if err != nil {
		log.Fatal(err)
	}
	s, err := ledger.LoadKeyFile(path, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Identity())
	fmt.Println(ledger.Fingerprint(s.PublicKey()) == ledger.Fingerprint(pub))

	// It never overwrites a key.
	if _, err := ledger.GenerateKeyFile(path, "alice@example.com", nil); errors.Is(err, ledger.ErrKeyExists) {
		fmt.Println("key exists")
	}
	// Output:
	// alice@example.com
	// true
	// key exists
}

func ExampleLedger_Append() {
	l, done := tempLedger()
	defer done()
	alice := signer(1, "alice@example.com")

	for i, text := range []string{"first look", "metrics reviewed"} {
		body := fmt.Sprintf(`{"text":%q}`, text)
		e, err := l.Append(alice, "comment", []byte(body), at(i))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(e.Kind, e.Seq, e.Identity, e.Verify() == nil)
	}
	// Output:
	// comment 1 alice@example.com true
	// comment 2 alice@example.com true
}

func ExampleLedger_Entries() {
	l, done := tempLedger()
	defer done()
	alice, bob := signer(1, "alice@example.com"), signer(2, "bob@example.com")

	appendSubject := func(s ledger.Signer, kind, subject, body string, minute int) {
		if _, err := l.AppendSubject(s, kind, subject, []byte(body), at(minute)); err != nil {
			log.Fatal(err)
		}
	}
	appendSubject(alice, "request", "model:fraud:3", `{"to":"production"}`, 0)
	appendSubject(bob, "comment", "model:fraud:3", `{"text":"calibration looks off"}`, 1)
	appendSubject(bob, "decision", "model:fraud:3", `{"verdict":"approve"}`, 2)
	appendSubject(alice, "request", "model:churn:7", `{"to":"staging"}`, 3)

	// Newest first.
	err := l.Entries(ledger.Query{Subject: "model:fraud:3"}, func(e *ledger.Entry) error {
		fmt.Println(e.Time.Format("15:04"), e.Identity, e.Kind, string(e.Body))
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("--")
	err = l.Entries(ledger.Query{Kind: "request"}, func(e *ledger.Entry) error {
		fmt.Println(e.Subject)
		return ledger.ErrStop // only the newest
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// 09:02 bob@example.com decision {"verdict":"approve"}
	// 09:01 bob@example.com comment {"text":"calibration looks off"}
	// 09:00 alice@example.com request {"to":"production"}
	// --
	// model:churn:7
}

func ExampleLedger_Import() {
	laptop, done := tempLedger()
	defer done()
	alice := signer(1, "alice@example.com")
	for i := range 3 {
		if _, err := laptop.Append(alice, "comment", []byte(`{"text":"offline"}`), at(i)); err != nil {
			log.Fatal(err)
		}
	}
	var file bytes.Buffer
	n, err := laptop.Export(&file)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("exported", n)

	// The file carries the entries to another ledger, which checks every
	// signature and chain rule before it takes any: a file without its
	// first line adds nothing.
	server, done2 := tempLedger()
	defer done2()
	_, rest, _ := bytes.Cut(file.Bytes(), []byte("\n"))
	_, err = server.Import(bytes.NewReader(rest), ledger.ImportOptions{})
	var ie *ledger.ImportError
	if errors.As(err, &ie) {
		p := ie.Problems[0]
		fmt.Println(ie.Total, "bad lines, first line", p.Line, "seq", p.Seq, "prev missing:", errors.Is(p, ledger.ErrPrevMissing))
	}
	for range 2 {
		res, err := server.Import(bytes.NewReader(file.Bytes()), ledger.ImportOptions{})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("added", res.Added, "present", res.Present)
	}
	// Output:
	// exported 3
	// 2 bad lines, first line 1 seq 2 prev missing: true
	// added 3 present 0
	// added 0 present 3
}

func ExampleLedger_Verify() {
	l, done := tempLedger()
	defer done()
	alice := signer(1, "alice@example.com")
	for i := range 5 {
		if _, err := l.Append(alice, "comment", []byte(`{"text":"noted"}`), at(i)); err != nil {
			log.Fatal(err)
		}
	}
	for range 2 {
		r, err := l.Verify(context.Background(), ledger.VerifyOptions{})
		if err != nil {
			log.Fatal(err)
		}
		if r.OK() {
			// The second run re-checks only what the first one's
			// checkpoint did not prove.
			fmt.Println("OK: checked", r.Checked, "skipped", r.Skipped)
		}
	}
	// Output:
	// OK: checked 5 skipped 0
	// OK: checked 0 skipped 5
}

func ExampleOpenReadOnly() {
	dir, err := os.MkdirTemp("", "ledger-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "ledger")

	// Where there is no ledger, OpenReadOnly creates none.
	if _, err := ledger.OpenReadOnly(path); errors.Is(err, ledger.ErrNoLedger) {
		fmt.Println("no ledger yet")
	}

	w, err := ledger.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := w.Append(signer(1, "alice@example.com"), "comment", []byte(`{"text":"hello"}`), at(0)); err != nil {
		log.Fatal(err)
	}
	w.Close()

	// Readers share the ledger; none of them may write.
	r1, err := ledger.OpenReadOnly(path)
	if err != nil {
		log.Fatal(err)
	}
	defer r1.Close()
	r2, err := ledger.OpenReadOnly(path)
	if err != nil {
		log.Fatal(err)
	}
	defer r2.Close()
	heads, err := r2.Heads()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(heads), "feed, at seq", heads[0].Seq)
	_, err = r1.Append(signer(1, "alice@example.com"), "comment", []byte(`{}`), at(1))
	fmt.Println(errors.Is(err, ledger.ErrReadOnly))
	// Output:
	// no ledger yet
	// 1 feed, at seq 1
	// true
}

func ExampleLedger_NewChainCheck() {
	l, done := tempLedger()
	defer done()
	alice := signer(1, "alice@example.com")
	first, err := l.Append(alice, "comment", []byte(`{"text":"stored"}`), at(0))
	if err != nil {
		log.Fatal(err)
	}

	// A batch from elsewhere: seq 2 and 3 of alice's feed, signed offline,
	// and seq 2 again out of order.
	second, err := ledger.SignEntry(alice, ledger.Header{Kind: "comment", Seq: 2, Prev: first.ID, Time: at(1), Body: []byte(`{}`)})
	if err != nil {
		log.Fatal(err)
	}
	third, err := ledger.SignEntry(alice, ledger.Header{Kind: "comment", Seq: 3, Prev: second.ID, Time: at(2), Body: []byte(`{}`)})
	if err != nil {
		log.Fatal(err)
	}
	errs := ledger.VerifyEntries([]*ledger.Entry{second, third})
	fmt.Println("signatures:", errs[0], errs[1])

	c := l.NewChainCheck()
	for _, e := range []*ledger.Entry{second, third, second} {
		if err := c.Check(e); errors.Is(err, ledger.ErrChain) {
			var ee *ledger.EntryError
			errors.As(err, &ee)
			fmt.Printf("refused seq %d: %v\n", e.Seq, ee.Err)
			continue
		} else if err != nil {
			log.Fatal(err) // the ledger could not be read
		}
		c.Take(e)
		fmt.Printf("took seq %d\n", e.Seq)
	}
	// Output:
	// signatures: <nil> <nil>
	// took seq 2
	// took seq 3
	// refused seq 2: seq 2 comes after seq 3 of the same feed: a feed's entries must be in seq order
}
