// Package themes holds the console's Lip Gloss styles and palettes, and
// nothing else.
//
// The default theme uses the terminal's own 16 ANSI colours, so it
// follows whatever light or dark scheme the terminal has; light and dark
// pick colours for a known background; high-contrast uses bold, reverse
// and the bright colours only; plain uses no colour at all (and is what
// NO_COLOR gets).
package themes

import (
	"fmt"
	"image/color"
	"slices"
	"strings"

	"charm.land/lipgloss/v2"
)

// Names of the themes, in the order --help lists them.
var Names = []string{"default", "light", "dark", "high-contrast", "plain"}

// A Theme is every style the console draws with.
type Theme struct {
	Name string
	// Glamour is the glamour style the model card renders in.
	Glamour string

	Title    lipgloss.Style // screen titles
	Subtle   lipgloss.Style // secondary text: ids, times, hints
	Text     lipgloss.Style // body text
	Accent   lipgloss.Style // what the reader should look at: the subject, "for you"
	Pass     lipgloss.Style // ✓ gates passing, requirements met
	Fail     lipgloss.Style // ✗ gates failing, missing sign-offs, errors
	Warn     lipgloss.Style // warnings: equivocation, restrictions, expiry
	Header   lipgloss.Style // table headers
	Selected lipgloss.Style // the selected row
	Tab      lipgloss.Style // a section tab
	TabOn    lipgloss.Style // the open section's tab
	TabSeen  lipgloss.Style // a section already opened
	Border   lipgloss.Style // panels and the decision summary
	Key      lipgloss.Style // key names in hints and help
	Input    lipgloss.Style // a focused form field's label
}

type palette struct {
	text, subtle, accent, pass, fail, warn, border color.Color
}

// Get returns the theme named name; "" is "default".
func Get(name string) (*Theme, error) {
	switch name {
	case "", "default":
		return build("default", "dark", palette{
			text: lipgloss.NoColor{}, subtle: lipgloss.BrightBlack, accent: lipgloss.Cyan,
			pass: lipgloss.Green, fail: lipgloss.Red, warn: lipgloss.Yellow, border: lipgloss.BrightBlack,
		}), nil
	case "light":
		return build("light", "light", palette{
			text: lipgloss.Color("#1f2328"), subtle: lipgloss.Color("#59636e"), accent: lipgloss.Color("#0550ae"),
			pass: lipgloss.Color("#116329"), fail: lipgloss.Color("#a40e26"), warn: lipgloss.Color("#7d4e00"), border: lipgloss.Color("#8c959f"),
		}), nil
	case "dark":
		return build("dark", "dark", palette{
			text: lipgloss.Color("#e6edf3"), subtle: lipgloss.Color("#8d96a0"), accent: lipgloss.Color("#79c0ff"),
			pass: lipgloss.Color("#56d364"), fail: lipgloss.Color("#ff7b72"), warn: lipgloss.Color("#e3b341"), border: lipgloss.Color("#6e7681"),
		}), nil
	case "high-contrast":
		t := build("high-contrast", "dark", palette{
			text: lipgloss.BrightWhite, subtle: lipgloss.White, accent: lipgloss.BrightCyan,
			pass: lipgloss.BrightGreen, fail: lipgloss.BrightRed, warn: lipgloss.BrightYellow, border: lipgloss.BrightWhite,
		})
		for _, s := range []*lipgloss.Style{&t.Title, &t.Accent, &t.Pass, &t.Fail, &t.Warn, &t.Header, &t.Key} {
			*s = s.Bold(true)
		}
		t.Fail = t.Fail.Underline(true)
		return t, nil
	case "plain":
		t := &Theme{Name: "plain", Glamour: "notty"}
		t.Selected = lipgloss.NewStyle().Reverse(true)
		t.TabOn = lipgloss.NewStyle().Reverse(true)
		t.Title = lipgloss.NewStyle().Bold(true)
		t.Header = lipgloss.NewStyle().Bold(true)
		t.Border = lipgloss.NewStyle().Border(lipgloss.NormalBorder())
		return t, nil
	}
	return nil, fmt.Errorf("no theme %q: choose one of %s", name, strings.Join(Names, ", "))
}

// Valid reports whether name names a theme.
func Valid(name string) bool { return name == "" || slices.Contains(Names, name) }

func build(name, glamour string, p palette) *Theme {
	fg := func(c color.Color) lipgloss.Style { return lipgloss.NewStyle().Foreground(c) }
	return &Theme{
		Name:     name,
		Glamour:  glamour,
		Title:    fg(p.accent).Bold(true),
		Subtle:   fg(p.subtle),
		Text:     fg(p.text),
		Accent:   fg(p.accent),
		Pass:     fg(p.pass),
		Fail:     fg(p.fail),
		Warn:     fg(p.warn),
		Header:   fg(p.text).Bold(true),
		Selected: lipgloss.NewStyle().Reverse(true),
		Tab:      fg(p.subtle),
		TabOn:    fg(p.accent).Bold(true).Reverse(true),
		TabSeen:  fg(p.text),
		Border:   lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(p.border),
		Key:      fg(p.accent),
		Input:    fg(p.accent).Bold(true),
	}
}
