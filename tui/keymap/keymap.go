// Package keymap holds the console's key bindings. Each page's help shows
// its keys from here. Inside the decision form and a search field, the
// keys of typing and choosing (arrows, space, enter, esc, and a, r, c for
// a verdict) work as well, as such fields' keys do.
package keymap

import "charm.land/bubbles/v2/key"

// KeyMap is the console's key bindings.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	Open, Back, Quit, Help                  key.Binding
	Filter, ForYou, Sort, Audit, Reload     key.Binding
	NextSection, PrevSection, Decide        key.Binding
	Section                                 key.Binding // 1-6
	NextField, PrevField, Choose, Sign      key.Binding
	Verify                                  key.Binding
}

// DefaultKeyMap returns the console's keys.
func DefaultKeyMap() *KeyMap {
	b := func(help, desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return &KeyMap{
		Up:          b("↑/k", "up", "up", "k"),
		Down:        b("↓/j", "down", "down", "j"),
		PageUp:      b("pgup", "page up", "pgup", "ctrl+u"),
		PageDown:    b("pgdn", "page down", "pgdown", "ctrl+d", "space"),
		Top:         b("home/g", "top", "home", "g"),
		Bottom:      b("end/G", "bottom", "end", "G"),
		Open:        b("enter", "review", "enter"),
		Back:        b("esc", "back", "esc"),
		Quit:        b("q", "quit", "q", "ctrl+c"),
		Help:        b("?", "help", "?"),
		Filter:      b("/", "search", "/"),
		ForYou:      b("f", "waiting for you / all", "f"),
		Sort:        b("s", "sort", "s"),
		Audit:       b("a", "audit", "a"),
		Reload:      b("r", "reload", "r"),
		NextSection: b("tab/→", "next section", "tab", "right", "l"),
		PrevSection: b("shift+tab/←", "previous section", "shift+tab", "left", "h"),
		Section:     b("1-6", "section", "1", "2", "3", "4", "5", "6"),
		Decide:      b("d", "decide", "d"),
		NextField:   b("tab", "next field", "tab"),
		PrevField:   b("shift+tab", "previous field", "shift+tab"),
		Choose:      b("←/→", "choose", "left", "right"),
		Sign:        b("ctrl+s", "sign", "ctrl+s"),
		Verify:      b("v", "verify the ledger", "v"),
	}
}
