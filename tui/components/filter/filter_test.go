package filter

import (
	"slices"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/signoff-dev/signoff/themes"
	"github.com/signoff-dev/signoff/tui/common"
)

func TestFilter(t *testing.T) {
	st, _ := themes.New("default", true)
	f := New(common.New(common.Options{}, st), "what to type")
	typeText := func(s string) {
		for _, r := range s {
			f.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
		}
	}
	typeText("ignored")
	if f.Value() != "" || f.Shown() {
		t.Fatalf("typed into a field without the keys: %q", f.Value())
	}
	f.Focus()
	typeText("Credit  RISK")
	if !slices.Equal(f.Words(), []string{"credit", "risk"}) || !f.Active() {
		t.Errorf("words %q, active %v", f.Words(), f.Active())
	}
	f.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	if f.Active() || !f.Shown() || f.Value() != "Credit  RISK" {
		t.Errorf("enter: active %v, shown %v, value %q", f.Active(), f.Shown(), f.Value())
	}
	f.Focus()
	f.Update(tea.KeyPressMsg{Code: tea.KeyEscape})
	if f.Active() || f.Shown() || f.Value() != "" {
		t.Errorf("esc: active %v, shown %v, value %q", f.Active(), f.Shown(), f.Value())
	}
	for _, tc := range []struct {
		search string
		words  []string
		want   bool
	}{
		{"credit-risk 7 high", nil, true},
		{"credit-risk 7 high", []string{"risk", "high"}, true},
		{"credit-risk 7 high", []string{"risk", "low"}, false},
	} {
		if got := Matches(tc.search, tc.words); got != tc.want {
			t.Errorf("Matches(%q, %q) = %v", tc.search, tc.words, got)
		}
	}
}
