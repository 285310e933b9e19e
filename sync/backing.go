package sync

import (
	"context"
	"fmt"
	"time"
)

// catchUp takes what the backing store holds that the ledger lacks, and
// writes what the ledger holds that the store lacks, unless a catch-up
// that began after since already did. Callers hold no lock.
func (s *Server) catchUp(ctx context.Context, since time.Time) error {
	if s.opt.Backing == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.catchUpLocked(ctx, since)
}

func (s *Server) catchUpLocked(ctx context.Context, since time.Time) error {
	if s.opt.Backing == nil || s.refreshed.After(since) {
		return s.refresh
	}
	start := time.Now()
	// A read of the store lists what is new; the batches read before are
	// read again (a changed or missing one is tampering or a rollback)
	// once a minute, not on every request.
	s.st.NoAudit = start.Sub(s.audited) < auditEvery
	res, err := Sync(ctx, s.opt.Ledger, s.opt.Backing, &s.st, s.opt.Anchor)
	s.refreshed, s.refresh = start, err
	if err == nil && !s.st.NoAudit {
		s.audited = start
	}
	if err != nil {
		s.log.Error("reading the backing store", "err", err)
		return fmt.Errorf("the backing store: %w", err)
	}
	if res.Pulled > 0 {
		s.trust, s.refs = nil, nil // it may have brought governance, requests
	}
	if res.Pulled > 0 || res.Pushed > 0 || res.RefusedCount > 0 {
		s.log.Info("backing store", "pulled", res.Pulled, "pushed", res.Pushed, "refused", res.RefusedCount, "requests", res.Requests)
	}
	return nil
}
