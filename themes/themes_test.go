package themes

import (
	"image/color"
	"strings"
	"testing"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

func TestNew(t *testing.T) {
	for _, name := range append([]string{""}, Names...) {
		for _, dark := range []bool{true, false} {
			s, err := New(name, dark)
			if err != nil {
				t.Fatalf("New(%q, %v): %v", name, dark, err)
			}
			if want := name; (want != "" && s.Name != want) || (want == "" && s.Name != "default") || s.IsDark != dark || s.Glamour == "" {
				t.Errorf("New(%q, %v): name %q, dark %v, glamour %q", name, dark, s.Name, s.IsDark, s.Glamour)
			}
			if !Valid(name) {
				t.Errorf("%q is not valid", name)
			}
		}
	}
	if _, err := New("solarized", true); err == nil || !strings.Contains(err.Error(), "choose one of default, light, dark, high-contrast, plain") {
		t.Errorf("an unknown theme: %v", err)
	}
	if Valid("solarized") {
		t.Error("solarized is valid")
	}
}

// TestGlamour: the default theme follows the background; the others
// keep their own.
func TestGlamour(t *testing.T) {
	for _, tc := range []struct{ name, dark, light string }{
		{"default", "dark", "light"}, {"light", "light", "light"}, {"dark", "dark", "dark"},
		{"high-contrast", "dark", "dark"}, {"plain", "notty", "notty"},
	} {
		d, _ := New(tc.name, true)
		l, _ := New(tc.name, false)
		if d.Glamour != tc.dark || l.Glamour != tc.light {
			t.Errorf("%s: glamour %s on dark, %s on light", tc.name, d.Glamour, l.Glamour)
		}
	}
}

// TestDefaultIsANSI: the default theme draws in the terminal's own 16
// colours only, so it follows the terminal's scheme; plain draws in none.
func TestDefaultIsANSI(t *testing.T) {
	s, _ := New("default", true)
	for name, st := range palette16(s) {
		for _, c := range []color.Color{st.GetForeground(), st.GetBorderTopForeground()} {
			switch c.(type) {
			case nil, lipgloss.NoColor, ansi.BasicColor:
			default:
				t.Errorf("default %s: colour %T %v is not one of the 16", name, c, c)
			}
		}
	}
	p, _ := New("plain", true)
	for name, st := range palette16(p) {
		if _, ok := st.GetForeground().(lipgloss.NoColor); !ok {
			t.Errorf("plain %s has a colour", name)
		}
	}
}

// palette16 is the styles drawn in the theme's palette (the help keeps
// the help bubble's greys).
func palette16(s *Styles) map[string]lipgloss.Style {
	return map[string]lipgloss.Style{
		"title": s.Title, "subtle": s.Subtle, "text": s.Text, "accent": s.Accent, "pass": s.Pass, "fail": s.Fail,
		"warn": s.Warn, "header": s.Header, "tab": s.Tab, "tab on": s.TabOn, "tab seen": s.TabSeen, "border": s.Border,
		"key": s.Key, "input": s.Input,
	}
}

// TestHighContrast: bold throughout, failures underlined too.
func TestHighContrast(t *testing.T) {
	s, _ := New("high-contrast", true)
	for name, st := range map[string]lipgloss.Style{"title": s.Title, "accent": s.Accent, "pass": s.Pass, "fail": s.Fail, "warn": s.Warn, "header": s.Header} {
		if !st.GetBold() {
			t.Errorf("%s is not bold", name)
		}
	}
	if !s.Fail.GetUnderline() {
		t.Error("failures are not underlined")
	}
}
