// Package workspace creates signoff's demo workspace: a home for each
// signer, keys without passphrase (clearly labelled demo), an adopted
// root, keyring and policy, the three demo bundles with their promotion
// requests, and decisions already signed, so that a reviewer's queue
// shows every state: waiting for them, quorum partly met, gates failing,
// approved.
//
// The workspace directory is itself a home, the risk officer's; the other
// signers' homes live beneath it in signers/NAME. Every home holds every
// entry and pins the root.
package workspace

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/signoff-dev/signoff/evidence"
	evdemo "github.com/signoff-dev/signoff/evidence/demo"
	"github.com/signoff-dev/signoff/home"
	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
)

// A Signer of the demo: who they are and what they do.
type Signer struct {
	Name     string // the home's directory name under signers/
	Identity string
	Roles    []string
	Admin    bool
}

// Signers are the demo's people. The first is the workspace's own home.
var Signers = []Signer{
	{"risk-officer", "risk.officer@demo.example", []string{"risk"}, false},
	{"admin", "admin@demo.example", []string{"governance"}, true},
	{"compliance", "compliance@demo.example", []string{"compliance"}, false},
	{"clinician", "clinician@demo.example", []string{"clinical-safety"}, false},
	{"owner", "dana@demo.example", []string{"model-owner"}, false},
	{"mlops", "mlops@demo.example", []string{"mlops"}, false},
	// The bundles' authors, who request their promotion.
	{"alice", "alice@bank.example", []string{"model-owner"}, false},
	{"bob", "bob@shop.example", []string{"model-owner"}, false},
	{"carol", "carol@hospital.example", []string{"model-owner"}, false},
}

// Layout of a workspace.
const (
	BundlesDir    = "bundles"    // the demo bundles, sealed
	GovernanceDir = "governance" // root.yaml, keyring.yaml, policy.yaml as adopted
	SignersDir    = "signers"    // the other signers' homes
	// A home's own layout, as package home has it.
	LedgerDir = home.LedgerDir
	KeyFile   = home.KeyFile
	RootPin   = home.RootPin
)

// Home returns the home directory of s in the workspace dir.
func Home(dir string, s Signer) string {
	if s.Name == Signers[0].Name {
		return dir
	}
	return filepath.Join(dir, SignersDir, s.Name)
}

// A Progress is told each step as it starts.
type Progress func(step string)

// Create makes the workspace in dir, which must not exist or be empty.
// now is the time the last demo entry is signed; the others are signed
// in the hours before it.
func Create(dir string, now time.Time, progress Progress) error {
	if progress == nil {
		progress = func(string) {}
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s exists and is not empty: the demo workspace is made in a new directory", dir)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	w := &builder{dir: dir, t: now.Add(-6 * time.Hour), signers: map[string]ledger.Signer{}}
	progress("keys for " + fmt.Sprint(len(Signers)) + " demo signers (no passphrase: demo only)")
	for _, s := range Signers {
		h, err := home.Create(Home(dir, s))
		if err != nil {
			return err
		}
		path := h.KeyPath()
		if _, err := ledger.GenerateKeyFile(path, s.Identity, nil); err != nil {
			return err
		}
		k, err := ledger.LoadKeyFile(path, nil)
		if err != nil {
			return err
		}
		w.signers[s.Name] = k
	}
	l, err := (&home.Home{Dir: dir}).Ledger()
	if err != nil {
		return err
	}
	w.l = l
	defer func() {
		if w.l != nil {
			w.l.Close()
		}
	}()
	progress("root, keyring and policy, adopted by the admin")
	if err := w.governance(); err != nil {
		return err
	}
	progress("the three demo bundles, sealed, and their requests (computing metrics and intervals)")
	subjects, err := w.bundles()
	if err != nil {
		return err
	}
	progress("decisions already signed")
	if err := w.decisions(subjects); err != nil {
		return err
	}
	progress("every signer's home gets the whole ledger")
	return w.share()
}

type builder struct {
	dir     string
	l       *ledger.Ledger
	t       time.Time // the next signing time
	signers map[string]ledger.Signer
	root    string
}

// next returns the next signing time: a minute after the last.
func (w *builder) next() time.Time {
	w.t = w.t.Add(time.Minute)
	return w.t
}

func (w *builder) keyLine(name string) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(w.signers[name].PublicKey())))
}

func (w *builder) governance() error {
	var root, keyring strings.Builder
	root.WriteString("# signoff demo root: one admin. DEMO KEYS, NO PASSPHRASE.\nversion: 1\nthreshold: 1\nadmins:\n")
	keyring.WriteString("# signoff demo keyring: who holds which role. DEMO KEYS, NO PASSPHRASE.\nversion: 1\nmembers:\n")
	for _, s := range Signers {
		if s.Admin {
			fmt.Fprintf(&root, "  - identity: %s\n    keys: [%q]\n", s.Identity, w.keyLine(s.Name))
		}
		fmt.Fprintf(&keyring, "  - identity: %s\n    name: %s (demo)\n    roles: [%s]\n    keys: [%q]\n", s.Identity, s.Name, strings.Join(s.Roles, ", "), w.keyLine(s.Name))
	}
	data, err := os.ReadFile(filepath.Join(w.dir, BundlesDir, evdemo.PolicyFile))
	if errors.Is(err, os.ErrNotExist) {
		if err := evdemo.Write(filepath.Join(w.dir, BundlesDir)); err != nil {
			return err
		}
		data, err = os.ReadFile(filepath.Join(w.dir, BundlesDir, evdemo.PolicyFile))
	}
	if err != nil {
		return err
	}
	gov := filepath.Join(w.dir, GovernanceDir)
	if err := os.MkdirAll(gov, 0o755); err != nil {
		return err
	}
	for _, d := range []struct{ name, text string }{{"root.yaml", root.String()}, {"keyring.yaml", keyring.String()}, {"policy.yaml", string(data)}} {
		doc, err := policy.ParseDocument(d.name, []byte(d.text))
		if err != nil {
			return fmt.Errorf("internal error: demo %s: %v", d.name, err)
		}
		if err := os.WriteFile(filepath.Join(gov, d.name), []byte(d.text), 0o644); err != nil {
			return err
		}
		if _, err := policy.Adopt(w.l, w.signers["admin"], doc, nil, w.next()); err != nil {
			return err
		}
		if doc.Kind == policy.KindRoot {
			w.root = doc.Digest
		}
	}
	return nil
}

// bundles seals the demo bundles and has each author request it.
func (w *builder) bundles() (map[string]policy.Subject, error) {
	requester := map[string]string{"credit-risk-v7": "alice", "recommender-v12": "bob", "sepsis-triage-v3": "carol"}
	out := map[string]policy.Subject{}
	for _, name := range evdemo.Bundles {
		b, err := evidence.Open(filepath.Join(w.dir, BundlesDir, name))
		if err != nil {
			return nil, err
		}
		if _, err := b.Seal(); err != nil {
			b.Close()
			return nil, err
		}
		st, err := b.Check()
		if err != nil {
			b.Close()
			return nil, err
		}
		report, err := b.Evaluate()
		if err != nil {
			b.Close()
			return nil, err
		}
		res, err := policy.Request(w.l, w.signers[requester[name]], b, st, report, w.root, w.next())
		b.Close()
		if err != nil {
			return nil, fmt.Errorf("request for %s: %w", name, err)
		}
		out[name] = res.Subject
	}
	return out, nil
}

// decisions signs the decisions that put each demo subject in its state,
// as the risk officer sees it:
//   - credit-risk v7: the owner and compliance approved; it waits for risk
//     (quorum partly met, waiting for you);
//   - recommender v12: the owner approved, but its latency gate fails;
//   - sepsis-triage v3: approved by the owner, the clinician and
//     compliance, with an earlier request for changes answered.
func (w *builder) decisions(subjects map[string]policy.Subject) error {
	type d struct {
		bundle, signer, verdict, role, reason, ticket string
	}
	reports := &policy.Reports{}
	for _, x := range []d{
		{"credit-risk-v7", "owner", policy.Approve, "model-owner", "Champion beaten on AUC with a paired interval; rollback plan tested in staging.", "MRM-2291"},
		{"credit-risk-v7", "compliance", policy.Approve, "compliance", "Disparate impact by sex 0.93, above the four-fifths line; adverse action notices unchanged.", "COMP-118"},
		{"recommender-v12", "owner", policy.Approve, "model-owner", "CTR up 4% in the A/B; latency regression is known and being worked on.", "REC-77"},
		{"sepsis-triage-v3", "compliance", policy.RequestChanges, "compliance", "The card does not say how alerts are escalated out of hours.", "CLIN-12"},
		{"sepsis-triage-v3", "owner", policy.Approve, "model-owner", "Sensitivity 0.96 on the ICU cohort; escalation path added to the card.", "CLIN-12"},
		{"sepsis-triage-v3", "clinician", policy.Approve, "clinical-safety", "Reviewed against 40 charts with the sepsis team; alert threshold agreed.", "CLIN-14"},
		{"sepsis-triage-v3", "compliance", policy.Approve, "compliance", "Escalation path now documented; approved.", "CLIN-12"},
	} {
		gates, err := policy.GateResults(w.l, nil, subjects[x.bundle].Bundle, w.root, w.t, reports)
		if err != nil {
			return err
		}
		dec := policy.Decision{Subject: subjects[x.bundle], Verdict: x.verdict, Role: x.role, Reason: x.reason, Ticket: x.ticket, Gates: gates, Reviewed: demoReview, Reports: reports}
		if _, err := policy.Decide(w.l, w.signers[x.signer], dec, w.root, w.next()); err != nil {
			return fmt.Errorf("demo decision on %s: %w", x.bundle, err)
		}
	}
	return nil
}

// demoReview is what each demo decision records of its review: every
// section, open for a few minutes (made up, as the demo's decisions are).
var demoReview = []policy.Reviewed{{Section: "overview", Seconds: 45}, {Section: "card", Seconds: 240}, {Section: "metrics", Seconds: 180},
	{Section: "fairness", Seconds: 150}, {Section: "evidence", Seconds: 90}, {Section: "history", Seconds: 30}}

// share copies the ledger into every other signer's home and pins the
// root in each.
func (w *builder) share() error {
	path := filepath.Join(w.dir, "demo-ledger.jsonl")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer os.Remove(path)
	if _, err := w.l.Export(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	err = w.l.Close()
	w.l = nil
	if err != nil {
		return err
	}
	for _, s := range Signers {
		h := &home.Home{Dir: Home(w.dir, s)}
		if _, err := h.SetPin(w.root); err != nil {
			return err
		}
		if h.Dir == w.dir {
			continue
		}
		l, err := h.Ledger()
		if err != nil {
			return err
		}
		in, err := os.Open(path)
		if err == nil {
			_, err = l.Import(in, ledger.ImportOptions{})
			in.Close()
		}
		if cerr := l.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}
