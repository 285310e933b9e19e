package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tmuxSession drives a program in a real terminal: tmux on a private
// socket, keys sent with send-keys, the screen read with capture-pane.
type tmuxSession struct {
	t      *testing.T
	socket string
}

func newTmux(t *testing.T, env []string, shell string) *tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed")
	}
	s := &tmuxSession{t: t, socket: filepath.Join(t.TempDir(), "tmux.sock")}
	args := []string{"new-session", "-d", "-x", "120", "-y", "30"}
	for _, e := range env {
		args = append(args, "-e", e)
	}
	s.run(append(args, shell)...)
	t.Cleanup(func() { exec.Command("tmux", "-S", s.socket, "kill-server").Run() })
	return s
}

func (s *tmuxSession) run(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (s *tmuxSession) send(keys ...string) {
	s.run(append([]string{"send-keys", "-t", "0"}, keys...)...)
}

func (s *tmuxSession) screen() string { return s.run("capture-pane", "-p", "-t", "0") }

// waitFor polls the screen until it holds text n times.
func (s *tmuxSession) waitFor(text string, n int) string {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		scr := s.screen()
		if strings.Count(scr, text) >= n {
			return scr
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("screen never showed %q %d times:\n%s", text, n, scr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// buildBinary builds signoff into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "signoff")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestTerminalPassphrase types passphrases at the real binary's prompts in
// a real terminal: keygen asks twice and refuses a mismatch; signing asks
// once, rejects a wrong passphrase and accepts the right one. Nothing typed
// is echoed.
func TestTerminalPassphrase(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts tmux")
	}
	bin := buildBinary(t)
	home := t.TempDir()
	s := newTmux(t, []string{"SIGNOFF_HOME=" + home}, "/bin/sh")
	s.send("echo READY-$((20+22))", "Enter")
	s.waitFor("READY-42", 1)

	s.send(bin+" keygen --identity carol@example.com", "Enter")
	s.waitFor("Passphrase for the new key:", 1)
	s.send("first-try", "Enter")
	s.waitFor("Same passphrase again:", 1)
	s.send("different", "Enter")
	s.waitFor("the passphrases differ; nothing written", 1)
	if _, err := os.Stat(filepath.Join(home, "keys", "id_ed25519")); err == nil {
		t.Fatal("a key was written although the passphrases differed")
	}

	s.send(bin+" keygen --identity carol@example.com", "Enter")
	s.waitFor("Passphrase for the new key:", 2)
	s.send("hunter22", "Enter")
	s.waitFor("Same passphrase again:", 2)
	s.send("hunter22", "Enter")
	s.waitFor("SHA256:", 1)

	s.send(bin+" comment --text typed-at-a-terminal", "Enter")
	s.waitFor("Passphrase for "+filepath.Join(home, "keys", "id_ed25519")+":", 1)
	s.send("wrong", "Enter")
	s.waitFor("wrong passphrase", 1)

	s.send(bin+" comment --text typed-at-a-terminal", "Enter")
	s.waitFor("Passphrase for "+filepath.Join(home, "keys", "id_ed25519")+":", 2)
	s.send("hunter22", "Enter")
	scr := s.waitFor("sha256:", 1)
	for _, secret := range []string{"hunter22", "first-try", "different"} {
		if strings.Contains(scr, secret) {
			t.Fatalf("the passphrase %q was echoed:\n%s", secret, scr)
		}
	}
}

// TestTerminalConsole opens the demo in the real binary's console in a
// real terminal, reviews credit-risk, approves it with a reason, quits,
// and finds the decision in signoff log and its effect in signoff verify.
func TestTerminalConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts tmux")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	demo := filepath.Join(dir, "demo")
	if out, err := exec.Command(bin, "demo", "--dir", demo).CombinedOutput(); err != nil {
		t.Fatalf("signoff demo: %v\n%s", err, out)
	}
	s := newTmux(t, []string{"TERM=xterm-256color"}, "/bin/sh")
	s.send("echo READY-$((20+22))", "Enter")
	s.waitFor("READY-42", 1)
	s.send(bin+" --home "+demo+" review; echo CONSOLE-EXIT-$?", "Enter")
	s.waitFor("● credit-risk 7", 1)
	s.waitFor("waiting for you", 1)
	s.send("Enter")
	s.waitFor("Sign-offs", 1)
	// Approval needs every section the policy names open for a second at
	// least: read each until its tab says it has been (the console counts
	// the seconds on the tab, then marks it ✓).
	for _, sec := range []string{"2 Model card", "3 Metrics", "4 Fairness", "5 Evidence"} {
		s.send(sec[:1])
		s.waitFor(sec+" 0s", 1)
		s.waitFor(sec+" ✓", 1)
	}
	s.send("d")
	s.waitFor("You are signing, as risk.officer@demo.example", 1)
	s.send("a", "Tab", "Tab")
	s.send("-l", "Paired AUC gain holds; fairness within bounds.")
	s.send("Tab")
	s.send("-l", "RISK-1")
	s.send("C-s")
	scr := s.waitFor("signed and recorded durably", 1)
	id := ""
	for _, line := range strings.Split(scr, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "entry" {
			id = f[1]
		}
	}
	if !strings.HasPrefix(id, "sha256:") {
		t.Fatalf("no entry id on the screen:\n%s", scr)
	}
	s.send("x")
	s.waitFor("open requests", 1)
	s.send("q")
	s.waitFor("CONSOLE-EXIT-0", 1)

	out, err := exec.Command(bin, "--home", demo, "log", "--kind", "decision", "-n", "1").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "risk.officer@demo.example") || !strings.Contains(string(out), id[7:19]) {
		t.Fatalf("signoff log: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "--home", demo, "verify", "--model", "credit-risk", "--version", "7", "--to", "production").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "APPROVED") {
		t.Fatalf("signoff verify after approving: %v\n%s", err, out)
	}
}
