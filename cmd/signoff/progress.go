package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// progress shows a one-line counter on stderr while a long operation runs:
// only on a terminal, and only once the operation has taken a second.
type progress struct {
	w     io.Writer
	start time.Time
	mu    sync.Mutex
	shown bool
	last  time.Time
}

func (a *app) newProgress() *progress {
	f, ok := a.stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return &progress{w: f, start: time.Now()}
}

// update shows msg if the operation has run for a second, at most ten times
// a second. A nil progress shows nothing.
func (p *progress) update(format string, args ...any) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.start) < time.Second || now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last, p.shown = now, true
	fmt.Fprintf(p.w, "\r\x1b[K"+format, args...)
}

// done clears the line.
func (p *progress) done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

// lineCounter passes writes through and reports how many lines have gone
// by, for a progress display over a stream of JSON Lines.
type lineCounter struct {
	w     io.Writer
	lines int
	each  func(lines int)
}

func (c *lineCounter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	for _, ch := range b[:n] {
		if ch == '\n' {
			c.lines++
		}
	}
	c.each(c.lines)
	return n, err
}

// busy shows msg and the seconds spent on a long step that has no count
// to show (computing a bundle's intervals), from its first second on, on a
// terminal. Call the returned func when the step is done.
func (a *app) busy(msg string) func() {
	return a.busyWith(func() string { return msg })
}

// busyWith is busy with a message that changes: msg is called on each
// refresh.
func (a *app) busyWith(msg func() string) func() {
	p := a.newProgress()
	if p == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				p.update("%s (%ds)", msg(), int(time.Since(p.start).Seconds()))
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		p.done()
	}
}
