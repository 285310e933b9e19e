package ledger

import (
	"errors"
	"fmt"
	"strings"
)

// Errors callers test for.
var (
	ErrNotFound     = errors.New("no such entry")
	ErrLocked       = errors.New("ledger is in use by another signoff process")
	ErrTampered     = errors.New("ledger does not verify")
	ErrEquivocation = errors.New("equivocation: two entries with the same feed and seq")
	ErrNoLedger     = errors.New("no ledger")
	ErrReadOnly     = errors.New("ledger is open read-only")
)

// An EntryError says which entry is bad and why.
type EntryError struct {
	Line int // line of an import file, or 0
	Feed Feed
	Seq  uint64
	ID   ID
	Err  error
}

func (e *EntryError) Error() string {
	var where []string
	if e.Line > 0 {
		where = append(where, fmt.Sprintf("line %d", e.Line))
	}
	if e.Feed != (Feed{}) {
		where = append(where, "feed "+e.Feed.String())
	}
	if e.Seq != 0 {
		where = append(where, fmt.Sprintf("seq %d", e.Seq))
	}
	if !e.ID.IsZero() {
		where = append(where, "entry "+e.ID.String())
	}
	if len(where) == 0 {
		return e.Err.Error()
	}
	return strings.Join(where, " ") + ": " + e.Err.Error()
}

func (e *EntryError) Unwrap() error { return e.Err }
