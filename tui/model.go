// Package tui is signoff's review console: the queue of promotions that
// wait for the signer's roles, the review of one subject in sections
// (overview, model card, metrics, fairness, evidence, history), the
// decision form that signs, and the audit timeline.
//
// Everything shown from outside (cards, reasons, names, group values)
// passes through evidence.Inert first. The console opens the ledger only
// for each read or write, so the CLI can use it meanwhile.
package tui

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textarea"
	"charm.land/bubbles/v2/textinput"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/signoff-dev/signoff/inert"
	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
	"github.com/signoff-dev/signoff/themes"
)

// Options configure the console.
type Options struct {
	LedgerDir string // the home's ledger
	Anchor    string // the root to trust
	// KeyPath is the signing key file; with Agent, the agent key whose
	// public half is at KeyPath+".pub" is preferred.
	KeyPath     string
	Agent       bool
	AgentSocket string
	Fingerprint string
	Theme       *themes.Theme
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

type screen int

const (
	screenQueue screen = iota
	screenReview
	screenDecide
	screenAudit
)

// Model is the console's state.
type Model struct {
	opt     Options
	reports policy.Reports // bundles' evaluated evidence, kept across reviews
	th      *themes.Theme
	keys    keyMap
	help    help.Model
	now     func() time.Time

	width, height int
	screen        screen
	showHelp      bool
	isDark        bool
	status        string // a message in the footer
	errText       string // an error in the footer

	// Loaded at start.
	loading bool
	trust   *policy.Trust
	me      Me
	myKey   ledger.Feed

	shared *sharedLedger
	ctx    context.Context // cancelled when the console closes
	cancel context.CancelFunc
	// drawn closes when the first frame is drawn: loading waits for it,
	// so that the first frame does not wait for loading.
	drawn     chan struct{}
	drawnOnce sync.Once

	queue queueState
	rev   reviewState
	form  decideState
	audit auditState
}

// New returns the console's model.
func New(opt Options) *Model {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	th := opt.Theme
	if th == nil {
		th, _ = themes.Get("default")
	}
	m := &Model{opt: opt, th: th, keys: newKeyMap(), help: help.New(), now: opt.Now, width: 80, height: 24, loading: true, isDark: true, shared: &sharedLedger{}, drawn: make(chan struct{})}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.queue.filter = textinput.New()
	m.queue.filter.Prompt = "/ "
	m.queue.filter.Placeholder = "model, version, tier, state, requester"
	m.queue.filter.SetWidth(40)
	m.queue.forYouOnly = false
	m.audit.filter = textinput.New()
	m.audit.filter.Prompt = "/ "
	m.audit.filter.Placeholder = "model, signer or kind"
	m.audit.filter.SetWidth(40)
	m.rev.vp = viewport.New(viewport.WithWidth(80), viewport.WithHeight(18))
	m.form.reason = textarea.New()
	m.form.reason.ShowLineNumbers = false
	m.form.reason.Placeholder = "Why (required): what you checked and what you found"
	m.form.reason.CharLimit = policy.MaxReason
	m.form.ticket = textinput.New()
	m.form.ticket.Prompt = ""
	m.form.ticket.Placeholder = "e.g. RISK-112"
	m.form.ticket.CharLimit = policy.MaxTicket
	m.form.ticket.SetWidth(30)
	m.form.pass = textinput.New()
	m.form.pass.Prompt = ""
	m.form.pass.EchoMode = textinput.EchoPassword
	m.form.pass.Placeholder = "passphrase of " + filepath.Base(opt.KeyPath)
	m.form.pass.SetWidth(30)
	m.styleInputs()
	return m
}

// messages

type loadedMsg struct {
	trust *policy.Trust
	me    Me
	rows  chan rowsMsg
	err   error
}

type rowsMsg struct {
	rows   []Row
	done   bool
	err    error
	rowsCh chan rowsMsg // where the next batch comes from
}

// Init starts loading: the first frame does not wait for it.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(m.load(), tea.RequestBackgroundColor)
}

// sharedLedger is the console's ledger while some operation needs it:
// opened by the first, closed when the last is done, so that the CLI can
// use the ledger whenever the console is idle.
type sharedLedger struct {
	mu   sync.Mutex
	l    *ledger.Ledger
	refs int
	busy sync.WaitGroup // one per acquire not yet released
}

func (s *sharedLedger) acquire(dir string) (*ledger.Ledger, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refs == 0 {
		l, err := ledger.Open(dir)
		if err != nil {
			return nil, err
		}
		s.l = l
	}
	s.refs++
	s.busy.Add(1)
	return s.l, nil
}

func (s *sharedLedger) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refs--; s.refs == 0 {
		s.l.Close()
		s.l = nil
	}
	s.busy.Done()
}

// Close stops what the console was reading in the background and waits
// until the ledger is closed: a process that exits with the ledger open
// leaves it to be recovered.
func (m *Model) Close() {
	m.cancel()
	m.shared.busy.Wait()
}

// withLedger runs fn with the ledger open.
func (m *Model) withLedger(fn func(*ledger.Ledger) error) error {
	l, err := m.shared.acquire(m.opt.LedgerDir)
	if err != nil {
		return err
	}
	defer m.shared.release()
	return fn(l)
}

// myFeed returns the signer's key feed and the identity it claims.
func (m *Model) myFeed() (ledger.Feed, string, error) {
	if m.opt.Agent && m.opt.KeyPath == "" {
		s, err := ledger.NewAgentSigner(m.opt.AgentSocket, m.opt.Fingerprint, nil)
		if err != nil {
			return ledger.Feed{}, "", err
		}
		defer s.Close()
		return ledger.FeedOf(s.PublicKey().Marshal()), s.Identity(), nil
	}
	pub, comment, err := ledger.ReadPublicKeyFile(m.opt.KeyPath + ".pub")
	if err != nil {
		return ledger.Feed{}, "", err
	}
	return ledger.FeedOf(pub.Marshal()), comment, nil
}

// load reads the governance and the signer's standing, then streams the
// queue in batches on a channel.
func (m *Model) load() tea.Cmd {
	now := m.now()
	return func() tea.Msg {
		select {
		case <-m.drawn:
		case <-time.After(200 * time.Millisecond):
		}
		feed, claimed, err := m.myFeed()
		if err != nil {
			return loadedMsg{err: fmt.Errorf("your key: %w", err)}
		}
		l, err := m.shared.acquire(m.opt.LedgerDir)
		if err != nil {
			return loadedMsg{err: err}
		}
		trust, err := policy.LoadTrust(l, m.opt.Anchor, now)
		if err != nil {
			m.shared.release()
			return loadedMsg{err: err}
		}
		me := whoAmI(trust, feed, claimed, now)
		ch := make(chan rowsMsg, 4)
		go func() {
			err := loadQueue(m.ctx, l, trust, me, now, func(rows []Row) {
				select {
				case ch <- rowsMsg{rows: rows}:
				case <-m.ctx.Done(): // the console has closed
				}
			})
			m.shared.release()
			if m.ctx.Err() != nil {
				return
			}
			ch <- rowsMsg{done: true, err: err}
			close(ch)
		}()
		return loadedMsg{trust: trust, me: me, rows: ch}
	}
}

func waitRows(ch chan rowsMsg) tea.Cmd {
	return func() tea.Msg {
		msg, ok := <-ch
		if !ok {
			return rowsMsg{done: true}
		}
		msg.rowsCh = ch
		return msg
	}
}

// Update handles a message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.resize()
		return m, nil
	case tea.BackgroundColorMsg:
		m.isDark = msg.IsDark()
		m.styleInputs()
		m.rev.cardCache = nil
		if m.screen == screenReview {
			m.refreshSection()
		}
		return m, nil
	case loadedMsg:
		if msg.err != nil {
			m.loading = false
			m.errText = msg.err.Error()
			return m, nil
		}
		m.trust, m.me, m.myKey = msg.trust, msg.me, msg.me.Feed
		if m.me.Standing != "" {
			m.status = "you cannot sign here: " + m.me.Standing
		}
		return m, waitRows(msg.rows)
	case rowsMsg:
		if msg.err != nil {
			m.errText = msg.err.Error()
		}
		m.queue.add(msg.rows)
		m.applyQueueFilter()
		if msg.done {
			m.loading = false
			return m, nil
		}
		return m, waitRows(msg.rowsCh)
	case reviewMsg:
		return m.reviewLoaded(msg)
	case signedMsg:
		return m.signed(msg)
	case auditMsg:
		return m.auditLoaded(msg)
	case verifyMsg:
		return m.verifyUpdate(msg)
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	// Other messages (cursor blinks) go to the focused input.
	return m.forwardToInput(msg)
}

func (m *Model) key(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	if msg.String() == "ctrl+c" {
		return m, tea.Quit
	}
	if m.typing() {
		return m.typingKey(msg)
	}
	if key.Matches(msg, m.keys.Help) {
		m.showHelp = !m.showHelp
		m.resize()
		return m, nil
	}
	switch m.screen {
	case screenReview:
		return m.reviewKey(msg)
	case screenDecide:
		return m.decideKey(msg)
	case screenAudit:
		return m.auditKey(msg)
	}
	return m.queueKey(msg)
}

// typing reports whether a text field has the keys.
func (m *Model) typing() bool {
	switch m.screen {
	case screenQueue:
		return m.queue.filtering
	case screenAudit:
		return m.audit.filtering
	case screenDecide:
		return m.form.field == fieldReason || m.form.field == fieldTicket || m.form.field == fieldPass
	}
	return false
}

func (m *Model) typingKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch m.screen {
	case screenQueue:
		return m.queueFilterKey(msg)
	case screenAudit:
		return m.auditFilterKey(msg)
	}
	return m.decideKey(msg)
}

func (m *Model) forwardToInput(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	switch {
	case m.screen == screenQueue && m.queue.filtering:
		m.queue.filter, cmd = m.queue.filter.Update(msg)
	case m.screen == screenAudit && m.audit.filtering:
		m.audit.filter, cmd = m.audit.filter.Update(msg)
	case m.screen == screenDecide:
		cmd = m.form.updateFocused(msg)
	}
	return m, cmd
}

// resize fits the components to the window.
func (m *Model) resize() {
	w := max(m.width, 20)
	m.help.SetWidth(w)
	m.rev.vp.SetWidth(w)
	m.rev.vp.SetHeight(max(m.bodyHeight()-2, 3))
	m.form.reason.SetWidth(max(w-4, 20))
	m.form.reason.SetHeight(4)
	m.rev.cardCache = nil
	if m.screen == screenReview {
		m.refreshSection()
	}
}

// bodyHeight is the rows between the header and the footer.
func (m *Model) bodyHeight() int {
	m.help.ShowAll = m.showHelp
	footer := 1 + lipgloss.Height(m.help.View(m.helpFor()))
	return max(m.height-1-footer, 3)
}

func (m *Model) styleInputs() {
	// A steady cursor: easier to find, and no redraw twice a second.
	ts := textinput.DefaultStyles(m.isDark)
	ts.Cursor.Blink = false
	for _, ti := range []*textinput.Model{&m.queue.filter, &m.audit.filter, &m.form.ticket, &m.form.pass} {
		ti.SetStyles(ts)
	}
	as := textarea.DefaultStyles(m.isDark)
	as.Cursor.Blink = false
	m.form.reason.SetStyles(as)
	m.help.Styles = help.DefaultStyles(m.isDark)
	if m.th.Name == "plain" {
		m.help.Styles = help.Styles{}
	}
}

// View draws the screen.
func (m *Model) View() tea.View {
	var body string
	switch m.screen {
	case screenReview:
		body = m.reviewView()
	case screenDecide:
		body = m.decideView()
	case screenAudit:
		body = m.auditView()
	default:
		body = m.queueView()
	}
	body = fitHeight(body, m.bodyHeight())
	v := tea.NewView(lipgloss.JoinVertical(lipgloss.Left, m.headerView(), body, m.footerView()))
	m.drawnOnce.Do(func() { close(m.drawn) })
	v.AltScreen = true
	v.WindowTitle = "signoff review"
	return v
}

func (m *Model) headerView() string {
	who := "loading…"
	if m.trust != nil {
		who = safe(m.me.Identity)
		if len(m.me.Roles) > 0 {
			who += " (" + strings.Join(m.me.Roles, ", ") + ")"
		}
	}
	name := map[screen]string{screenQueue: "Queue", screenReview: "Review", screenDecide: "Decide", screenAudit: "Audit"}[m.screen]
	left := m.th.Title.Render("signoff") + " " + m.th.Subtle.Render("·") + " " + m.th.Text.Render(name)
	right := m.th.Subtle.Render(who)
	gap := max(m.width-lipgloss.Width(left)-lipgloss.Width(right), 1)
	return truncate(left+strings.Repeat(" ", gap)+right, m.width)
}

func (m *Model) footerView() string {
	status := ""
	switch {
	case m.errText != "":
		status = m.th.Fail.Render("✗ " + inert.Line(m.errText))
	case m.status != "":
		status = m.th.Subtle.Render(inert.Line(m.status))
	}
	m.help.ShowAll = m.showHelp
	return truncate(status, m.width) + "\n" + m.help.View(m.helpFor())
}

// helpers

// inert makes outside text safe and one line.
func safe(s string) string { return inert.Line(inert.Text(s)) }

// truncate cuts s to width display columns.
func truncate(s string, width int) string {
	if width <= 0 {
		return ""
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, width, "…")
	}
	return strings.Join(lines, "\n")
}

// pad pads or cuts s to exactly width display columns.
func pad(s string, width int) string {
	s = ansi.Truncate(s, width, "…")
	if w := lipgloss.Width(s); w < width {
		s += strings.Repeat(" ", width-w)
	}
	return s
}

// fitHeight makes s exactly h lines.
func fitHeight(s string, h int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}

func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case t.IsZero():
		return "-"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// errNeedPassphrase asks the form for the key's passphrase.
var errNeedPassphrase = errors.New("the key is encrypted: type its passphrase")

// displayWidth is the columns s takes on screen.
func displayWidth(s string) int { return lipgloss.Width(s) }

// stripOSC removes OSC strings (hyperlinks) that the markdown renderer
// wrote, keeping its colours.
func stripOSC(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "\x1b]")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		rest := s[i+2:]
		end, n := len(rest), 0
		if j := strings.IndexByte(rest, '\a'); j >= 0 {
			end, n = j, 1
		}
		if j := strings.Index(rest, "\x1b\\"); j >= 0 && j < end {
			end, n = j, 2
		}
		s = rest[min(end+n, len(rest)):]
	}
}
