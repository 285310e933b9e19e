package sync

import (
	"errors"
	"net/http"
	"time"

	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
)

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
	} else if errors.Is(err, policy.ErrRootNotYet) {
		// Asked of a time before the root: nothing was approved then, as
		// signoff verify says.
		asked := policy.Subject{Model: q.Get("model"), Version: q.Get("version"), Bundle: q.Get("subject"), To: to}
		writeJSONReply(w, http.StatusOK, policy.NotApproved(asked, now, err.Error()))
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
	v, err := policy.Judge(l, policy.Query{Bundle: bundle, To: to, At: now, Anchor: s.opt.Anchor, Trust: trust, Reports: &s.reports})
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
