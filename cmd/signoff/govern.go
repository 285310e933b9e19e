package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/signoff-dev/signoff/inert"
	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
)

// rootPin is the file in the home that holds the digest of the root this
// home trusts first.
const rootPin = "root.pin"

// knownAnchor returns the root to trust when it is known without reading
// the ledger: --root, else the home's pin; "" if neither.
func (a *app) knownAnchor(flag string) (string, error) {
	if flag != "" {
		if !policy.IsDigest(flag) {
			return "", usageError("--root %q is not a root digest (sha256: and 64 hex digits)", flag)
		}
		return flag, nil
	}
	pin, err := a.pinPath()
	if err != nil {
		return "", err
	}
	if data, err := os.ReadFile(pin); err == nil {
		d := strings.TrimSpace(string(data))
		if !policy.IsDigest(d) {
			return "", usageError("%s does not hold a root digest: fix or remove it", pin)
		}
		return d, nil
	}
	return "", nil
}

func (a *app) pinPath() (string, error) {
	h, err := a.homeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(h, rootPin), nil
}

// anchor returns the digest of the root to trust: --root, else the home's
// pin, else the one first root the ledger holds, which is then pinned.
func (a *app) anchor(flag string, l *ledger.Ledger) (string, error) {
	if d, err := a.knownAnchor(flag); d != "" || err != nil {
		return d, err
	}
	pin, err := a.pinPath()
	if err != nil {
		return "", err
	}
	t, err := policy.LoadTrust(l, "", time.Now())
	if errors.Is(err, policy.ErrAmbiguousRoot) {
		return "", &exitError{exitUsage, err}
	} else if err != nil {
		return "", err
	}
	if err := os.WriteFile(pin, []byte(t.Anchor+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("failed to pin the root: %w", err)
	}
	fmt.Fprintf(a.stderr, "signoff: trusting root %s, the first this home has seen; pinned in %s\n", t.Anchor, pin)
	return t.Anchor, nil
}

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

// pin records digest as the root this home trusts, unless one is pinned.
func (a *app) pin(digest string) error {
	path, err := a.pinPath()
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	} else if err != nil {
		return err
	}
	_, err = fmt.Fprintln(f, digest)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
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
			s, done, err := a.signer(&sf)
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
			l, err := a.openLedger()
			if err != nil {
				return err
			}
			defer l.Close()
			e, err := policy.Adopt(l, s, root, time.Now())
			if err != nil {
				return err
			}
			if err := a.pin(root.Digest); err != nil {
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
	c := &cobra.Command{
		Use:   "adopt (FILE | sha256:DIGEST)",
		Short: "Sign your adoption of a root, keyring or policy",
		Long: `Sign your adoption of a governance document: a root (admins: …), a keyring
(members: …) or a policy (tiers: …). The document goes into the ledger with
your signature, so every machine that imports it can check what was in
force when.

A document is in force once the threshold of admins of the root in force
has adopted the same digest (a new root also needs its own threshold). Its
version must be higher than the one in force. To adopt what another admin
adopted, import their ledger and give the digest instead of a file.`,
		Example: `  signoff adopt keyring.yaml
  signoff adopt sha256:3f9a…   # a document another admin adopted`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, l, done, err := a.signing(&sf)
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
			// An adoption that can never take effect helps no one: say why.
			if anchor, err := a.anchor("", l); err == nil {
				if t, err := policy.LoadTrust(l, anchor, time.Now()); err == nil {
					if cur := t.InForceNow(doc.Kind); cur != nil {
						switch {
						case cur.Digest == doc.Digest:
							fmt.Fprintf(a.stdout, "%s version %d %s is already in force; nothing signed\n", doc.Kind, doc.Version, doc.Digest)
							return nil
						case doc.Version != cur.Version+1:
							return usageError("%s is %s version %d, but version %d is in force: the next must be version %d", args[0], doc.Kind, doc.Version, cur.Version, cur.Version+1)
						}
					}
				}
			}
			e, err := policy.Adopt(l, s, doc, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "adopted %s version %d %s (entry %s)\n", doc.Kind, doc.Version, doc.Digest, e.ID)
			// Say where it stands now.
			anchor, err := a.anchor("", l)
			var t *policy.Trust
			if err == nil {
				t, err = policy.LoadTrust(l, anchor, time.Now())
			}
			if err != nil {
				fmt.Fprintf(a.stdout, "not in force: %v\n", err)
				return nil
			}
			for _, list := range [][]*policy.InForce{t.Roots, t.Keyrings, t.Policies} {
				for _, d := range list {
					if d.Digest == doc.Digest {
						fmt.Fprintf(a.stdout, "in force since %s\n", d.Since.UTC().Format(time.RFC3339))
						return nil
					}
				}
			}
			for _, d := range t.Pending {
				if d.Digest == doc.Digest {
					fmt.Fprintf(a.stdout, "not yet in force: adopted by %d; more admins of the root in force must adopt it (signoff adopt %s)\n", len(d.Adopters), doc.Digest)
				}
			}
			for _, w := range t.Warnings {
				fmt.Fprintf(a.stdout, "warning: %s\n", inert.Escape(w))
			}
			return nil
		},
	}
	sf.register(c)
	return c
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
warnings, such as a version adopted below the one in force.`,
		Example: `  signoff governance
  signoff governance --json | jq '.policies[-1].digest'`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			when, err := parseAt(at)
			if err != nil {
				return err
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
				fmt.Fprintf(a.stdout, "%-8s v%-3d %s  pending: %d adoption(s) so far\n", d.Kind, d.Version, d.Digest, len(d.Adopters))
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
