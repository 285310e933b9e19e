package policy_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
	"github.com/signoff-dev/signoff/policy/workspace"
)

// TestJudgeOpen: the open requests of the demo, judged several at once,
// come in the order they were requested, each with the verdict Judge
// gives alone; an error from the caller or a cancelled context stops it.
func TestJudgeOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	if err := workspace.Create(dir, now, nil); err != nil {
		t.Fatal(err)
	}
	pin, err := os.ReadFile(filepath.Join(dir, workspace.RootPin))
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(filepath.Join(dir, workspace.LedgerDir))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	trust, err := policy.LoadTrust(l, strings.TrimSpace(string(pin)), now)
	if err != nil {
		t.Fatal(err)
	}
	open, err := policy.OpenRequests(l, trust, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(open) < 3 {
		t.Fatalf("the demo has %d open requests, want 3", len(open))
	}
	var reports policy.Reports
	i := 0
	err = policy.JudgeOpen(context.Background(), l, trust, &reports, now, func(o policy.OpenRequest, v *policy.Verdict, err error) error {
		if err != nil {
			return err
		}
		if o.Subject != open[i].Subject || v.Subject != o.Subject {
			t.Errorf("request %d: %v judged as %v, want %v", i, o.Subject, v.Subject, open[i].Subject)
		}
		alone, err := policy.Judge(l, policy.Query{Bundle: o.Subject.Bundle, To: o.Subject.To, At: now, Anchor: trust.Anchor})
		if err != nil {
			return err
		}
		a, _ := json.Marshal(alone)
		b, _ := json.Marshal(v)
		if string(a) != string(b) {
			t.Errorf("request %d: judged with the others\n%s\nalone\n%s", i, b, a)
		}
		i++
		return nil
	})
	if err != nil || i != len(open) {
		t.Fatalf("judged %d of %d: %v", i, len(open), err)
	}

	stop := errors.New("enough")
	calls := 0
	err = policy.JudgeOpen(context.Background(), l, trust, &reports, now, func(policy.OpenRequest, *policy.Verdict, error) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("the caller's error: %v after %d calls", err, calls)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls = 0
	err = policy.JudgeOpen(ctx, l, trust, &reports, now, func(policy.OpenRequest, *policy.Verdict, error) error {
		calls++
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls != 0 {
		t.Fatalf("a cancelled context: %v after %d calls", err, calls)
	}
}
