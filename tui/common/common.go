// Package common is what every page and component of the console shares:
// the [Component] and [Page] interfaces, and [Common], the context each
// of them gets (styles, key map, window size, the clock, the signer and
// the trust history, the ledger while an operation needs it, the status
// line, and the way one page hands the screen to another).
//
// # Ledger
//
// The console opens the ledger only while some operation needs it
// ([Common.WithLedger]), so that the CLI can use it whenever the console
// is idle. [Common.Close] waits until it is closed.
//
// # Moving between pages
//
// A page that hands over the screen calls [Common.Go] with a [PageMsg]
// for the page that takes it; the root brings that page to the front and
// gives it the message as soon as the current Update returns, before any
// other key, so keys typed ahead land on the page they were meant for.
package common

import (
	"context"
	"sync"
	"time"

	"charm.land/bubbles/v2/textarea"
	"charm.land/bubbles/v2/textinput"

	"github.com/signoff-dev/signoff/home"
	"github.com/signoff-dev/signoff/policy"
	"github.com/signoff-dev/signoff/themes"
	"github.com/signoff-dev/signoff/tui/data"
	"github.com/signoff-dev/signoff/tui/keymap"
)

// Options are what the console was started with.
type Options struct {
	Home   *home.Home // the signer's home: its ledger and key
	Key    home.Key   // which key signs (its Passphrase is asked in the form)
	Anchor string     // the root to trust
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Tick is how often the review shows the time spent reading; 0 means
	// each second, negative never (tests whose clock stands still).
	Tick time.Duration
}

// Common is the context every page and component shares. The console
// has one, and every part holds a pointer to it; only the UI goroutine
// changes it.
type Common struct {
	Opt    Options
	Styles *themes.Styles
	Keys   *keymap.KeyMap
	// Width and Height are the window's.
	Width, Height int
	// Now is the clock.
	Now func() time.Time

	// Trust and Me are nil and empty until the console has read the
	// governance and found the signer in the keyring.
	Trust *policy.Trust
	Me    data.Me
	// Reports keeps the bundles' evaluated evidence for the console's
	// life: the queue, the review and the decision judge each bundle
	// fully, and evaluate it once.
	Reports *policy.Reports

	status, err string
	next        []PageMsg

	ctx    context.Context // cancelled when the console closes
	cancel context.CancelFunc
	shared *sharedLedger
	// drawn closes when the first frame is drawn.
	drawn     chan struct{}
	drawnOnce sync.Once
}

// New returns the context of a console started with opt and drawn with
// styles.
func New(opt Options, styles *themes.Styles) *Common {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Tick == 0 {
		opt.Tick = time.Second
	}
	c := &Common{Opt: opt, Styles: styles, Keys: keymap.DefaultKeyMap(), Width: 80, Height: 24, Now: opt.Now,
		Reports: &policy.Reports{}, shared: &sharedLedger{}, drawn: make(chan struct{})}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c
}

// Context is cancelled when the console closes.
func (c *Common) Context() context.Context { return c.ctx }

// Drawn is closed once the first frame is drawn: reading at start waits
// for it, so that the first frame does not wait for the reading.
func (c *Common) Drawn() <-chan struct{} { return c.drawn }

// MarkDrawn notes that a frame was drawn.
func (c *Common) MarkDrawn() { c.drawnOnce.Do(func() { close(c.drawn) }) }

// Status line

// SetStatus shows a message in the footer.
func (c *Common) SetStatus(s string) { c.status = s }

// SetError shows an error in the footer, over any message.
func (c *Common) SetError(s string) { c.err = s }

// ClearStatus clears the footer's message and error.
func (c *Common) ClearStatus() { c.status, c.err = "", "" }

// Status returns the footer's message and error.
func (c *Common) Status() (status, err string) { return c.status, c.err }

// Moving between pages

// Go hands the screen to the page msg is for, giving it msg.
func (c *Common) Go(msg PageMsg) { c.next = append(c.next, msg) }

// TakeGo returns what [Common.Go] was asked, in order, and forgets it.
func (c *Common) TakeGo() []PageMsg {
	next := c.next
	c.next = nil
	return next
}

// Text fields

// StyleInput gives a text field the styles for the background, with a
// steady cursor: easier to find, and no redraw twice a second.
func (c *Common) StyleInput(ti *textinput.Model) {
	s := textinput.DefaultStyles(c.Styles.IsDark)
	s.Cursor.Blink = false
	ti.SetStyles(s)
}

// StyleArea is [Common.StyleInput] for a text area.
func (c *Common) StyleArea(ta *textarea.Model) {
	s := textarea.DefaultStyles(c.Styles.IsDark)
	s.Cursor.Blink = false
	ta.SetStyles(s)
}
