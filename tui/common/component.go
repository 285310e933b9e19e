package common

import (
	"charm.land/bubbles/v2/help"
	tea "charm.land/bubbletea/v2"

	"github.com/signoff-dev/signoff/policy"
	"github.com/signoff-dev/signoff/tui/data"
)

// A Component is a piece of the console with its own state: it takes
// messages, draws itself in the space it was given, and says which keys
// it answers to.
type Component interface {
	// Update handles a message; it returns the component itself.
	Update(tea.Msg) (Component, tea.Cmd)
	// View draws the component, at most as wide and high as its size.
	View() string
	// SetSize gives the component its space on screen.
	SetSize(width, height int)
	help.KeyMap
}

// A Page is one screen of the console: the queue, a review, the
// decision form, the audit timeline.
type Page interface {
	Component
	// Init starts what the page reads when the console starts.
	Init() tea.Cmd
	// Title names the page in the header.
	Title() string
	// Typing reports whether a text field has the keys, so that none of
	// them is taken as a command.
	Typing() bool
}

// PageID names a page.
type PageID int

// The pages, in the order the console holds them.
const (
	QueuePage PageID = iota
	ReviewPage
	DecidePage
	AuditPage
	NumPages
)

// A PageMsg is a message for one page, whichever is in front: what it
// was reading in the background, or what another page sends it when it
// hands over the screen ([Common.Go]).
type PageMsg interface {
	tea.Msg
	// For names the page the message is for.
	For() PageID
}

// What one page sends another with [Common.Go].

// ShowQueueMsg brings the queue to the front, read again if Reload.
type ShowQueueMsg struct{ Reload bool }

// OpenReviewMsg opens the review of the row's subject.
type OpenReviewMsg struct{ Row data.Row }

// ResumeReviewMsg goes back to the review open before.
type ResumeReviewMsg struct{}

// OpenDecideMsg opens the decision form on the review: what the reader
// opened of it, and for how long.
type OpenDecideMsg struct {
	Review   *data.Review
	Reviewed []policy.Reviewed
}

// OpenAuditMsg opens the audit timeline, read again.
type OpenAuditMsg struct{}

// For implements [PageMsg].
func (ShowQueueMsg) For() PageID    { return QueuePage }
func (OpenReviewMsg) For() PageID   { return ReviewPage }
func (ResumeReviewMsg) For() PageID { return ReviewPage }
func (OpenDecideMsg) For() PageID   { return DecidePage }
func (OpenAuditMsg) For() PageID    { return AuditPage }
