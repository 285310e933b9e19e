// Package tui is signoff's review console: the queue of promotions that
// wait for the signer's roles, the review of one subject in sections
// (overview, model card, metrics, fairness, evidence, history), the
// decision form that signs, and the audit timeline.
//
// Everything shown from outside (cards, reasons, names, group values)
// is made inert first ([inert.Text]). The console opens the ledger only
// for each read or write, so the CLI can use it meanwhile.
//
// # Layout
//
// The console is split as soft-serve splits its UI. Each screen is a
// page (tui/pages/queue, review, decide, audit) implementing
// [common.Page]: its own state, Update, View, size and help. The pieces
// they share are components under tui/components (the header and footer,
// the section tabs, the search field, tables, text fitting, markdown),
// the keys are one [github.com/signoff-dev/signoff/tui/keymap.KeyMap], and what every part shares is a
// [common.Common]. The [Model] here only routes messages and draws the
// frame: the header, the page in front, the footer.
//
// [inert.Text]: https://pkg.go.dev/github.com/signoff-dev/signoff/inert#Text
package tui

import (
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/signoff-dev/signoff/home"
	"github.com/signoff-dev/signoff/themes"
	"github.com/signoff-dev/signoff/tui/common"
	"github.com/signoff-dev/signoff/tui/components/footer"
	"github.com/signoff-dev/signoff/tui/components/header"
	"github.com/signoff-dev/signoff/tui/components/text"
	"github.com/signoff-dev/signoff/tui/pages/audit"
	"github.com/signoff-dev/signoff/tui/pages/decide"
	"github.com/signoff-dev/signoff/tui/pages/queue"
	"github.com/signoff-dev/signoff/tui/pages/review"
)

// Options configure the console.
type Options struct {
	Home   *home.Home // the signer's home: its ledger and key
	Key    home.Key   // which key signs: the home's file, another, or ssh-agent
	Anchor string     // the root to trust
	// Theme names the theme (themes.Names); "" and names of no theme
	// are the default.
	Theme string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Tick is how often the review shows the time spent reading; 0 means
	// each second, negative never.
	Tick time.Duration
}

// Model is the console: the pages, the one in front, and the frame
// around it.
type Model struct {
	c      *common.Common
	theme  string
	pages  [common.NumPages]common.Page
	front  common.PageID
	sized  [common.NumPages][2]int // the size each page was last given
	header *header.Header
	footer *footer.Footer
}

// New returns the console's model.
func New(opt Options) *Model {
	styles, err := themes.New(opt.Theme, true)
	if err != nil {
		styles, _ = themes.New("default", true)
	}
	c := common.New(common.Options{Home: opt.Home, Key: opt.Key, Anchor: opt.Anchor, Now: opt.Now, Tick: opt.Tick}, styles)
	m := &Model{c: c, theme: styles.Name, header: header.New(c)}
	m.pages = [common.NumPages]common.Page{
		common.QueuePage:  queue.New(c),
		common.ReviewPage: review.New(c),
		common.DecidePage: decide.New(c),
		common.AuditPage:  audit.New(c),
	}
	m.footer = footer.New(c, m.pages[m.front])
	m.layout()
	return m
}

// Close stops what the console was reading in the background and waits
// until the ledger is closed: a process that exits with the ledger open
// leaves it to be recovered.
func (m *Model) Close() { m.c.Close() }

// Init starts the pages' reading and asks the terminal's background
// colour: the first frame waits for neither.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{tea.RequestBackgroundColor}
	for _, p := range m.pages {
		cmds = append(cmds, p.Init())
	}
	return tea.Batch(cmds...)
}

// Update routes a message: the window's size and the background colour
// to the frame and the pages, a message for one page to it, keys (but
// ctrl+c and ?) and the rest to the page in front.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.c.Width, m.c.Height = msg.Width, msg.Height
	case tea.BackgroundColorMsg:
		if styles, err := themes.New(m.theme, msg.IsDark()); err == nil {
			m.c.Styles = styles
		}
		m.footer.Restyle()
		var cmds []tea.Cmd
		for _, p := range m.pages {
			_, cmd := p.Update(msg)
			cmds = append(cmds, cmd)
		}
		cmd = tea.Batch(cmds...)
	case tea.KeyPressMsg:
		switch {
		case msg.String() == "ctrl+c":
			return m, tea.Quit
		case !m.pages[m.front].Typing() && key.Matches(msg, m.c.Keys.Help):
			m.footer.SetShowAll(!m.footer.ShowAll())
		default:
			cmd = m.send(m.front, msg)
		}
	case common.PageMsg:
		cmd = m.send(msg.For(), msg)
	default:
		cmd = m.send(m.front, msg)
	}
	m.layout()
	return m, cmd
}

// send gives msg to a page, then brings to the front each page that
// pages hand the screen to ([common.Common.Go]), in order, giving each
// its message.
func (m *Model) send(to common.PageID, msg tea.Msg) tea.Cmd {
	_, cmd := m.pages[to].Update(msg)
	cmds := []tea.Cmd{cmd}
	for next := m.c.TakeGo(); len(next) > 0; next = m.c.TakeGo() {
		for _, g := range next {
			m.front = g.For()
			m.layout()
			_, cmd := m.pages[m.front].Update(g)
			cmds = append(cmds, cmd)
		}
	}
	return tea.Batch(cmds...)
}

// layout fits the frame to the window and gives the page in front the
// rows between the header and the footer.
func (m *Model) layout() {
	p := m.pages[m.front]
	m.header.SetTitle(p.Title())
	m.header.SetSize(m.c.Width, 1)
	m.footer.SetKeys(p)
	m.footer.SetSize(m.c.Width, m.c.Height)
	size := [2]int{m.c.Width, m.bodyHeight()}
	if m.sized[m.front] != size {
		m.sized[m.front] = size
		p.SetSize(size[0], size[1])
	}
}

// bodyHeight is the rows between the header and the footer.
func (m *Model) bodyHeight() int { return max(m.c.Height-1-m.footer.Height(), 3) }

// View draws the frame: the header, the page in front, the footer.
func (m *Model) View() tea.View {
	body := text.FitHeight(m.pages[m.front].View(), m.bodyHeight())
	v := tea.NewView(lipgloss.JoinVertical(lipgloss.Left, m.header.View(), body, m.footer.View()))
	m.c.MarkDrawn()
	v.AltScreen = true
	v.WindowTitle = "signoff review"
	return v
}
