package tui

import "charm.land/bubbles/v2/key"

// keyMap is every key the console answers to; help shows them from here.
type keyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	Open, Back, Quit, Help                  key.Binding
	Filter, ForYou, Sort, Audit, Reload     key.Binding
	NextSection, PrevSection, Decide        key.Binding
	Section                                 key.Binding // 1-6
	NextField, PrevField, Choose, Sign      key.Binding
	Verify                                  key.Binding
}

func newKeyMap() keyMap {
	b := func(help, desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return keyMap{
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

// helpKeys is what help shows on one screen.
type helpKeys struct {
	short []key.Binding
	full  [][]key.Binding
}

func (h helpKeys) ShortHelp() []key.Binding  { return h.short }
func (h helpKeys) FullHelp() [][]key.Binding { return h.full }

func (m *Model) helpFor() helpKeys {
	k := m.keys
	switch m.screen {
	case screenReview:
		return helpKeys{
			short: []key.Binding{k.NextSection, k.Decide, k.Back, k.Help},
			full:  [][]key.Binding{{k.NextSection, k.PrevSection, k.Section}, {k.Up, k.Down, k.PageUp, k.PageDown}, {k.Decide, k.Back, k.Quit, k.Help}},
		}
	case screenDecide:
		return helpKeys{
			short: []key.Binding{k.NextField, k.Choose, k.Sign, k.Back},
			full:  [][]key.Binding{{k.NextField, k.PrevField, k.Choose}, {k.Sign, k.Back, k.Help}},
		}
	case screenAudit:
		return helpKeys{
			short: []key.Binding{k.Filter, k.Verify, k.Back, k.Help},
			full:  [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}, {k.Filter, k.Verify, k.Back, k.Quit, k.Help}},
		}
	}
	return helpKeys{
		short: []key.Binding{k.Open, k.Filter, k.ForYou, k.Audit, k.Quit, k.Help},
		full:  [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}, {k.Open, k.Filter, k.ForYou, k.Sort}, {k.Audit, k.Reload, k.Quit, k.Help}},
	}
}
