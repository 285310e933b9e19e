package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	stdsync "sync"
	"time"

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

// Unwrap gives http.ResponseController the writer beneath, so that a
// handler's deadlines reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

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
