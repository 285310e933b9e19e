package common

import (
	"sync"

	"github.com/signoff-dev/signoff/home"
	"github.com/signoff-dev/signoff/ledger"
)

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

// WithLedger runs fn with the ledger open.
func (c *Common) WithLedger(fn func(*ledger.Ledger) error) error {
	l, err := c.shared.acquire(c.Opt.Home.Path(home.LedgerDir))
	if err != nil {
		return err
	}
	defer c.shared.release()
	return fn(l)
}

// OpenLedger opens the ledger for an operation that outlives the call,
// such as a read streamed in the background; release closes it (when no
// other operation has it open) and must be called once.
func (c *Common) OpenLedger() (l *ledger.Ledger, release func(), err error) {
	l, err = c.shared.acquire(c.Opt.Home.Path(home.LedgerDir))
	if err != nil {
		return nil, nil, err
	}
	return l, c.shared.release, nil
}

// Close stops what the console was reading in the background and waits
// until the ledger is closed: a process that exits with the ledger open
// leaves it to be recovered.
func (c *Common) Close() {
	c.cancel()
	c.shared.busy.Wait()
}
