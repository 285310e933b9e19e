package main

import (
	"errors"
	"fmt"
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
	status *evidence.Status // what dir.Check said: the bundle is hashed once
}

func (r *resolved) close() {
	if r.dir != nil {
		r.dir.Close()
	}
}

// notSealedError says a bundle directory is not as it was sealed: exit 2,
// naming what changed.
type notSealedError struct {
	dir    string
	status *evidence.Status
}

func (e *notSealedError) Error() string {
	return fmt.Sprintf("the bundle in %s is not as sealed: %s (see signoff bundle show %s; seal it again, and request again)", e.dir, strings.Join(e.status.Changed(), ", "), e.dir)
}

// resolve finds the bundle: a sealed directory (one changed since sealing
// is a *notSealedError, one never sealed an input error), or one the
// ledger holds entries about (a digest that names none wraps
// [policy.ErrUnknownSubject]). to narrows --model and --version to
// requests for that stage whose signers count in trust at the time at.
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
		return openSealed(args[0])
	case f.subject != "":
		d, err := policy.ResolveSubject(l, f.subject)
		if err != nil && !errors.Is(err, policy.ErrUnknownSubject) {
			return nil, &exitError{exitUsage, err}
		}
		return &resolved{digest: d}, err
	}
	if f.model == "" || f.version == "" {
		return nil, usageError("--model and --version go together")
	}
	if trust == nil {
		return nil, fmt.Errorf("%w: no root is trusted here, so no request for %s %s counts", policy.ErrUnknownSubject, f.model, f.version)
	}
	d, err := policy.FindBundle(l, f.model, f.version, to, trust, at)
	if err != nil {
		return nil, err
	}
	return &resolved{digest: d}, nil
}

// openSealed opens the bundle directory dir and hashes it once: one never
// sealed is an input error, one changed since sealing a *notSealedError.
func openSealed(dir string) (*resolved, error) {
	b, err := openBundle(dir)
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
			return nil, usageError("%s is not sealed: run signoff bundle seal %s", dir, dir)
		}
		return nil, &notSealedError{dir, st}
	}
	return &resolved{digest: st.Digest, dir: b, status: st}, nil
}

// subject returns the subject of r, from its manifest.
func (r *resolved) subject(l *ledger.Ledger) (policy.Subject, error) {
	if r.dir != nil {
		m := r.dir.Manifest
		return policy.Subject{Model: m.Model, Version: m.Version, Bundle: r.digest, From: m.Transition.From, To: m.Transition.To}, nil
	}
	return policy.SubjectOf(l, r.digest)
}

// resolveError gives what resolve returned its exit code, for the
// commands that sign: a bundle changed since sealing is tampering (2), a
// bundle the ledger does not know a failure (1).
func resolveError(err error) error {
	var ns *notSealedError
	switch {
	case errors.As(err, &ns):
		return &exitError{exitTampered, err}
	case errors.Is(err, policy.ErrUnknownSubject):
		return &exitError{exitFailed, err}
	}
	return err
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
			h, s, l, done, err := a.signing(&sf)
			if err != nil {
				return err
			}
			defer done()
			r, err := openSealed(args[0])
			if err != nil {
				return resolveError(err)
			}
			defer r.close()
			b, st := r.dir, r.status
			if m := b.Manifest; to != "" && to != m.Transition.To {
				return usageError("%s asks for %s, not for --to %s: change the manifest's transition and seal it again", args[0], m.Transition, to)
			}
			anchor, err := a.anchor(h, root, l)
			if err != nil {
				return err
			}
			stop := a.busy("computing metrics, 95% intervals and fairness")
			report, err := b.Evaluate()
			stop()
			if err != nil {
				return usageError("%v", err)
			}
			res, err := policy.Request(l, s, b, st, report, anchor, time.Now())
			if errors.Is(err, policy.ErrAlreadyRequested) {
				return &exitError{exitFailed, err}
			} else if err != nil {
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

An approval is signed only if the verdict would count it: a decision by
an author or the requester where separation of duties forbids it is
refused before signing, with the reason. Where the policy requires
reviewers to open sections of the evidence (require_review_of), approve
in the console (signoff review), which records the sections you opened
and for how long: this command refuses such an approval and says so. A
rejection or a request for changes needs no review and is signed here.`,
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
			h, s, l, done, err := a.signing(&sf)
			if err != nil {
				return err
			}
			defer done()
			r, err := subj.resolve(l, args, "", nil, time.Now())
			if err != nil {
				return resolveError(err)
			}
			defer r.close()
			subject, err := r.subject(l)
			if err != nil {
				return err
			}
			anchor, err := a.anchor(h, subj.root, l)
			if err != nil {
				return err
			}
			now := time.Now()
			stop := a.busy("evaluating the gates")
			reports := &policy.Reports{}
			gates, err := policy.GateResults(l, r.dir, r.digest, anchor, now, reports)
			stop()
			if err != nil {
				return err
			}
			d := policy.Decision{Subject: subject, Verdict: verdict, Role: role, Reason: reason, Ticket: ticket, Gates: gates,
				Dir: r.dir, DirStatus: r.status, Reports: reports}
			e, err := policy.Decide(l, s, d, anchor, now)
			if errors.Is(err, policy.ErrWouldNotCount) {
				return &exitError{exitFailed, fmt.Errorf("%w; nothing signed", err)}
			} else if err != nil {
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
			h, s, l, done, err := a.signing(&sf)
			if err != nil {
				return err
			}
			defer done()
			anchor, err := a.anchor(h, subj.root, l)
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
				return resolveError(err)
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
			h, s, l, done, err := a.signing(&sf)
			if err != nil {
				return err
			}
			defer done()
			r, err := subj.resolve(l, args, to, nil, time.Now())
			if err != nil {
				return resolveError(err)
			}
			defer r.close()
			anchor, err := a.anchor(h, subj.root, l)
			if err != nil {
				return err
			}
			now := time.Now()
			stop := a.busy("judging")
			v, err := policy.Judge(l, policy.Query{Bundle: r.digest, To: to, At: now, Anchor: anchor, Dir: r.dir, DirStatus: r.status})
			stop()
			if errors.Is(err, ledger.ErrTampered) {
				return &exitError{exitTampered, err}
			} else if err != nil {
				return err
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
