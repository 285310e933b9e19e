package sync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
)

// PushReply is what POST /v1/entries answers.
type PushReply struct {
	Accepted int               `json:"accepted"` // entries stored now
	Held     int               `json:"held"`     // entries the server had already
	Blobs    int               `json:"blobs"`    // blobs stored or held
	Refused  []Refusal         `json:"refused"`
	Heads    map[string]uint64 `json:"heads"` // the server's head seq of each feed pushed to
	Error    string            `json:"error,omitempty"`
}

// severity orders refusals for the reply's status: the most telling
// first.
var severity = map[int]int{http.StatusBadRequest: 4, http.StatusRequestEntityTooLarge: 3, http.StatusConflict: 2, http.StatusForbidden: 1}

func (s *Server) push(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > MaxPush {
		fail(w, http.StatusRequestEntityTooLarge, "a push holds at most %d bytes; this one %d: send it in parts", MaxPush, r.ContentLength)
		return
	}
	if !slot(w, r, s.pushes) {
		return
	}
	defer func() { <-s.pushes }()
	// A push slot is held while the body arrives: the body must come at
	// a megabyte a second or better, so that a trickle cannot hold it.
	limit := 60 * time.Second
	if r.ContentLength >= 0 {
		limit = 10*time.Second + time.Duration(r.ContentLength/(1<<20))*time.Second
	}
	if err := http.NewResponseController(w).SetReadDeadline(time.Now().Add(limit)); err != nil {
		s.log.Warn("cannot bound the push's read time", "err", err)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxPush))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		fail(w, http.StatusRequestEntityTooLarge, "a push holds at most %d bytes: send it in parts", MaxPush)
		return
	} else if err != nil {
		fail(w, http.StatusBadRequest, "reading the body: %v", err)
		return
	}
	s.log.Info("push received", "bytes", len(body), "remote", r.RemoteAddr)
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx := r.Context()
	if err := s.catchUpLocked(ctx, time.Now()); err != nil {
		fail(w, http.StatusServiceUnavailable, "%v", err)
		return
	}
	var reply *PushReply
	stored := 0 // by tries that another server's batch then cut short
	for tries := 0; ; tries++ {
		var err error
		reply, err = s.ingest(ctx, body)
		if reply != nil && stored > 0 {
			// What earlier tries stored is held now: it was this push's.
			reply.Accepted, reply.Held = reply.Accepted+stored, reply.Held-stored
		}
		if errors.Is(err, ErrExists) && tries < maxRetries && reply != nil {
			stored = reply.Accepted
			// Another server wrote the batch this one was to be: read it,
			// and check the push again against it.
			if err := s.catchUpLocked(ctx, time.Now()); err != nil {
				fail(w, http.StatusServiceUnavailable, "%v", err)
				return
			}
			continue
		}
		if err != nil {
			s.log.Error("push", "err", err)
			fail(w, http.StatusServiceUnavailable, "nothing acknowledged: %v; push again", err)
			return
		}
		break
	}
	status := http.StatusOK
	for _, f := range reply.Refused {
		if severity[f.Status] > severity[status] {
			status = f.Status
		}
	}
	if status != http.StatusOK {
		reply.Error = fmt.Sprintf("%d lines refused (%d entries stored, %d held already, %d blobs stored); first: line %d: %s",
			len(reply.Refused), reply.Accepted, reply.Held, reply.Blobs, reply.Refused[0].Line, reply.Refused[0].Error)
	}
	s.log.Info("push", "accepted", reply.Accepted, "held", reply.Held, "blobs", reply.Blobs, "refused", len(reply.Refused))
	writeJSONReply(w, status, reply)
}

// ingest checks each line of a push and stores those that pass: entries
// that verify (on every core), are signed by someone the trusted
// governance admits (governance first, in rounds, so one push may carry
// a keyring and entries by its members), fork nothing, and extend their
// feed by the ledger's own chain rules, each round checked whole before
// it is written (to the backing store first); then the blobs that hash
// right and that a request held here carries.
func (s *Server) ingest(ctx context.Context, body []byte) (*PushReply, error) {
	l := s.opt.Ledger
	reply := &PushReply{Refused: []Refusal{}, Heads: map[string]uint64{}}
	entries, blobs, bad := parseLines(body)
	reply.Refused = append(reply.Refused, bad...)
	pushed := map[ledger.Feed]bool{}
	for _, ln := range entries {
		pushed[ln.e.Feed] = true
	}
	now := s.opt.Now()
	// taken holds the id stored or accepted at each feed and seq.
	type place struct {
		f   ledger.Feed
		seq uint64
	}
	taken := map[place]ledger.ID{}
	// other holds, for an entry known just now not to be held, the other
	// entry the ledger holds at its place, if any: check reads it there
	// rather than the feed again.
	other := map[*line]*ledger.ID{}
	known := func(ln *line) (bool, error) {
		held, o, err := s.placeOf(ln.e)
		if held {
			taken[place{ln.e.Feed, ln.e.Seq}] = ln.e.ID
		}
		other[ln] = o
		return held, err
	}
	chain := l.NewChainCheck()
	check := func(ln *line) (int, string, error) {
		e := ln.e
		if id, ok := taken[place{e.Feed, e.Seq}]; ok && id != e.ID {
			return http.StatusConflict, fmt.Sprintf("equivocation: seq %d of feed %s is also %s in this push", e.Seq, e.Feed, id), nil
		}
		if o := other[ln]; o != nil {
			return http.StatusConflict, fmt.Sprintf("equivocation: seq %d of feed %s (%s) is already %s here", e.Seq, e.Feed, e.Identity, o), nil
		}
		status, why, err := chained(chain, e)
		if why == "" && err == nil {
			taken[place{e.Feed, e.Seq}] = e.ID
		}
		return status, why, err
	}
	g := &gate{anchor: s.opt.Anchor, now: now, trust: func() (*policy.Trust, error) { return s.pushTrust(now) }, stale: func() { s.trust = nil }}
	store := func(ls []*line) (int, error) {
		n, err := s.store(ctx, ls, nil)
		switch {
		case err != nil:
			s.refs = nil // read again: some may be stored
		case s.refs != nil:
			for _, ln := range ls {
				addRefs(s.refs, ln.e)
			}
		}
		return n, err
	}
	added, held, refused, err := admit(entries, g, check, store, known)
	reply.Accepted, reply.Held = added, held
	reply.Refused = append(reply.Refused, refused...)
	if err != nil {
		return reply, err // with what an earlier round stored
	}
	// Blobs: only the evidence some request here carries, so that no one
	// outside the keyring can fill the store.
	if s.refs == nil {
		if s.refs, err = referenced(l); err != nil {
			return nil, err
		}
	}
	var keep []*line
	for _, b := range blobs {
		if !s.refs[b.digest] {
			reply.Refused = append(reply.Refused, Refusal{Line: b.n, Status: http.StatusForbidden,
				Error: fmt.Sprintf("blob %s is evidence of no request here: push it with the request that carries it", b.digest)})
			continue
		}
		keep = append(keep, b)
	}
	if _, err := s.store(ctx, nil, keep); err != nil {
		return reply, err
	}
	reply.Blobs = len(keep)
	hs, err := l.Heads()
	if err != nil {
		return nil, err
	}
	for _, h := range hs {
		if pushed[h.Feed] {
			reply.Heads[h.Feed.String()] = h.Seq
		}
	}
	slices.SortFunc(reply.Refused, func(a, b Refusal) int { return a.Line - b.Line })
	return reply, nil
}

// placeOf says whether the ledger holds e, or another entry at its
// feed and seq.
func (s *Server) placeOf(e *ledger.Entry) (held bool, other *ledger.ID, err error) {
	err = s.opt.Ledger.FeedEntries(e.Feed, e.Seq-1, func(x *ledger.Entry) error {
		if x.Seq != e.Seq {
			return ledger.ErrStop
		}
		if x.ID == e.ID {
			held = true
			return ledger.ErrStop
		}
		id := x.ID
		other = &id
		return nil
	})
	if held {
		other = nil
	}
	return held, other, err
}

// store writes entries and blobs, checked already one by one: with a
// backing store first as the next batch of its log (ErrExists if another
// server took that number), then into the ledger. It returns how many
// entries were new.
func (s *Server) store(ctx context.Context, entries, blobs []*line) (int, error) {
	if len(entries) == 0 && len(blobs) == 0 {
		return 0, nil
	}
	data := joinLines(blobs, entries)
	s.st.init()
	if s.opt.Backing != nil {
		name := batchName(s.st.LastBatch + 1)
		if err := s.opt.Backing.PutNew(ctx, name, data); err != nil {
			return 0, err
		}
		s.st.LastBatch, s.st.Digests[name] = s.st.LastBatch+1, digest(data)
	}
	r, err := s.opt.Ledger.Import(bytes.NewReader(data), ledger.ImportOptions{Verified: true})
	if err != nil {
		// Checked lines that the ledger refused: a fault here, not in the
		// push.
		return 0, fmt.Errorf("the ledger refused lines checked already: %w", err)
	}
	for _, ln := range entries {
		f := ln.e.Feed.String()
		s.st.Seen[f] = max(s.st.Seen[f], ln.e.Seq)
	}
	for _, b := range blobs {
		s.st.Blobs[b.digest] = true
	}
	return r.Added, nil
}
