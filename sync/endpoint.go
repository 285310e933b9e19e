package sync

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/signoff-dev/signoff/inert"
	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
)

// maxRemoteBlobs bounds how many blobs a sync takes a server's word for.
const maxRemoteBlobs = 1 << 20

// Endpoint is a signoff serve remote, reached over HTTP(S).
type Endpoint struct {
	base   *url.URL
	client *http.Client
}

// NewEndpoint returns the remote at an http:// or https:// URL; client
// nil means one with five minutes' timeout per request.
func NewEndpoint(loc string, client *http.Client) (*Endpoint, error) {
	u, err := url.Parse(loc)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%q is not a signoff serve URL: write https://HOST[:PORT] or http://HOST[:PORT]", loc)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Minute}
	}
	return &Endpoint{base: u, client: client}, nil
}

func (r *Endpoint) String() string { return r.base.String() }

// do sends a request and returns the reply's body, at most max bytes, for
// a 2xx status or one of also; any other status is an error carrying the
// server's message.
func (r *Endpoint) do(ctx context.Context, method, path string, q url.Values, body []byte, max int64, also ...int) (*http.Response, []byte, error) {
	u := *r.base
	u.Path += path
	u.RawQuery = q.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/jsonl")
	}
	resp, err := r.client.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, nil, fmt.Errorf("%s: %s %s: timed out: %v", r, method, path, err)
		}
		var ua x509.UnknownAuthorityError
		var hn x509.HostnameError
		if errors.As(err, &ua) || errors.As(err, &hn) {
			return nil, nil, fmt.Errorf("%s: the server's certificate is not trusted (%v): add its CA to the system's trust store, or name it in SSL_CERT_FILE", r, err)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
			return nil, nil, fmt.Errorf("%s: %s %s: the connection broke (%v): the server may have stopped; nothing it did not acknowledge is counted as sent, so sync again", r, method, path, err)
		}
		return nil, nil, fmt.Errorf("%s: cannot reach the server (%v): is signoff serve running there?", r, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %s %s: reading the reply: %v", r, method, path, err)
	}
	if int64(len(data)) > max {
		return nil, nil, fmt.Errorf("%s: %s %s: the reply holds more than %d bytes", r, method, path, max)
	}
	ok := resp.StatusCode/100 == 2
	for _, s := range also {
		ok = ok || resp.StatusCode == s
	}
	if !ok {
		var ae apiError
		msg := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &ae) == nil && ae.Error != "" {
			msg = ae.Error
		}
		if len(msg) > 500 {
			msg = msg[:500] + "…"
		}
		return nil, nil, fmt.Errorf("%s: %s %s: %s: %s", r, method, path, resp.Status, msg)
	}
	return resp, data, nil
}

func (r *Endpoint) getJSON(ctx context.Context, path string, q url.Values, v any) error {
	_, data, err := r.do(ctx, http.MethodGet, path, q, nil, 64<<20)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: GET %s: the reply is not what signoff serve sends: %v", r, path, err)
	}
	return nil
}

// SyncEndpoint exchanges entries and blobs with a signoff serve: it
// pulls what the server holds that l lacks, then pushes what the server
// lacks. The server checks what it is sent; what it refuses is reported.
// A server whose feeds show less than st remembers is a rollback, and
// nothing local is changed. A sync with nothing new is one request.
func SyncEndpoint(ctx context.Context, l *ledger.Ledger, r *Endpoint, st *State, anchor string) (*Result, error) {
	st.init()
	res := newResult()
	g := homeGate(l, anchor, time.Now())
	var hs Heads
	res.Requests++
	if err := r.getJSON(ctx, "/v1/heads", nil, &hs); err != nil {
		return res, err
	}
	remote := map[string]uint64{}
	for _, h := range hs.Feeds {
		remote[h.Feed] = h.Seq
	}
	for f, seq := range st.Seen {
		if remote[f] < seq {
			return res, fmt.Errorf("%w: feed %s showed seq %d and now shows %d", ErrRollback, f, seq, remote[f])
		}
	}
	if hs.Blobs < st.BlobCount {
		return res, fmt.Errorf("%w: it held %d blobs and now holds %d", ErrRollback, st.BlobCount, hs.Blobs)
	}
	local, err := headSeqs(l)
	if err != nil {
		return res, err
	}
	// Pull.
feeds:
	for _, h := range hs.Feeds {
		after := local[h.Feed]
		for after < h.Seq {
			q := url.Values{"feed": {h.Feed}, "after": {strconv.FormatUint(after, 10)}}
			res.Requests++
			resp, data, err := r.do(ctx, http.MethodGet, "/v1/entries", q, nil, maxReply+2*int64(ledger.MaxPayload))
			if err != nil {
				return res, err
			}
			res.Batches++
			refused := res.RefusedCount + len(res.held)
			if err := take(l, data, "feed "+h.Feed, st, res, g); err != nil {
				return res, err
			}
			// Only entries taken move on: a server that sends none that
			// verify gets no second ask, and a feed whose signer this
			// home's root does not admit is left where it is.
			now, err := headSeqs(l)
			if err != nil {
				return res, err
			}
			if now[h.Feed] <= after {
				if res.RefusedCount+len(res.held) > refused {
					st.Seen[h.Feed] = max(st.Seen[h.Feed], h.Seq)
					continue feeds
				}
				return res, fmt.Errorf("%s: feed %s: asked for the entries after seq %d, got none that verify", r, h.Feed, after)
			}
			after = now[h.Feed]
			st.progress(res)
			if resp.Header.Get("Signoff-More") != "true" && after < h.Seq {
				return res, fmt.Errorf("%s: feed %s: the heads say seq %d, the entries stop at %d", r, h.Feed, h.Seq, after)
			}
		}
		st.Seen[h.Feed] = max(st.Seen[h.Feed], h.Seq)
	}
	if hs.Blobs > maxRemoteBlobs {
		return res, fmt.Errorf("%s says it holds %d blobs, more than signoff takes from a remote (%d)", r, hs.Blobs, maxRemoteBlobs)
	}
	// The entries first, all of them (governance may come in a later feed),
	// so that the blobs taken are those of the requests taken.
	if err := finish(l, st, res, g); err != nil {
		return res, err
	}
	if hs.Blobs != st.BlobCount {
		skipped, err := pullBlobs(ctx, l, r, hs.Blobs, st, res)
		if err != nil {
			return res, err
		}
		// Blobs skipped as evidence of no request here yet are listed
		// again at the next sync, which may bring their request.
		st.BlobCount = hs.Blobs - skipped
	}
	// Push.
	return res, pushTo(ctx, l, r, remote, st, res)
}

func headSeqs(l *ledger.Ledger) (map[string]uint64, error) {
	hs, err := l.Heads()
	if err != nil {
		return nil, err
	}
	out := make(map[string]uint64, len(hs))
	for _, h := range hs {
		out[h.Feed.String()] = h.Seq
	}
	return out, nil
}

// pullBlobs fetches the blobs the server lists that l lacks and that a
// request l holds carries; the server said it holds count. It returns how
// many it skipped for want of such a request.
func pullBlobs(ctx context.Context, l *ledger.Ledger, r *Endpoint, count int, st *State, res *Result) (skipped int, err error) {
	refs, err := referenced(l)
	if err != nil {
		return 0, err
	}
	after, listed := "", 0
	for {
		var ds []string
		res.Requests++
		if err := r.getJSON(ctx, "/v1/blobs", url.Values{"after": {after}}, &ds); err != nil {
			return skipped, err
		}
		if listed += len(ds); listed > count+maxListBlobs {
			return skipped, fmt.Errorf("%s: the server lists more blobs than the %d it says it holds", r, count)
		}
		for _, d := range ds {
			if !policy.IsDigest(d) {
				return skipped, fmt.Errorf("%s: the blob list holds %q, not a digest", r, inert.Cut(d, 80))
			}
			if d <= after {
				return skipped, fmt.Errorf("%s: the blob list is out of order at %s", r, d)
			}
			after = d
			st.Blobs[d] = true
			if l.HasBlob(d) {
				continue
			}
			if !refs[d] {
				skipped++ // evidence of no request this home holds
				continue
			}
			res.Requests++
			_, data, err := r.do(ctx, http.MethodGet, "/v1/blobs/"+d, nil, nil, ledger.MaxBlob)
			if err != nil {
				return skipped, err
			}
			if got := ledger.BlobDigest(data); got != d {
				res.refuse(fmt.Sprintf("blob %s: the server sent bytes whose digest is %s", d, got))
				delete(st.Blobs, d)
				continue
			}
			if _, err := l.PutBlob(data); err != nil {
				return skipped, err
			}
		}
		if len(ds) < maxListBlobs {
			return skipped, nil
		}
	}
}

// pushTo sends, in parts of at most half a push, the blobs the server
// lacks and every entry after its head of each feed.
func pushTo(ctx context.Context, l *ledger.Ledger, r *Endpoint, remote map[string]uint64, st *State, res *Result) error {
	var body bytes.Buffer
	var blobs []string // in the body, at lines blobAt
	var blobAt []int
	n := 0 // lines in the body
	send := func() error {
		if body.Len() == 0 {
			return nil
		}
		res.Requests++
		_, data, err := r.do(ctx, http.MethodPost, "/v1/entries", nil, body.Bytes(), 16<<20,
			http.StatusForbidden, http.StatusConflict, http.StatusBadRequest)
		if err != nil {
			return err
		}
		var rep PushReply
		if err := json.Unmarshal(data, &rep); err != nil {
			return fmt.Errorf("%s: POST /v1/entries: the reply is not what signoff serve sends: %v", r, err)
		}
		res.Pushed += rep.Accepted
		for _, f := range rep.Refused {
			res.refuse(fmt.Sprintf("refused by %s (%d): %s", r, f.Status, f.Error))
		}
		for f, seq := range rep.Heads {
			st.Seen[f] = max(st.Seen[f], seq)
		}
		refusedLine := map[int]bool{}
		for _, f := range rep.Refused {
			refusedLine[f.Line] = true
		}
		for i, d := range blobs {
			if !refusedLine[blobAt[i]] {
				st.Blobs[d] = true
				st.BlobCount++
				res.Blobs++
			}
		}
		body.Reset()
		blobs, blobAt, n = blobs[:0], blobAt[:0], 0
		st.progress(res)
		return nil
	}
	full := func() bool { return body.Len() > MaxPush/2 }
	// Entries first: a blob is taken only with, or after, the request
	// that carries it.
	hs, err := l.Heads()
	if err != nil {
		return err
	}
	for _, h := range hs {
		f := h.Feed.String()
		if h.Seq <= remote[f] {
			continue
		}
		err := l.FeedEntries(h.Feed, remote[f], func(e *ledger.Entry) error {
			if full() {
				if err := send(); err != nil {
					return err
				}
			}
			body.Write(e.MarshalLine())
			body.WriteByte('\n')
			n++
			return nil
		})
		if err != nil {
			return err
		}
	}
	want, err := missingBlobs(l, st)
	if err != nil {
		return err
	}
	for _, d := range want {
		data, err := l.Blob(d)
		if err != nil {
			return err
		}
		if body.Len()+len(data)*4/3 > MaxPush-1024 {
			if err := send(); err != nil {
				return err
			}
		}
		body.Write(ledger.BlobLine(data))
		body.WriteByte('\n')
		n++
		blobs, blobAt = append(blobs, d), append(blobAt, n)
	}
	return send()
}
