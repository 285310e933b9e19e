package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/signoff-dev/signoff/inert"
	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
)

// parseAt reads an --at flag: now if empty, else an RFC 3339 time.
func parseAt(at string) (time.Time, error) {
	if at == "" {
		return time.Now(), nil
	}
	t, err := time.Parse(time.RFC3339, at)
	if err != nil {
		return t, usageError("--at %q is not an RFC 3339 time (2026-12-01T00:00:00Z)", at)
	}
	return t, nil
}

func (a *app) initCmd() *cobra.Command {
	var threshold int
	var others []string
	var sf signFlags
	c := &cobra.Command{
		Use:   "init",
		Short: "Start governance: write root, keyring and policy templates and adopt the root",
		Long: `Write root.yaml, keyring.yaml and policy.yaml in the current directory and
sign your adoption of the root, with you as its first admin.

The root names the admins (identities and SSH keys) and how many of them
must adopt a root, keyring or policy before it is in force (the threshold).
The keyring maps people to roles and keys; the policy says, per risk tier
and transition, which sign-offs and gates a promotion needs. Edit the
keyring and the policy, then adopt each with 'signoff adopt FILE'. With a
threshold above 1, other admins adopt the same files (or the same digest,
once they have imported your ledger) before they are in force.

Your home pins this root as the one it trusts.`,
		Example: `  signoff init
  signoff init --admin-threshold 2 --admin bob.pub --admin carol.pub`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			h, err := a.openHome()
			if err != nil {
				return err
			}
			s, done, err := a.signer(h, &sf)
			if err != nil {
				return err
			}
			defer done()
			if s.Identity() == "" {
				return usageError("your key has no identity (its comment): create one with signoff keygen --identity YOU@EXAMPLE.COM")
			}
			admins := []policy.Admin{{Identity: s.Identity(), Keys: []string{keyLine(s.PublicKey().Marshal())}}}
			for _, f := range others {
				pub, comment, err := ledger.ReadPublicKeyFile(f)
				if err != nil {
					return usageError("--admin %s: %v", f, err)
				}
				if err := ledger.CheckIdentity(comment); err != nil {
					return usageError("--admin %s: the key's comment must be the admin's identity: %v", f, err)
				}
				admins = append(admins, policy.Admin{Identity: comment, Keys: []string{keyLine(pub.Marshal())}})
			}
			if threshold < 1 || threshold > len(admins) {
				return usageError("--admin-threshold %d must be 1 to the number of admins (%d); add admins with --admin KEY.pub", threshold, len(admins))
			}
			files := map[string]string{
				"root.yaml":    rootTemplate(threshold, admins),
				"keyring.yaml": keyringTemplate(admins[0]),
				"policy.yaml":  policyTemplate,
			}
			for _, name := range []string{"root.yaml", "keyring.yaml", "policy.yaml"} {
				if _, err := os.Lstat(name); err == nil {
					return usageError("%s already exists here: init does not overwrite governance documents", name)
				}
			}
			root, err := policy.ParseDocument("root.yaml", []byte(files["root.yaml"]))
			if err != nil {
				return fmt.Errorf("internal error: %v", err)
			}
			for _, name := range []string{"root.yaml", "keyring.yaml", "policy.yaml"} {
				if _, err := policy.ParseDocument(name, []byte(files[name])); err != nil {
					return fmt.Errorf("internal error: the %s template: %v", name, err)
				}
				if err := writeNewFile(name, files[name]); err != nil {
					return err
				}
			}
			l, err := h.Ledger()
			if err != nil {
				return err
			}
			defer l.Close()
			if trust, err := policy.LoadTrust(l, "", time.Now()); err == nil {
				return usageError("this home's ledger already holds root %s: init starts governance once; adopt a new root version with signoff adopt", trust.Anchor)
			}
			e, err := policy.Adopt(l, s, root, nil, time.Now())
			if err != nil {
				return err
			}
			if _, err := h.SetPin(root.Digest); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "wrote root.yaml, keyring.yaml and policy.yaml\n")
			fmt.Fprintf(a.stdout, "adopted root version 1 %s (entry %s)\n", root.Digest, e.ID)
			if threshold > 1 {
				fmt.Fprintf(a.stdout, "it is in force once %d more admins adopt it: signoff adopt %s\n", threshold-1, root.Digest)
			}
			fmt.Fprintf(a.stdout, "next: edit keyring.yaml and policy.yaml, then signoff adopt keyring.yaml and signoff adopt policy.yaml\n")
			return nil
		},
	}
	c.Flags().IntVar(&threshold, "admin-threshold", 1, "how many admins must adopt a root, keyring or policy")
	c.Flags().StringArrayVar(&others, "admin", nil, "another admin's public key file (its comment is their identity); repeatable")
	sf.register(c)
	return c
}

func writeNewFile(name, text string) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(text)
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// keyLine formats a key as an OpenSSH public key line without comment.
func keyLine(blob []byte) string {
	line, err := authorizedKey(blob)
	if err != nil {
		panic(err) // blob came from a parsed key
	}
	return line
}

func rootTemplate(threshold int, admins []policy.Admin) string {
	var b strings.Builder
	b.WriteString(`# signoff root: the admins, and how many of them must adopt a root, keyring
# or policy before it is in force. A new root needs this root's threshold and
# its own; every new version is the one in force plus one. A new root may
# revoke an admin's key from a time (revoked_keys: [{key: ..., revoked_at: ...}]).
version: 1
threshold: ` + fmt.Sprint(threshold) + `
admins:
`)
	for _, a := range admins {
		fmt.Fprintf(&b, "  - identity: %s\n    keys:\n      - %s\n", a.Identity, a.Keys[0])
	}
	return b.String()
}

func keyringTemplate(first policy.Admin) string {
	return `# signoff keyring: who holds which role, with which keys. Quorum counts
# people, never keys: one person with two keys or two roles counts once.
# Raise version with every change, and adopt it: signoff adopt keyring.yaml
version: 1
members:
  - identity: ` + first.Identity + `
    name: ""
    roles: [governance]
    keys:
      - ` + first.Keys[0] + `
  # - identity: risk.officer@example.com
  #   name: Risk Officer
  #   roles: [risk]
  #   keys: ["ssh-ed25519 AAAA..."]
  #   valid_from: 2026-01-01T00:00:00Z   # optional
  #   valid_until: 2027-01-01T00:00:00Z  # optional
  #   revoked_at: 2026-06-01T00:00:00Z   # optional: signatures from then on do not count
# A key found stolen: its signatures dated from revoked_at on do not count,
# even those signed before this keyring was adopted.
# revoked_keys:
#   - {key: "ssh-ed25519 AAAA...", revoked_at: 2026-05-30T00:00:00Z, reason: laptop stolen}
`
}

const policyTemplate = `# signoff policy: per risk tier and transition, the sign-offs, separation of
# duties, how long an approval lasts, what a reviewer must open, the gates
# and the emergency path. Raise version with every change, and adopt it:
# signoff adopt policy.yaml
version: 1
tiers:
  high:
    transitions:
      staging->production:
        require:
          - {role: model-owner, count: 1}
          - {any_of: [risk, compliance], count: 2}
        separation_of_duties: {authors_may_approve: false, requester_may_approve: false}
        approval_valid_for: 720h
        require_review_of: [card, metrics, fairness, evidence]
        gates:
          - {name: model-card, evidence: card}
          - {name: scans, evidence: scans}
          - {name: rollback-plan, evidence: rollback}
        emergency: {roles: [mlops], count: 1, valid_for: 72h, review_within: 168h}
  low:
    transitions:
      staging->production:
        require:
          - {role: model-owner, count: 1}
        approval_valid_for: 2160h
        gates:
          - {name: model-card, evidence: card}
`

func (a *app) adoptCmd() *cobra.Command {
	var sf signFlags
	var root string
	c := &cobra.Command{
		Use:   "adopt (FILE | sha256:DIGEST)",
		Short: "Sign your adoption of a root, keyring or policy",
		Long: `Sign your adoption of a governance document: a root (admins: …), a keyring
(members: …) or a policy (tiers: …). The document goes into the ledger with
your signature, so every machine that imports it can check what was in
force when.

A document is in force once the threshold of admins of the root in force
has adopted the same digest (a new root also needs its own threshold).
Versions of each kind go up by exactly one: the first is version 1, then
each is the one in force plus one. A document that could never come into
force is refused before anything is signed, with the rule it breaks. To
adopt what another admin adopted, import their ledger and give the digest
instead of a file.`,
		Example: `  signoff adopt keyring.yaml
  signoff adopt sha256:3f9a…   # a document another admin adopted`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			h, s, l, done, err := a.signing(&sf)
			if err != nil {
				return err
			}
			defer done()
			var doc *policy.Document
			if strings.HasPrefix(args[0], "sha256:") {
				if doc, err = policy.FindDocument(l, args[0]); err != nil {
					return &exitError{exitUsage, err}
				}
			} else {
				data, err := ledger.ReadBounded(args[0], policy.MaxDocument)
				if err != nil {
					return usageError("%v", err)
				}
				if doc, err = policy.ParseDocument(args[0], data); err != nil {
					return usageError("%v", err)
				}
			}
			// An adoption that can never take effect helps no one: say why
			// before signing it.
			var trust *policy.Trust
			anchor, err := a.anchor(h, root, l)
			switch {
			case errors.Is(err, policy.ErrNoRoot) && doc.Kind != policy.KindRoot:
				return usageError("no root is adopted here, so no %s can come into force: adopt a root first (signoff init, or import a ledger that holds one); nothing signed", doc.Kind)
			case errors.Is(err, policy.ErrNoRoot):
			case err != nil:
				return err
			default:
				trust, err = policy.LoadTrust(l, anchor, time.Now())
				if errors.Is(err, policy.ErrNoRoot) {
					trust = nil // the root is adopted, short of its threshold
				} else if err != nil {
					return err
				}
			}
			if err := trust.CheckAdoption(doc); errors.Is(err, policy.ErrAlreadyInForce) {
				fmt.Fprintf(a.stdout, "%s version %d %s is %v; nothing signed\n", doc.Kind, doc.Version, doc.Digest, err)
				return nil
			} else if err != nil {
				return usageError("%s: %v; nothing signed", args[0], err)
			}
			e, err := policy.Adopt(l, s, doc, trust, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "adopted %s version %d %s (entry %s)\n", doc.Kind, doc.Version, doc.Digest, e.ID)
			// Say where it stands now.
			if anchor == "" && doc.Kind == policy.KindRoot {
				anchor = doc.Digest
				if _, err := h.SetPin(doc.Digest); err != nil {
					return err
				}
			}
			t, err := policy.LoadTrust(l, anchor, time.Now())
			if err != nil {
				fmt.Fprintf(a.stdout, "not in force: %v\n", err)
				return nil
			}
			a.printStanding(t, doc.Digest)
			return nil
		},
	}
	c.Flags().StringVar(&root, "root", "", "the digest of the root to trust (default: the root this home pinned)")
	sf.register(c)
	return c
}

// printStanding says where the document with digest stands in t: in
// force, pending (and how many adoptions it has), or never in force and
// why.
func (a *app) printStanding(t *policy.Trust, digest string) {
	for _, list := range [][]*policy.InForce{t.Roots, t.Keyrings, t.Policies} {
		for _, d := range list {
			if d.Digest == digest {
				fmt.Fprintf(a.stdout, "in force since %s\n", d.Since.UTC().Format(time.RFC3339))
				return
			}
		}
	}
	for _, d := range t.Pending {
		if d.Digest == digest {
			root := t.InForceNow(policy.KindRoot)
			fmt.Fprintf(a.stdout, "not yet in force: adopted by %d; more admins of the root in force must adopt it (it needs %d of them): signoff adopt %s\n",
				len(d.Adopters), root.Doc.Root.Threshold, digest)
		}
	}
	for _, d := range t.Dead {
		if d.Digest == digest {
			fmt.Fprintf(a.stdout, "never in force: %s\n", inert.Escape(d.Why))
		}
	}
	for _, w := range t.Warnings {
		fmt.Fprintf(a.stdout, "warning: %s\n", inert.Escape(w))
	}
}

func (a *app) governanceCmd() *cobra.Command {
	var root, at string
	var asJSON bool
	c := &cobra.Command{
		Use:   "governance",
		Short: "Which root, keyring and policy are in force, since when, and what is pending",
		Long: `Show the governance history this ledger proves: each root, keyring and
policy version that came into force, when, and which admins' adoptions put
it there; documents adopted by fewer admins than it takes (pending); and
documents that can never come into force, with the rule they break (the
first version is 1, then each is the one in force plus one); and warnings.`,
		Example: `  signoff governance
  signoff governance --json | jq '.policies[-1].digest'`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			when, err := parseAt(at)
			if err != nil {
				return err
			}
			h, l, err := a.readLedger()
			if err != nil {
				return err
			}
			defer l.Close()
			anchor, err := a.anchor(h, root, l)
			if err != nil {
				return err
			}
			t, err := policy.LoadTrust(l, anchor, when)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, t)
			}
			fmt.Fprintf(a.stdout, "trusting root %s\n", t.Anchor)
			for _, list := range [][]*policy.InForce{t.Roots, t.Keyrings, t.Policies} {
				for _, d := range list {
					var who []string
					for _, s := range d.Adopters {
						who = append(who, s.Identity)
					}
					fmt.Fprintf(a.stdout, "%-8s v%-3d %s  in force since %s  adopted by %s\n", d.Kind, d.Version, d.Digest, d.Since.UTC().Format(time.RFC3339), strings.Join(who, ", "))
				}
			}
			for _, d := range t.Pending {
				fmt.Fprintf(a.stdout, "%-8s v%-3d %s  pending: %s so far\n", d.Kind, d.Version, d.Digest, plural(len(d.Adopters), "adoption", "adoptions"))
			}
			for _, d := range t.Dead {
				fmt.Fprintf(a.stdout, "%-8s v%-3d %s  never in force: %s\n", d.Kind, d.Version, d.Digest, inert.Escape(d.Why))
			}
			for _, u := range t.Unsettled {
				if u.Until.IsZero() {
					fmt.Fprintf(a.stdout, "unsettled: %s\n", inert.Escape(u.Why))
				}
			}
			for _, f := range t.Forked {
				fmt.Fprintf(a.stdout, "equivocation: admin %s's key %s signed %d different entries as entry %d of its feed; every verdict fails until a root revokes the key or drops it\n", inert.Escape(f.Identity), f.Feed, len(f.Entries), f.Seq)
			}
			for _, w := range t.Warnings {
				fmt.Fprintf(a.stdout, "warning: %s\n", inert.Escape(w))
			}
			return nil
		},
	}
	c.Flags().StringVar(&root, "root", "", "the digest of the root to trust (default: the root this home pinned)")
	c.Flags().StringVar(&at, "at", "", "as of this time (RFC 3339) instead of now")
	c.Flags().BoolVar(&asJSON, "json", false, "the history as JSON: anchor, roots, keyrings, policies, pending, warnings")
	return c
}
