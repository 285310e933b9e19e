package policy

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/signoff-dev/signoff/ledger"
)

// JudgeOpen judges each request open at at ([OpenRequests]) by [Judge],
// with t and reports, several at once, and calls fn with each request and
// its verdict (or the error judging it gave) in the order they were first
// requested. It stops at fn's first error, or when ctx is done, and
// returns only once no verdict is being worked on, so the caller may
// close l. Status and the console's queue both read the open requests
// through it.
func JudgeOpen(ctx context.Context, l *ledger.Ledger, t *Trust, reports *Reports, at time.Time, fn func(OpenRequest, *Verdict, error) error) error {
	open, err := OpenRequests(l, t, at)
	if err != nil {
		return err
	}
	type judged struct {
		v    *Verdict
		err  error
		done chan struct{}
	}
	res := make([]judged, len(open))
	for i := range res {
		res[i].done = make(chan struct{})
	}
	ctx, cancel := context.WithCancel(ctx)
	// A slot is taken before a verdict starts and given back once fn has
	// it: no more than slots verdicts are worked on or wait at once.
	slots := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() {
		for i, o := range open {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Go(func() {
				defer close(res[i].done)
				res[i].v, res[i].err = Judge(l, Query{Bundle: o.Subject.Bundle, To: o.Subject.To, At: at, Anchor: t.Anchor, Trust: t, Reports: reports})
			})
		}
	})
	for i, o := range open {
		if err := ctx.Err(); err != nil {
			return err
		}
		select {
		case <-res[i].done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := fn(o, res[i].v, res[i].err); err != nil {
			return err
		}
		<-slots
	}
	return nil
}
