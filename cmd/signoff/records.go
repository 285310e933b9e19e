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

	"github.com/signoff-dev/signoff/evidence"
	"github.com/signoff-dev/signoff/inert"
	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
)

// subjectFlags choose the bundle a command is about: a directory
// argument, --subject, or --model and --version.
type subjectFlags struct {
	subject, model, version string
	root                    string
	byModel                 bool // --model and --version are offered
}

func (f *subjectFlags) register(c *cobra.Command, byModel bool) {
	c.Flags().StringVar(&f.subject, "subject", "", "the bundle digest (sha256:…, or at least 6 hex digits) instead of a bundle directory")
	if byModel {
		f.byModel = true
		c.Flags().StringVar(&f.model, "model", "", "the model name (with --version) instead of a bundle directory")
		c.Flags().StringVar(&f.version, "version", "", "the model version (with --model)")
	}
	c.Flags().StringVar(&f.root, "root", "", "the digest of the root to trust (default: the root this home pinned)")
}

// resolved is the bundle a command is about.
type resolved struct {
	digest string
	dir    *evidence.Bundle // nil unless a directory was given
}

func (r *resolved) close() {
	if r.dir != nil {
		r.dir.Close()
	}
}

// resolve finds the bundle: a sealed, intact directory, or one the ledger
// holds entries about. to narrows --model and --version to requests for
// that stage, signed by someone the trust history, if given, gave
// standing at the time at.
func (f *subjectFlags) resolve(l *ledger.Ledger, args []string, to string, trust *policy.Trust, at time.Time) (*resolved, error) {
	n := 0
	for _, given := range []bool{len(args) > 0, f.subject != "", f.model != "" || f.version != ""} {
		if given {
			n++
		}
	}
	if n != 1 {
		alts := "a bundle directory or --subject DIGEST"
		if f.byModel {
			alts = "a bundle directory, --subject DIGEST, or --model NAME --version V"
		}
		return nil, usageError("give exactly one of %s", alts)
	}
	switch {
	case len(args) > 0:
		b, err := openBundle(args[0])
		if err != nil {
			return nil, err
		}
		st, err := b.Check()
		if err != nil {
			b.Close()
			return nil, usageError("%v", err)
		}
		if !st.Intact() {
			b.Close()
			if st.SealedDigest == "" {
				return nil, usageError("%s is not sealed: run signoff bundle seal %s", args[0], args[0])
			}
			return nil, usageError("%s is not as sealed (see signoff bundle show %s): seal it again, and request again", args[0], args[0])
		}
		return &resolved{digest: st.Digest, dir: b}, nil
	case f.subject != "":
		d, err := policy.ResolveSubject(l, f.subject)
		if err != nil {
			return nil, &exitError{exitUsage, err}
		}
		return &resolved{digest: d}, nil
	}
	if f.model == "" || f.version == "" {
		return nil, usageError("--model and --version go together")
	}
	d, err := policy.FindBundle(l, f.model, f.version, to, trust, at)
	if err != nil {
		return nil, &exitError{exitUsage, err}
	}
	return &resolved{digest: d}, nil
}

// subject returns the subject of r, from its manifest.
func (r *resolved) subject(l *ledger.Ledger) (policy.Subject, error) {
	if r.dir != nil {
		m := r.dir.Manifest
		return policy.Subject{Model: m.Model, Version: m.Version, Bundle: r.digest, From: m.Transition.From, To: m.Transition.To}, nil
	}
	s, err := policy.SubjectOf(l, r.digest)
	if err != nil {
		return s, &exitError{exitUsage, err}
	}
	return s, nil
}

func (a *app) requestCmd() *cobra.Command {
	var to, root string
	var sf signFlags
	var asJSON bool
	c := &cobra.Command{
		Use:   "request DIR [--to STAGE]",
		Short: "Ask for a bundle's promotion: sign a request carrying its evidence",
		Long: `Sign a promotion request for a sealed bundle: the subject (model, version,
bundle digest, from and to), the gate results under the policy in force,
and the bundle's evidence files (the manifest, card, metrics, predictions,
scans and plans, not the artifacts), which go into the ledger as
content-addressed blobs so that reviewers can review and verifiers
re-evaluate the gates offline, with no copy of the bundle.

The transition is the one the manifest asks for; --to, if given, must
match it. You must be in the keyring in force.`,
		Example: `  signoff bundle seal ./credit-risk-v7
  signoff request ./credit-risk-v7 --to production`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, done, err := a.signer(&sf)
			if err != nil {
				return err
			}
			defer done()
			b, err := openBundle(args[0])
			if err != nil {
				return err
			}
			defer b.Close()
			m := b.Manifest
			if to != "" && to != m.Transition.To {
				return usageError("%s asks for %s, not for --to %s: change the manifest's transition and seal it again", args[0], m.Transition, to)
			}
			st, err := b.Check()
			if err != nil {
				return usageError("%v", err)
			}
			if !st.Intact() {
				return usageError("%s is not as sealed: run signoff bundle seal %s, and check it with signoff bundle show", args[0], args[0])
			}
			l, err := a.openLedger()
			if err != nil {
				return err
			}
			defer l.Close()
			anchor, err := a.anchor(root, l)
			if err != nil {
				return err
			}
			stop := a.busy("computing metrics, 95% intervals and fairness")
			report, err := b.Evaluate(st.Digest)
			stop()
			if err != nil {
				return usageError("%v", err)
			}
			res, err := policy.Request(l, s, b, report, anchor, time.Now())
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, map[string]any{"entry": res.Entry.ID.String(), "subject": res.Subject, "gates": res.Results, "evidence_files": res.Files})
			}
			fmt.Fprintf(a.stdout, "requested %s\n", inert.Escape(res.Subject.String()))
			fmt.Fprintf(a.stdout, "gates: %s; %d evidence files carried in the ledger\n", gateSummary(res.Results), res.Files)
			fmt.Fprintln(a.stdout, res.Entry.ID)
			return nil
		},
	}
	c.Flags().StringVar(&to, "to", "", "the stage asked for (must match the manifest's transition)")
	c.Flags().StringVar(&root, "root", "", "the digest of the root to trust (default: the root this home pinned)")
	c.Flags().BoolVar(&asJSON, "json", false, "print the entry id, subject, gate results and evidence count as JSON")
	sf.register(c)
	return c
}

func gateSummary(rs []policy.Result) string {
	n := map[string]int{}
	for _, r := range rs {
		n[r.Status]++
	}
	s := fmt.Sprintf("✓ %d ✗ %d", n[policy.Pass], n[policy.Fail])
	if n[policy.Undefined] > 0 {
		s += fmt.Sprintf(" ? %d", n[policy.Undefined])
	}
	return s
}

func (a *app) decideCmd() *cobra.Command {
	var subj subjectFlags
	var sf signFlags
	var approve, reject, changes bool
	var role, reason, ticket string
	c := &cobra.Command{
		Use:   "decide (DIR | --subject DIGEST) (--approve | --reject | --request-changes) --role ROLE --reason TEXT [--ticket ID]",
		Short: "Sign a decision about a requested promotion",
		Long: `Sign your decision about a bundle's promotion, in one of your roles.

The signed decision binds the subject (model, version, bundle digest and
transition), your verdict, role, reason and ticket, the digest of the
policy and the version of the keyring in force, and the digest of the gate
results, re-evaluated here from the bundle (or from the evidence the
ledger carries). A decision for one bundle or transition never counts for
another. Your latest decision stands: a rejection blocks until you approve.

The review console (signoff review) signs the same decision, with the
sections you opened; from here that list is empty.`,
		Example: `  signoff decide ./credit-risk-v7 --approve --role risk --reason "fairness within bounds" --ticket RISK-112
  signoff decide --subject 3f9a2c --reject --role compliance --reason "no rollback plan"`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			verdict := ""
			for v, set := range map[string]bool{policy.Approve: approve, policy.Reject: reject, policy.RequestChanges: changes} {
				if set {
					verdict = v
				}
			}
			if verdict == "" {
				return usageError("give one of --approve, --reject and --request-changes")
			}
			if role == "" || strings.TrimSpace(reason) == "" {
				return usageError("a decision needs --role and --reason")
			}
			s, l, done, err := a.signing(&sf)
			if err != nil {
				return err
			}
			defer done()
			r, err := subj.resolve(l, args, "", nil, time.Now())
			if err != nil {
				return err
			}
			defer r.close()
			subject, err := r.subject(l)
			if err != nil {
				return err
			}
			anchor, err := a.anchor(subj.root, l)
			if err != nil {
				return err
			}
			now := time.Now()
			stop := a.busy("evaluating the gates")
			gates, err := policy.GateResults(l, r.dir, r.digest, anchor, now)
			stop()
			if err != nil {
				return err
			}
			e, err := policy.Decide(l, s, policy.Decision{Subject: subject, Verdict: verdict, Role: role, Reason: reason, Ticket: ticket, Gates: gates}, anchor, now)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s %s as %s (gates %s)\n", verdict, inert.Escape(subject.String()), role, gateSummary(gates))
			fmt.Fprintln(a.stdout, e.ID)
			return nil
		},
	}
	c.Flags().BoolVar(&approve, "approve", false, "approve the promotion")
	c.Flags().BoolVar(&reject, "reject", false, "reject it: blocks until you approve")
	c.Flags().BoolVar(&changes, "request-changes", false, "ask for changes: blocks until you approve")
	c.MarkFlagsMutuallyExclusive("approve", "reject", "request-changes")
	c.Flags().StringVar(&role, "role", "", "the role you sign in (one the keyring gives you)")
	c.Flags().StringVar(&reason, "reason", "", "why (required)")
	c.Flags().StringVar(&ticket, "ticket", "", "a ticket or change id")
	subj.register(c, false)
	sf.register(c)
	return c
}

// noteCmd builds the commands that sign a note about a subject.
func (a *app) noteCmd(kind, use, short, long, example string, needRole, transition bool) *cobra.Command {
	var subj subjectFlags
	var sf signFlags
	var role, reason, ticket string
	c := &cobra.Command{
		Use: use, Short: short, Long: long, Example: example,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if strings.TrimSpace(reason) == "" {
				return usageError("%s needs --reason", kind)
			}
			if needRole && role == "" {
				return usageError("%s needs --role: the role you act in", kind)
			}
			s, l, done, err := a.signing(&sf)
			if err != nil {
				return err
			}
			defer done()
			anchor, err := a.anchor(subj.root, l)
			if err != nil {
				return err
			}
			now := time.Now()
			trust, err := policy.LoadTrust(l, anchor, now)
			if err != nil {
				return err
			}
			r, err := subj.resolve(l, args, "", trust, now)
			if err != nil {
				return err
			}
			defer r.close()
			subject, err := r.subject(l)
			if err != nil {
				return err
			}
			if !transition {
				subject.From, subject.To = "", ""
			}
			e, err := policy.Sign(l, s, policy.Note{Kind: kind, Subject: subject, Role: role, Reason: reason, Ticket: ticket}, anchor, now)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s: %s\n", kind, inert.Escape(subject.String()))
			fmt.Fprintln(a.stdout, e.ID)
			return nil
		},
	}
	if needRole {
		c.Flags().StringVar(&role, "role", "", "the role you act in (one the keyring gives you)")
	}
	c.Flags().StringVar(&reason, "reason", "", "why (required)")
	c.Flags().StringVar(&ticket, "ticket", "", "a ticket or incident id")
	subj.register(c, !transition)
	sf.register(c)
	return c
}

func (a *app) emergencyCmd() *cobra.Command {
	return a.noteCmd(policy.KindEmergency,
		"emergency (DIR | --subject DIGEST) --role ROLE --reason TEXT [--ticket ID]",
		"Invoke the emergency path for a promotion",
		`Invoke the policy's emergency path for a bundle's promotion. Once as many
people as the policy asks, in its emergency roles, have invoked it, the
promotion is approved without the usual sign-offs (the gates still apply)
for the time the policy allows. A signed incident review (signoff
incident-review) is owed by the policy's deadline; without it the verdict
turns to "not approved, incident review overdue".`,
		`  signoff emergency ./credit-risk-v7 --role mlops --reason "v6 is mis-scoring; v7 fixes it" --ticket INC-4411`,
		true, true)
}

func (a *app) incidentReviewCmd() *cobra.Command {
	return a.noteCmd(policy.KindIncidentReview,
		"incident-review (DIR | --subject DIGEST) --reason TEXT [--ticket ID]",
		"Sign the post-incident review an emergency owes",
		`Sign the post-incident review of an emergency promotion. It counts when
signed by someone holding a role the policy names for reviews (by default,
any role its sign-offs require), after the emergency began.`,
		`  signoff incident-review --subject 3f9a2c --reason "root cause: stale feature; fixed in v8" --ticket INC-4411`,
		false, true)
}

func (a *app) restrictCmd() *cobra.Command {
	return a.noteCmd(policy.KindRestrict,
		"restrict (DIR | --subject DIGEST | --model NAME --version V) --reason TEXT [--ticket ID]",
		"Pull a model version back: it needs approving again",
		`Restrict a bundle, for example on drift: approvals and emergencies signed
before the restriction no longer count, so verify says "not approved" until
it is approved again. You must be in the keyring in force.`,
		`  signoff restrict --model credit-risk --version 7 --reason "PSI 0.31 on income since 2026-11-18" --ticket RISK-130`,
		false, false)
}

func (a *app) deprecateCmd() *cobra.Command {
	return a.noteCmd(policy.KindDeprecate,
		"deprecate (DIR | --subject DIGEST | --model NAME --version V) --reason TEXT",
		"Record that a model version is deprecated",
		`Record that a model version is deprecated (archived). signoff status shows
it as deprecated from then on.`,
		`  signoff deprecate --model credit-risk --version 6 --reason "replaced by 7"`,
		false, false)
}

func (a *app) promoteCmd() *cobra.Command {
	var subj subjectFlags
	var sf signFlags
	var to string
	c := &cobra.Command{
		Use:   "promote (DIR | --subject DIGEST) --to STAGE",
		Short: "Record a promotion the verdict allows",
		Long: `Record that a bundle moved to a stage. It is refused, with the verdict's
reasons, unless signoff verify would say approved now.`,
		Example: `  signoff promote ./credit-risk-v7 --to production`,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if to == "" {
				return usageError("promote needs --to STAGE")
			}
			s, l, done, err := a.signing(&sf)
			if err != nil {
				return err
			}
			defer done()
			r, err := subj.resolve(l, args, to, nil, time.Now())
			if err != nil {
				return err
			}
			defer r.close()
			anchor, err := a.anchor(subj.root, l)
			if err != nil {
				return err
			}
			now := time.Now()
			stop := a.busy("judging")
			v, err := policy.Judge(l, policy.Query{Bundle: r.digest, To: to, At: now, Anchor: anchor, Dir: r.dir})
			stop()
			if err != nil {
				return verdictError(err)
			}
			if !v.Approved {
				a.printVerdict(v)
				return &exitError{exitFailed, errors.New("not promoted: the verdict is not approved")}
			}
			e, err := policy.Sign(l, s, policy.Note{Kind: policy.KindPromote, Subject: v.Subject, Reason: "verdict approved (" + v.Path + ")", Policy: v.Policy.Digest, Gates: policy.GateDigest(v.Gates)}, anchor, now)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "promoted %s\n", inert.Escape(v.Subject.String()))
			fmt.Fprintln(a.stdout, e.ID)
			return nil
		},
	}
	c.Flags().StringVar(&to, "to", "", "the stage")
	subj.register(c, false)
	sf.register(c)
	return c
}

// verdictError gives a judging error its exit code.
func verdictError(err error) error {
	switch {
	case errors.Is(err, ledger.ErrTampered):
		return &exitError{exitTampered, err}
	case errors.Is(err, policy.ErrUnknownSubject), errors.Is(err, policy.ErrUnknownRoot), errors.Is(err, policy.ErrAmbiguousRoot):
		return &exitError{exitUsage, err}
	}
	return err
}

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
  - approvals bind this bundle digest and transition, and count only for
    the policy's approval_valid_for; a rejection by a required role blocks
    until the same person approves later; a restriction voids approvals
    signed before it;
  - the gates pass, re-evaluated from the bundle's evidence (the directory
    given, or the evidence the ledger carries);
  - an emergency counts only within its window, and turns to not approved
    when its incident review is overdue;
  - each --artifact file is an artifact of the bundle;
  - no signer whose entry counts has equivocated.

The answer explains itself: each requirement with who met it, or what is
missing and why. The root trusted is --root, else the one this home pinned
when it first saw one.

Exit status: 0 approved, 1 not approved, 2 the ledger is tampered,
3 usage or input error.`,
		Example: `  signoff verify ./credit-risk-v7 --to production
  signoff verify --model credit-risk --version 7 --to production --artifact model.onnx
  signoff verify --subject 3f9a2c --to production --at 2026-12-01T00:00:00Z --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if to == "" {
				return usageError("verify needs --to STAGE")
			}
			now, err := parseAt(at)
			if err != nil {
				return err
			}
			var files []policy.ArtifactFile
			for _, p := range artifacts {
				sum, err := hashFile(p)
				if err != nil {
					return usageError("--artifact %v", err)
				}
				files = append(files, policy.ArtifactFile{Path: p, SHA256: sum})
			}
			l, err := a.openLedger()
			if err != nil {
				return err
			}
			defer l.Close()
			anchor, err := a.anchor(subj.root, l)
			if errors.Is(err, policy.ErrNoRoot) {
				anchor = "" // Judge says why not
			} else if err != nil {
				return err
			}
			var trust *policy.Trust
			if anchor != "" {
				if trust, err = policy.LoadTrust(l, anchor, now); err != nil {
					return verdictError(err)
				}
			}
			r, err := subj.resolve(l, args, to, trust, now)
			if err != nil {
				return err
			}
			defer r.close()
			stop := a.busy("judging")
			v, err := policy.Judge(l, policy.Query{Bundle: r.digest, To: to, At: now, Anchor: anchor, Dir: r.dir, Artifacts: files, Trust: trust})
			stop()
			if err != nil {
				return verdictError(err)
			}
			if subj.model != "" {
				v.MustName(subj.model, subj.version)
			}
			if asJSON {
				if err := writeJSON(a.stdout, v); err != nil {
					return err
				}
			} else {
				a.printVerdict(v)
			}
			if !v.Approved {
				return &exitError{exitFailed, nil}
			}
			return nil
		},
	}
	c.Flags().StringVar(&to, "to", "", "the stage (required)")
	c.Flags().StringVar(&at, "at", "", "judge as of this time (RFC 3339) instead of now")
	c.Flags().StringArrayVar(&artifacts, "artifact", nil, "a file about to be deployed: it must be an artifact of the bundle; repeatable")
	c.Flags().BoolVar(&asJSON, "json", false, "the verdict as JSON: approved, reasons, gates, requirements, …")
	subj.register(c, true)
	return c
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
	if !v.Approved {
		head = "NOT APPROVED"
	} else if v.Path == "emergency" {
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

func (a *app) statusCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "status",
		Short: "The registry: each model version's stage and open requests",
		Long: `Show each model version the ledger knows: its current stage (the last
promotion recorded; draft if none), whether it is restricted or
deprecated, and the promotion requests still open with the decisions
signed about them so far. It shows what is signed; signoff verify judges.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			l, err := a.openLedger()
			if err != nil {
				return err
			}
			defer l.Close()
			st, err := policy.Status(l)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, map[string]any{"versions": st})
			}
			if len(st) == 0 {
				fmt.Fprintln(a.stdout, "no model versions yet: request one with signoff request DIR")
				return nil
			}
			for _, v := range st {
				flags := ""
				if v.Restricted != nil {
					flags += "  RESTRICTED: " + oneLine(v.Restricted.Reason)
				}
				fmt.Fprintf(a.stdout, "%s %s  %s%s\n", inert.Escape(v.Model), inert.Escape(v.Version), inert.Escape(v.Stage), inert.Escape(flags))
				for _, p := range v.Pending {
					fmt.Fprintf(a.stdout, "  pending %s->%s  %s  requested by %s %s  approvals %d, rejections %d, changes requested %d\n",
						inert.Escape(p.Subject.From), inert.Escape(p.Subject.To), inert.Digest(p.Subject.Bundle), inert.Escape(p.Requested.Identity), p.Requested.Time.Format(time.RFC3339), p.Approvals, p.Rejection, p.Changes)
				}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "the registry as JSON: versions[] with stage and pending requests")
	return c
}
