// Package themes holds the console's Lip Gloss styles and palettes, and
// nothing else.
//
// A theme is a palette; [New] builds from it, and from whether the
// terminal's background is dark, the one [Styles] the console draws
// with. The console builds them again when the terminal reports its
// background colour.
//
// # Themes
//
// The default theme uses the terminal's own 16 ANSI colours, so it
// follows whatever light or dark scheme the terminal has; light and dark
// pick colours for a known background; high-contrast uses bold, reverse,
// underline and the bright colours only; plain uses no colour at all (and
// is what NO_COLOR gets).
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

// Styles is every style the console draws with.
type Styles struct {
	Name   string // the theme's name
	IsDark bool   // whether they were built for a dark background
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
	Key      lipgloss.Style // key names in hints
	Input    lipgloss.Style // a focused form field's label

	// The key help in the footer.
	HelpKey  lipgloss.Style // a key
	HelpDesc lipgloss.Style // what it does
	HelpSep  lipgloss.Style // the separators and the ellipsis
}

// A palette is the colours a theme draws with.
type palette struct {
	text, subtle, accent, pass, fail, warn, border color.Color
	// glamour is the card's glamour style on a dark and on a light
	// background.
	glamourDark, glamourLight string
}

var palettes = map[string]palette{
	"default": {
		text: lipgloss.NoColor{}, subtle: lipgloss.BrightBlack, accent: lipgloss.Cyan,
		pass: lipgloss.Green, fail: lipgloss.Red, warn: lipgloss.Yellow, border: lipgloss.BrightBlack,
		glamourDark: "dark", glamourLight: "light",
	},
	"light": {
		text: lipgloss.Color("#1f2328"), subtle: lipgloss.Color("#59636e"), accent: lipgloss.Color("#0550ae"),
		pass: lipgloss.Color("#116329"), fail: lipgloss.Color("#a40e26"), warn: lipgloss.Color("#7d4e00"), border: lipgloss.Color("#8c959f"),
		glamourDark: "light", glamourLight: "light",
	},
	"dark": {
		text: lipgloss.Color("#e6edf3"), subtle: lipgloss.Color("#8d96a0"), accent: lipgloss.Color("#79c0ff"),
		pass: lipgloss.Color("#56d364"), fail: lipgloss.Color("#ff7b72"), warn: lipgloss.Color("#e3b341"), border: lipgloss.Color("#6e7681"),
		glamourDark: "dark", glamourLight: "dark",
	},
	"high-contrast": {
		text: lipgloss.BrightWhite, subtle: lipgloss.White, accent: lipgloss.BrightCyan,
		pass: lipgloss.BrightGreen, fail: lipgloss.BrightRed, warn: lipgloss.BrightYellow, border: lipgloss.BrightWhite,
		glamourDark: "dark", glamourLight: "dark",
	},
}

// New returns the styles of the theme named name ("" is "default") for
// a dark background or, with isDark false, a light one.
func New(name string, isDark bool) (*Styles, error) {
	if name == "" {
		name = "default"
	}
	if name == "plain" {
		return plain(isDark), nil
	}
	p, ok := palettes[name]
	if !ok {
		return nil, fmt.Errorf("no theme %q: choose one of %s", name, strings.Join(Names, ", "))
	}
	s := build(p, isDark)
	s.Name = name
	if name == "high-contrast" {
		for _, st := range []*lipgloss.Style{&s.Title, &s.Accent, &s.Pass, &s.Fail, &s.Warn, &s.Header, &s.Key} {
			*st = st.Bold(true)
		}
		s.Fail = s.Fail.Underline(true)
	}
	return s, nil
}

// Valid reports whether name names a theme.
func Valid(name string) bool { return name == "" || slices.Contains(Names, name) }

func build(p palette, isDark bool) *Styles {
	fg := func(c color.Color) lipgloss.Style { return lipgloss.NewStyle().Foreground(c) }
	glamour := p.glamourDark
	if !isDark {
		glamour = p.glamourLight
	}
	// The help keeps the greys the help bubble has always had here.
	lightDark := lipgloss.LightDark(isDark)
	return &Styles{
		IsDark:   isDark,
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
		HelpKey:  fg(lightDark(lipgloss.Color("#909090"), lipgloss.Color("#626262"))),
		HelpDesc: fg(lightDark(lipgloss.Color("#B2B2B2"), lipgloss.Color("#4A4A4A"))),
		HelpSep:  fg(lightDark(lipgloss.Color("#DADADA"), lipgloss.Color("#3C3C3C"))),
	}
}

// plain is no colour at all: bold, reverse and borders only.
func plain(isDark bool) *Styles {
	return &Styles{
		Name:     "plain",
		IsDark:   isDark,
		Glamour:  "notty",
		Selected: lipgloss.NewStyle().Reverse(true),
		TabOn:    lipgloss.NewStyle().Reverse(true),
		Title:    lipgloss.NewStyle().Bold(true),
		Header:   lipgloss.NewStyle().Bold(true),
		Border:   lipgloss.NewStyle().Border(lipgloss.NormalBorder()),
	}
}
