package sync

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
)

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
