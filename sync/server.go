package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	stdsync "sync"
	"time"

	"github.com/signoff-dev/signoff/evidence"
	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
)

// Limits of the endpoint. A push body holds at most MaxPush bytes; a
// reply of entries at most maxReply bytes (the client asks again for the
// rest).
const (
	MaxPush      = 64 << 20
	maxPushing   = 4 // pushes read or checked at once; the rest wait
	maxReading   = 8 // replies of entries or blobs built at once
	maxReply     = 16 << 20
	maxListBlobs = 10000
)

// ServerOptions configure a [Server].
type ServerOptions struct {
	// Ledger is the server's ledger: the store itself, or, with Backing,
	// a cache of it.
	Ledger *ledger.Ledger
	// Backing, if set, is the log of record (an S3 bucket): entries are
	// acknowledged once written there, and reads first take what other
	// servers on the same bucket wrote. Any number of servers on one
	// bucket behave as one.
	Backing Store
	// Anchor is the digest of the root the server trusts.
	Anchor string
	// Logger receives one record per request.
	Logger *slog.Logger
	// Timeout bounds each request's work.
	Timeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Server is a signoff serve endpoint.
type Server struct {
	opt ServerOptions
	log *slog.Logger

	// Slots bound the memory and CPU that concurrent clients can take:
	// pushes hold a body of up to MaxPush each, verdicts a core each.
	pushes   chan struct{}
	verdicts chan struct{}
	reads    chan struct{} // replies of entries or a blob: up to 32 MiB each

	// mu serializes pushes, and reads from the backing store.
	mu        stdsync.Mutex
	st        State     // what the server has of Backing
	refreshed time.Time // when the last read of Backing began
	refresh   error     // and how it ended
	audited   time.Time // when the batches read were last read again
	// trust is the governance history pushes are checked against, read
	// at trustAt; held under mu and read again when governance arrives,
	// the backing store brings anything, or it is older than trustTTL.
	trust   *policy.Trust
	trustAt time.Time
	// refs are the blobs the ledger's requests carry (see referenced);
	// nil when they must be read again.
	refs map[string]bool

	// reports holds bundles' evaluated evidence: the bootstrap
	// intervals are most of a verdict's cost.
	reports policy.Reports
}

// trustTTL bounds how long pushes are checked against a governance
// history read before: a document signed with a time still ahead when it
// arrived comes into force in the server's eyes at most this late.
const trustTTL = 10 * time.Second

// auditEvery is how often a server reads again the batches of its
// backing store it read before.
const auditEvery = time.Minute

// pushTrust returns the governance history for checking pushes, nil if
// the ledger holds no trusted root yet. Callers hold s.mu.
func (s *Server) pushTrust(now time.Time) (*policy.Trust, error) {
	if s.trust != nil && now.Sub(s.trustAt) < trustTTL && !now.Before(s.trustAt) {
		return s.trust, nil
	}
	t, err := policy.LoadTrust(s.opt.Ledger, s.opt.Anchor, now)
	if errors.Is(err, policy.ErrUnknownRoot) || errors.Is(err, policy.ErrNoRoot) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	s.trust, s.trustAt = t, now
	return t, nil
}

// report returns the bundle's evaluated evidence, or nil (and Judge
// explains why it cannot be had).
func (s *Server) report(bundle string) *evidence.Report {
	b, _, closeFn, err := policy.OpenFromLedger(s.opt.Ledger, bundle)
	if err != nil {
		return nil
	}
	defer closeFn()
	r, err := s.reports.Evaluate(b, bundle)
	if err != nil {
		return nil
	}
	return r
}

// NewServer returns a server on opt's ledger; with a backing store it
// first reads what the store holds.
func NewServer(ctx context.Context, opt ServerOptions) (*Server, error) {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Timeout == 0 {
		opt.Timeout = time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if !policy.IsDigest(opt.Anchor) {
		return nil, fmt.Errorf("the root to trust, %q, is not a sha256: digest", opt.Anchor)
	}
	s := &Server{opt: opt, log: opt.Logger,
		pushes: make(chan struct{}, maxPushing), verdicts: make(chan struct{}, 2*runtime.GOMAXPROCS(0)), reads: make(chan struct{}, maxReading)}
	if opt.Backing != nil {
		if err := s.catchUp(ctx, time.Now()); err != nil {
			return nil, err
		}
	}
	return s, nil
}

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
	res, err := Sync(ctx, s.opt.Ledger, s.opt.Backing, &s.st)
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

// Handler returns the HTTP API:
//
//	GET  /v1/health                   the process is up
//	GET  /v1/ready                    the ledger and backing store answer
//	GET  /v1/heads                    {"feeds":[{"feed","seq","ids"}],"blobs":N}
//	GET  /v1/entries?feed=F&after=N   the feed's entries after seq N, JSON Lines
//	GET  /v1/blobs?after=D            blob digests after D, a JSON list
//	GET  /v1/blobs/DIGEST             a blob
//	POST /v1/entries                  push entries and blobs, JSON Lines
//	GET  /v1/verdict?subject=S&to=T   the verdict, as signoff verify --json
//	     (or model=M&version=V for subject; at=RFC3339 for now)
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/health", func(w http.ResponseWriter, r *http.Request) {
		writeJSONReply(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /v1/ready", s.ready)
	mux.HandleFunc("GET /v1/heads", s.heads)
	mux.HandleFunc("GET /v1/entries", s.entries)
	mux.HandleFunc("POST /v1/entries", s.push)
	mux.HandleFunc("GET /v1/blobs", s.blobs)
	mux.HandleFunc("GET /v1/blobs/{digest}", s.blob)
	mux.HandleFunc("GET /v1/verdict", s.verdict)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fail(w, http.StatusNotFound, "no such endpoint: %s %s (see signoff serve --help)", r.Method, r.URL.Path)
	})
	return s.logged(mux)
}

// statusWriter records what a handler answered, for the log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (s *Server) logged(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx, cancel := context.WithTimeout(r.Context(), s.opt.Timeout)
		defer cancel()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p))
				if sw.status == 0 {
					fail(sw, http.StatusInternalServerError, "internal error")
				}
			}
			s.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
				"bytes", sw.bytes, "ms", time.Since(start).Milliseconds(), "remote", r.RemoteAddr)
		}()
		h.ServeHTTP(sw, r.WithContext(ctx))
	})
}

// An apiError is the body of every refusal.
type apiError struct {
	Error string `json:"error"`
}

func fail(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSONReply(w, status, apiError{Error: fmt.Sprintf(format, args...)})
}

func writeJSONReply(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		status, buf = http.StatusInternalServerError, *bytes.NewBufferString(`{"error":"encoding the reply"}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// read catches up with the backing store for a request that arrived at
// start, or answers 503.
func (s *Server) read(w http.ResponseWriter, r *http.Request, start time.Time) bool {
	if err := s.catchUp(r.Context(), start); err != nil {
		fail(w, http.StatusServiceUnavailable, "%v", err)
		return false
	}
	return true
}

// readSlot takes a slot for building a reply of entries or a blob, then
// catches up with the backing store; ok false means it answered already.
func (s *Server) readSlot(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	start := time.Now()
	if !slot(w, r, s.reads) {
		return nil, false
	}
	if !s.read(w, r, start) {
		<-s.reads
		return nil, false
	}
	return func() { <-s.reads }, true
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if !s.read(w, r, start) {
		return
	}
	if _, err := s.opt.Ledger.Heads(); err != nil {
		fail(w, http.StatusServiceUnavailable, "the ledger: %v", err)
		return
	}
	writeJSONReply(w, http.StatusOK, map[string]string{"status": "ready"})
}

// Heads is what GET /v1/heads answers.
type Heads struct {
	Feeds []Head `json:"feeds"`
	Blobs int    `json:"blobs"` // how many blobs the server holds
}

// A Head is the newest point of one feed.
type Head struct {
	Feed string   `json:"feed"`
	Seq  uint64   `json:"seq"`
	IDs  []string `json:"ids"`
}

func (s *Server) heads(w http.ResponseWriter, r *http.Request) {
	if !s.read(w, r, time.Now()) {
		return
	}
	hs, err := s.opt.Ledger.Heads()
	if err != nil {
		fail(w, http.StatusInternalServerError, "the ledger: %v", err)
		return
	}
	out := Heads{Feeds: []Head{}}
	for _, h := range hs {
		hd := Head{Feed: h.Feed.String(), Seq: h.Seq}
		for _, id := range h.IDs {
			hd.IDs = append(hd.IDs, id.String())
		}
		out.Feeds = append(out.Feeds, hd)
	}
	if err := s.opt.Ledger.BlobDigests(func(string) error { out.Blobs++; return nil }); err != nil {
		fail(w, http.StatusInternalServerError, "the ledger: %v", err)
		return
	}
	writeJSONReply(w, http.StatusOK, out)
}

func (s *Server) entries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	feed, err := ledger.ParseFeed(q.Get("feed"))
	if err != nil {
		fail(w, http.StatusBadRequest, "feed=%q: %v", q.Get("feed"), err)
		return
	}
	after, err := strconv.ParseUint(q.Get("after"), 10, 64)
	if q.Get("after") == "" {
		after, err = 0, nil
	}
	if err != nil {
		fail(w, http.StatusBadRequest, "after=%q is not a seq", q.Get("after"))
		return
	}
	release, ok := s.readSlot(w, r)
	if !ok {
		return
	}
	defer release()
	var buf bytes.Buffer
	more := false
	err = s.opt.Ledger.FeedEntries(feed, after, func(e *ledger.Entry) error {
		if buf.Len() > maxReply {
			more = true
			return ledger.ErrStop
		}
		buf.Write(e.MarshalLine())
		buf.WriteByte('\n')
		return nil
	})
	if err != nil {
		fail(w, http.StatusInternalServerError, "the ledger: %v", err)
		return
	}
	w.Header().Set("Content-Type", "application/jsonl")
	w.Header().Set("Signoff-More", strconv.FormatBool(more))
	w.Write(buf.Bytes())
}

func (s *Server) blobs(w http.ResponseWriter, r *http.Request) {
	after := r.URL.Query().Get("after")
	if !s.read(w, r, time.Now()) {
		return
	}
	out := []string{}
	err := s.opt.Ledger.BlobDigests(func(d string) error {
		if d <= after {
			return nil
		}
		if len(out) == maxListBlobs {
			return ledger.ErrStop
		}
		out = append(out, d)
		return nil
	})
	if err != nil && !errors.Is(err, ledger.ErrStop) {
		fail(w, http.StatusInternalServerError, "the ledger: %v", err)
		return
	}
	writeJSONReply(w, http.StatusOK, out)
}

func (s *Server) blob(w http.ResponseWriter, r *http.Request) {
	d := r.PathValue("digest")
	if !policy.IsDigest(d) {
		fail(w, http.StatusBadRequest, "%q is not a sha256: digest", d)
		return
	}
	release, ok := s.readSlot(w, r)
	if !ok {
		return
	}
	defer release()
	data, err := s.opt.Ledger.Blob(d)
	if errors.Is(err, ledger.ErrNoBlob) {
		fail(w, http.StatusNotFound, "no blob %s here", d)
		return
	} else if err != nil {
		fail(w, http.StatusInternalServerError, "the ledger: %v", err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
}

// PushReply is what POST /v1/entries answers.
type PushReply struct {
	Accepted int               `json:"accepted"` // entries stored now
	Held     int               `json:"held"`     // entries the server had already
	Blobs    int               `json:"blobs"`    // blobs stored or held
	Refused  []Refusal         `json:"refused"`
	Heads    map[string]uint64 `json:"heads"` // the server's head seq of each feed pushed to
	Error    string            `json:"error,omitempty"`
}

// A Refusal is one line the server would not store.
type Refusal struct {
	Line   int    `json:"line"`
	ID     string `json:"id,omitempty"`
	Status int    `json:"status"`
	Error  string `json:"error"`
}

// severity orders refusals for the reply's status: the most telling
// first.
var severity = map[int]int{http.StatusBadRequest: 4, http.StatusRequestEntityTooLarge: 3, http.StatusConflict: 2, http.StatusForbidden: 1}

// slot waits for a free slot in slots, or answers 503 if the request's
// time runs out first. The caller releases it with <-slots.
func slot(w http.ResponseWriter, r *http.Request, slots chan struct{}) bool {
	select {
	case slots <- struct{}{}:
		return true
	case <-r.Context().Done():
		w.Header().Set("Retry-After", "5")
		fail(w, http.StatusServiceUnavailable, "the server is busy: try again shortly")
		return false
	}
}

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
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(limit))
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

// ingest checks each line of a push and stores those that pass: blobs
// that hash right, and entries that verify, extend their feed, fork
// nothing, and are signed by someone the trusted governance admits.
// Governance entries go first, so a push may carry a keyring and entries
// by its members.
func (s *Server) ingest(ctx context.Context, body []byte) (*PushReply, error) {
	l := s.opt.Ledger
	reply := &PushReply{Refused: []Refusal{}, Heads: map[string]uint64{}}
	var lines []*line
	for i, raw := range bytes.Split(body, []byte("\n")) {
		n := i + 1
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue
		}
		if data, ok, err := ledger.ParseBlobLine(raw); ok {
			if err != nil || len(data) > ledger.MaxBlob {
				reply.Refused = append(reply.Refused, Refusal{Line: n, Status: http.StatusBadRequest, Error: fmt.Sprintf("a blob line: %v", err)})
				continue
			}
			lines = append(lines, &line{n: n, raw: raw, blob: true, digest: ledger.BlobDigest(data)})
			continue
		}
		e, err := ledger.ParseLine(raw)
		if err != nil {
			reply.Refused = append(reply.Refused, Refusal{Line: n, Status: http.StatusBadRequest, Error: err.Error()})
			continue
		}
		if err := e.Verify(); err != nil {
			reply.Refused = append(reply.Refused, Refusal{Line: n, ID: e.ID.String(), Status: http.StatusBadRequest, Error: "the signature does not verify: " + err.Error()})
			continue
		}
		lines = append(lines, &line{n: n, raw: raw, e: e})
	}
	pushed := map[ledger.Feed]bool{}
	var blobs []*line
	var pending []*line
	for _, ln := range lines {
		if ln.blob {
			blobs = append(blobs, ln)
			continue
		}
		pending = append(pending, ln)
		pushed[ln.e.Feed] = true
	}
	now := s.opt.Now()
	// taken holds the id stored or accepted at each feed and seq.
	type at struct {
		f   ledger.Feed
		seq uint64
	}
	taken := map[at]ledger.ID{}
	chain := newChains(l)
	// Rounds: an entry whose signer the governance does not admit waits,
	// with every later entry of its feed, for a round after governance
	// entries of the same push came in.
	waiting := map[*line]string{}
	for round := 0; len(pending) > 0; round++ {
		trust, err := s.pushTrust(now)
		if err != nil {
			return nil, err
		}
		var keep, wait []*line
		blocked := map[ledger.Feed]string{}
		governance := false
		for _, ln := range pending {
			e := ln.e
			refuse := func(status int, format string, args ...any) {
				reply.Refused = append(reply.Refused, Refusal{Line: ln.n, ID: e.ID.String(), Status: status, Error: fmt.Sprintf(format, args...)})
			}
			if why, ok := blocked[e.Feed]; ok {
				waiting[ln] = why
				wait = append(wait, ln)
				continue
			}
			if id, ok := taken[at{e.Feed, e.Seq}]; ok && id != e.ID {
				refuse(http.StatusConflict, "equivocation: seq %d of feed %s is also %s in this push", e.Seq, e.Feed, id)
				continue
			}
			held, other, err := s.placeOf(e)
			if err != nil {
				return nil, err
			}
			if held {
				reply.Held++
				taken[at{e.Feed, e.Seq}] = e.ID
				continue
			}
			if other != nil {
				refuse(http.StatusConflict, "equivocation: seq %d of feed %s (%s) is already %s here", e.Seq, e.Feed, e.Identity, other)
				continue
			}
			if why := policy.Admits(trust, s.opt.Anchor, e, now); why != "" {
				why = fmt.Sprintf("signer %s (%s) not admitted: %s", e.Feed, e.Identity, why)
				blocked[e.Feed] = fmt.Sprintf("follows line %d of its feed, which was refused", ln.n)
				waiting[ln] = why
				wait = append(wait, ln)
				continue
			}
			if why, err := chain.check(e); err != nil {
				return nil, err
			} else if why != nil {
				refuse(http.StatusBadRequest, "%v", why)
				continue
			}
			chain.take(e)
			taken[at{e.Feed, e.Seq}] = e.ID
			keep = append(keep, ln)
			switch e.Kind {
			case policy.KindRoot, policy.KindKeyring, policy.KindPolicy:
				governance = true
			}
		}
		added, err := s.store(ctx, keep, nil)
		if err != nil {
			return reply, err // with what an earlier round stored
		}
		reply.Accepted += added
		if governance && added > 0 {
			s.trust = nil
		}
		for _, ln := range keep {
			if ln.e.Kind == policy.KindRequest {
				s.refs = nil // read again below
			}
		}
		pending = wait
		if !governance || added == 0 {
			break
		}
	}
	for _, ln := range pending {
		reply.Refused = append(reply.Refused, Refusal{Line: ln.n, ID: ln.e.ID.String(), Status: http.StatusForbidden, Error: waiting[ln]})
	}
	// Blobs: only the evidence some request here carries, so that no one
	// outside the keyring can fill the store.
	refs, err := s.referenced()
	if err != nil {
		return nil, err
	}
	var keepBlobs [][]byte
	for _, b := range blobs {
		if !refs[b.digest] {
			reply.Refused = append(reply.Refused, Refusal{Line: b.n, Status: http.StatusForbidden,
				Error: fmt.Sprintf("blob %s is evidence of no request here: push it with the request that carries it", b.digest)})
			continue
		}
		keepBlobs = append(keepBlobs, b.raw)
	}
	if _, err := s.store(ctx, nil, keepBlobs); err != nil {
		return reply, err
	}
	reply.Blobs = len(keepBlobs)
	hs, err := l.Heads()
	if err != nil {
		return nil, err
	}
	for _, h := range hs {
		if pushed[h.Feed] {
			reply.Heads[h.Feed.String()] = h.Seq
		}
	}
	sortRefusals(reply.Refused)
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

// A line is one line of a push.
type line struct {
	n      int // its number, from 1
	raw    []byte
	e      *ledger.Entry // nil for a blob
	blob   bool
	digest string // a blob's
}

// referenced returns the digests of the blobs the ledger's requests
// carry: each bundle's lock and evidence files. Callers hold s.mu.
func (s *Server) referenced() (map[string]bool, error) {
	if s.refs != nil {
		return s.refs, nil
	}
	refs := map[string]bool{}
	err := s.opt.Ledger.Entries(ledger.Query{Kind: policy.KindRequest}, func(e *ledger.Entry) error {
		r, err := policy.ReadRecord(e)
		if err != nil || r.Body.Subject == nil {
			return nil // not a request that counts; it carries nothing
		}
		refs[r.Body.Subject.Bundle] = true
		for _, d := range r.Body.Evidence {
			refs[d] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.refs = refs
	return refs, nil
}

// store writes lines and blobs, checked already one by one: with a
// backing store first as the next batch of its log (ErrExists if another
// server took that number), then into the ledger. It returns how many
// entries were new.
func (s *Server) store(ctx context.Context, lines []*line, blobs [][]byte) (int, error) {
	if len(lines) == 0 && len(blobs) == 0 {
		return 0, nil
	}
	var buf bytes.Buffer
	for _, b := range blobs {
		buf.Write(b)
		buf.WriteByte('\n')
	}
	for _, ln := range lines {
		buf.Write(ln.raw)
		buf.WriteByte('\n')
	}
	s.st.init()
	if s.opt.Backing != nil {
		name := batchName(s.st.LastBatch + 1)
		if err := s.opt.Backing.PutNew(ctx, name, buf.Bytes()); err != nil {
			return 0, err
		}
		s.st.LastBatch, s.st.Digests[name] = s.st.LastBatch+1, digest(buf.Bytes())
	}
	res := newResult()
	if err := take(s.opt.Ledger, buf.Bytes(), "a push", &s.st, res); err != nil {
		return 0, err
	}
	if res.RefusedCount > 0 {
		// Checked lines that the ledger refused: a fault here, not in the
		// push.
		return res.Pulled, fmt.Errorf("the ledger refused lines checked already: %s", res.Refused[0])
	}
	return res.Pulled, nil
}

func sortRefusals(r []Refusal) {
	slices.SortFunc(r, func(a, b Refusal) int { return a.Line - b.Line })
}

// verdict answers GET /v1/verdict with what signoff verify --json says.
func (s *Server) verdict(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	to := q.Get("to")
	if to == "" {
		fail(w, http.StatusBadRequest, "to= is required: the stage to judge the move to")
		return
	}
	now := s.opt.Now()
	if at := q.Get("at"); at != "" {
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			fail(w, http.StatusBadRequest, "at=%q is not an RFC 3339 time", at)
			return
		}
		now = t
	}
	if !slot(w, r, s.verdicts) {
		return
	}
	defer func() { <-s.verdicts }()
	if !s.read(w, r, time.Now()) {
		return
	}
	l := s.opt.Ledger
	trust, err := policy.LoadTrust(l, s.opt.Anchor, now)
	if errors.Is(err, policy.ErrUnknownRoot) {
		fail(w, http.StatusNotFound, "%v", err)
		return
	} else if err != nil {
		fail(w, http.StatusInternalServerError, "%v", err)
		return
	}
	var bundle string
	switch subject, model, version := q.Get("subject"), q.Get("model"), q.Get("version"); {
	case subject != "" && model == "" && version == "":
		bundle, err = policy.ResolveSubject(l, subject)
	case subject == "" && model != "" && version != "":
		bundle, err = policy.FindBundle(l, model, version, to, trust, now)
	default:
		fail(w, http.StatusBadRequest, "name the bundle with subject=DIGEST, or with model=M&version=V")
		return
	}
	if errors.Is(err, policy.ErrUnknownSubject) {
		fail(w, http.StatusNotFound, "%v", err)
		return
	} else if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	v, err := policy.Judge(l, policy.Query{Bundle: bundle, To: to, At: now, Anchor: s.opt.Anchor, Trust: trust, Report: s.report(bundle)})
	switch {
	case errors.Is(err, ledger.ErrTampered):
		fail(w, http.StatusInternalServerError, "the server's ledger is tampered: %v", err)
		return
	case err != nil:
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	if m := q.Get("model"); m != "" {
		v.MustName(m, q.Get("version"))
	}
	writeJSONReply(w, http.StatusOK, v)
}
