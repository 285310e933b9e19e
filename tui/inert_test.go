package tui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signoff-dev/signoff/evidence"
	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
	"github.com/signoff-dev/signoff/policy/workspace"
)

// hostile holds the terminal sequences an attacker would put in a card,
// a reason or a group name: clear the screen, write the clipboard (OSC
// 52), a link (OSC 8), the 8-bit CSI, a title (OSC 0), and a bidi
// override.
const hostile = "\x1b[2J\x1b]52;c;ZWNobyBwd25lZA==\x07\x1b]8;;https://evil.example\x1b\\click me\x1b]8;;\x1b\\\u009b6n\x1b]0;owned\x07\u202eevil"

// TestHostileTextIsInert: a bundle whose card, metric names and group
// values and a decision whose reason carry terminal sequences render in
// every section without any of them reaching the terminal.
func TestHostileTextIsInert(t *testing.T) {
	dir := demo(t)
	b := filepath.Join(t.TempDir(), "hostile")
	files := map[string]string{
		"bundle.yaml": "model: hostile\nversion: \"1\"\nrisk_tier: medium\ntransition: {from: staging, to: production}\nauthors: [bob@shop.example]\n" +
			"artifacts: [{path: model.bin}]\ncard: card.md\nmetrics: {candidate: metrics.json}\npredictions: {candidate: p.csv, label: y, score: s, groups: [g]}\n",
		"model.bin":    "w",
		"card.md":      "---\nlicense: \"" + strings.ReplaceAll(hostile, "\x1b", "\\e") + "\"\n---\n# Card " + hostile + "\n\nSee [the docs](https://evil.example/" + "\x1b]52;c;eA==\x07" + ") " + hostile + "\n",
		"metrics.json": `{"ctr": 0.1}`,
		"p.csv":        "y,s,g\n1,0.9,\"" + hostile + "\"\n0,0.1,\"" + hostile + "\"\n1,0.8,b\n0,0.3,b\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(b, name), []byte(text), 0o644); err != nil {
			if err := os.MkdirAll(b, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(b, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	bundle, err := evidence.Open(b)
	if err != nil {
		t.Fatal(err)
	}
	defer bundle.Close()
	if _, err := bundle.Seal(); err != nil {
		t.Fatal(err)
	}
	st, err := bundle.Check()
	if err != nil {
		t.Fatal(err)
	}
	report, err := bundle.Evaluate()
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(filepath.Join(dir, workspace.LedgerDir))
	if err != nil {
		t.Fatal(err)
	}
	pin, _ := os.ReadFile(filepath.Join(dir, workspace.RootPin))
	root := strings.TrimSpace(string(pin))
	key := func(name string) ledger.Signer {
		s, err := ledger.LoadKeyFile(filepath.Join(dir, workspace.SignersDir, name, workspace.KeyFile), nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	res, err := policy.Request(l, key("bob"), bundle, st, report, root, fixNow.Add(-30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	d := policy.Decision{Subject: res.Subject, Verdict: policy.Reject, Role: "model-owner", Reason: "nope " + hostile, Ticket: "T-" + "\x1b[31m1", Gates: res.Results}
	if _, err := policy.Decide(l, key("owner"), d, root, fixNow.Add(-15*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := policy.Judge(l, policy.Query{Bundle: res.Subject.Bundle, To: "production", At: fixNow, Anchor: root, Reports: &policy.Reports{}}); err != nil {
		t.Fatalf("verdict: %v", err)
	}
	l.Close()

	m, _ := newTestIn(t, dir, 120, 40, "default")
	i := rowIndex(m, "hostile")
	if i < 0 {
		t.Fatal("the hostile bundle is not in the queue")
	}
	for range i {
		press(t, m, "down")
	}
	views := []string{m.View().Content}
	press(t, m, "enter")
	if m.review().Review() == nil {
		_, err := m.c.Status()
		t.Fatalf("review: %q", err)
	}
	shows := map[string]string{"2": "click me", "4": "evil", "6": "nope"}
	for _, k := range []string{"1", "2", "3", "4", "5", "6", "d"} {
		press(t, m, k)
		views = append(views, m.View().Content)
		if want := shows[k]; want != "" && !strings.Contains(plain(t, m), want) {
			t.Errorf("section %s does not show the text %q, made inert:\n%s", k, want, plain(t, m))
		}
	}
	press(t, m, "esc", "esc", "a")
	views = append(views, m.View().Content)
	for i, v := range views {
		for _, bad := range []string{"\x1b[2J", "\x1b]52", "\x1b]8;", "\x1b]0;", "\u009b", "\u202e", "\x07", "evil.example\x1b"} {
			if strings.Contains(v, bad) {
				t.Errorf("view %d holds %q", i, bad)
			}
		}
		// What is left of the escapes is only styling (SGR).
		for _, seq := range strings.Split(v, "\x1b")[1:] {
			if !strings.HasPrefix(seq, "[") || !strings.ContainsAny(seq[:min(len(seq), 20)], "m") {
				t.Errorf("view %d holds a non-SGR sequence ESC%q", i, seq[:min(len(seq), 12)])
				break
			}
		}
	}
	if !strings.Contains(plain(t, m), "hostile") {
		t.Error("the audit view does not show the hostile bundle's entries")
	}
}
