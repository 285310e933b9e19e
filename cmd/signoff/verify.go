package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/signoff-dev/signoff/inert"
	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
)

func (a *app) verifyCmd() *cobra.Command {
	var subj subjectFlags
	var to, at string
	var artifacts []string
	var asJSON bool
	c := &cobra.Command{
		Use:   "verify (DIR | --subject DIGEST | --model NAME --version V) --to STAGE",
		Short: "May this exact model go to this stage now? Exit 0 yes, 1 no",
		Long: `Judge, from signed entries alone, whether a bundle may move to a stage:

  - every counted signature verifies, from a key the keyring in force when
    it was signed gives that role, not revoked or expired then;
  - each required sign-off is met by distinct people (one person with two
    keys or two roles counts once); authors and the requester do not count
    unless the policy allows it;
  - each person's latest decision stands; a rejection by a required role
    blocks until the same person approves later;
  - an approval counts only with the review the policy asks for
    (require_review_of: the sections opened, for their minimum time), only
    for the policy's approval_valid_for, and not if signed before a
    restriction of the version;
  - approvals bind this bundle digest and transition;
  - the gates pass, re-evaluated from the bundle's evidence (the directory
    given, or the evidence the ledger carries);
  - an emergency counts only within its window, and turns to not approved
    when its incident review is overdue;
  - each --artifact file is an artifact of the bundle;
  - no signer whose entry counts has equivocated.

The answer explains itself: each requirement with who met it, or what is
missing and why. The root trusted is --root, else the one this home pinned
when it first saw one. With --json, one JSON object is printed whatever
the outcome: the verdict ("approved", "reasons", …; "tampered" when the
bundle or the ledger does not verify), or {"approved": false, "error": …}
for a question signoff cannot read.

Exit status: 0 approved; 1 not approved (including a version nobody
requested, or a bundle the ledger does not know); 2 the bundle or the
ledger is tampered; 3 a malformed question (a flag, a digest, a stage no
policy names: the nearest is suggested), or no signoff home.`,
		Example: `  signoff verify ./credit-risk-v7 --to production
  signoff verify --model credit-risk --version 7 --to production --artifact model.onnx
  signoff verify --subject 3f9a2c --to production --at 2026-12-01T00:00:00Z --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			v, err := a.judgeCmd(&subj, args, to, at, artifacts)
			return a.answer(v, err, asJSON)
		},
	}
	c.Flags().StringVar(&to, "to", "", "the stage (required)")
	c.Flags().StringVar(&at, "at", "", "judge as of this time (RFC 3339) instead of now")
	c.Flags().StringArrayVar(&artifacts, "artifact", nil, "a file about to be deployed: it must be an artifact of the bundle; repeatable")
	c.Flags().BoolVar(&asJSON, "json", false, "the verdict as one JSON object: approved, reasons, gates, requirements, …")
	subj.register(c, true)
	return c
}

// judgeCmd answers verify's question. A verdict that is not approved
// comes with an error carrying its exit code (1, or 2 when something
// does not verify); a question that cannot be read comes with no verdict
// and an exit 3 error.
func (a *app) judgeCmd(subj *subjectFlags, args []string, to, at string, artifacts []string) (*policy.Verdict, error) {
	if to == "" {
		return nil, usageError("verify needs --to STAGE")
	}
	now, err := parseAt(at)
	if err != nil {
		return nil, err
	}
	var files []policy.ArtifactFile
	for _, p := range artifacts {
		sum, err := hashFile(p)
		if err != nil {
			return nil, usageError("--artifact %v", err)
		}
		files = append(files, policy.ArtifactFile{Path: p, SHA256: sum})
	}
	h, l, err := a.readLedger()
	if err != nil {
		return nil, err
	}
	defer l.Close()
	asked := policy.Subject{Model: subj.model, Version: subj.version, Bundle: subj.subject, To: to}
	no := func(code int, err error) (*policy.Verdict, error) {
		v := policy.NotApproved(asked, now, err.Error())
		v.Tampered = code == exitTampered
		return v, &exitError{code, nil}
	}
	anchor, err := a.anchor(h, subj.root, l)
	if errors.Is(err, policy.ErrNoRoot) {
		return no(exitFailed, err)
	} else if err != nil {
		return nil, err
	}
	trust, err := policy.LoadTrust(l, anchor, now)
	switch {
	case errors.Is(err, ledger.ErrTampered):
		return no(exitTampered, err)
	case errors.Is(err, policy.ErrUnknownRoot):
		return nil, &exitError{exitUsage, err}
	case err != nil:
		return no(exitFailed, err)
	}
	if err := policy.CheckStage(trust, now, to); err != nil {
		return nil, usageError("--to %v", err)
	}
	r, err := subj.resolve(l, args, to, trust, now)
	var ns *notSealedError
	switch {
	case errors.As(err, &ns):
		asked.Bundle = ns.status.SealedDigest
		return no(exitTampered, err)
	case errors.Is(err, policy.ErrUnknownSubject):
		return no(exitFailed, err)
	case err != nil:
		return nil, err
	}
	defer r.close()
	stop := a.busy("judging")
	v, err := policy.Judge(l, policy.Query{Bundle: r.digest, To: to, At: now, Anchor: anchor, Dir: r.dir, DirStatus: r.status, Artifacts: files, Trust: trust})
	stop()
	switch {
	case errors.Is(err, ledger.ErrTampered):
		asked.Bundle = r.digest
		return no(exitTampered, err)
	case errors.Is(err, policy.ErrUnknownSubject):
		return no(exitFailed, err)
	case err != nil:
		return nil, err
	}
	if subj.model != "" {
		v.MustName(subj.model, subj.version)
	}
	switch {
	case v.Tampered:
		return v, &exitError{exitTampered, nil}
	case !v.Approved:
		return v, &exitError{exitFailed, nil}
	}
	return v, nil
}

// answer prints a verdict, or what kept one from being given, and returns
// the exit status: with asJSON always one JSON object.
func (a *app) answer(v *policy.Verdict, err error, asJSON bool) error {
	if v == nil {
		if err == nil {
			return nil
		}
		if asJSON {
			writeJSON(a.stdout, map[string]any{"approved": false, "error": err.Error(), "exit": exitCodeOf(err)})
		}
		return err
	}
	if asJSON {
		if werr := writeJSON(a.stdout, v); werr != nil {
			return werr
		}
	} else {
		a.printVerdict(v)
	}
	return err
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

func (a *app) printVerdict(v *policy.Verdict) {
	w := a.stdout
	head := "APPROVED"
	switch {
	case v.Tampered:
		head = "NOT APPROVED (tampered)"
	case !v.Approved:
		head = "NOT APPROVED"
	case v.Path == "emergency":
		head = "APPROVED (emergency)"
	}
	fmt.Fprintf(w, "%s  %s  at %s\n", head, inert.Escape(v.Subject.String()), v.At.Format(time.RFC3339))
	for _, r := range v.Reasons {
		fmt.Fprintf(w, "  ✗ %s\n", inert.Escape(r))
	}
	if len(v.Gates) > 0 {
		fmt.Fprintf(w, "gates %s\n", gateSummary(v.Gates))
		for _, g := range v.Gates {
			mark := map[string]string{policy.Pass: "✓", policy.Fail: "✗", policy.Undefined: "?"}[g.Status]
			fmt.Fprintf(w, "  %s %s: %s\n", mark, inert.Escape(g.Name), inert.Escape(g.Reason))
		}
	}
	if len(v.Requirements) > 0 {
		fmt.Fprintln(w, "sign-offs")
		for _, r := range v.Requirements {
			mark := "✗"
			if r.Met {
				mark = "✓"
			}
			fmt.Fprintf(w, "  %s %s\n", mark, inert.Escape(r.Explanation))
			for _, s := range r.By {
				fmt.Fprintf(w, "      %s (%s) %s %s\n", inert.Escape(s.Identity), inert.Escape(s.Role), s.Time.Format(time.RFC3339), s.Entry)
			}
		}
	}
	if e := v.Emergency; e != nil && e.Start != nil {
		fmt.Fprintf(w, "emergency from %s to %s, review due %s, reviews %d\n", e.Start.Format(time.RFC3339), e.End.Format(time.RFC3339), e.Deadline.Format(time.RFC3339), len(e.Reviews))
	}
	var docs []string
	for _, d := range []struct {
		name string
		ref  *policy.DocRef
	}{{"root", v.Root}, {"keyring", v.Keyring}, {"policy", v.Policy}} {
		if d.ref != nil {
			docs = append(docs, fmt.Sprintf("%s v%d %s", d.name, d.ref.Version, inert.Digest(d.ref.Digest)))
		}
	}
	if len(docs) > 0 {
		fmt.Fprintf(w, "under %s\n", strings.Join(docs, ", "))
	}
	for _, x := range v.Warnings {
		fmt.Fprintf(w, "warning: %s\n", inert.Escape(x))
	}
}
