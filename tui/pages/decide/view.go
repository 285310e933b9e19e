package decide

import (
	"fmt"
	"strings"

	"github.com/signoff-dev/signoff/policy"
	"github.com/signoff-dev/signoff/tui/components/text"
	"github.com/signoff-dev/signoff/tui/data"
)

// summaryWidth is the widest the summary of what is signed gets.
const summaryWidth = 100

// View implements common.Component.
func (m *Model) View() string {
	st, c := m.c.Styles, m.c
	if m.review == nil {
		return ""
	}
	v := m.review.Verdict
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	pass := 0
	for _, g := range v.Gates {
		if g.Status == policy.Pass {
			pass++
		}
	}
	polDigest, krVersion := "none in force", 0
	if p := c.Trust.PolicyAt(c.Now()); p != nil {
		polDigest = p.Digest
	}
	if k := c.Trust.KeyringAt(c.Now()); k != nil {
		krVersion = k.Version
	}
	summary := strings.Join([]string{
		"You are signing, as " + text.Safe(c.Me.Identity) + ":",
		"  subject   " + text.Safe(v.Subject.Model+" "+v.Subject.Version) + "  " + text.Safe(v.Subject.From+" → "+v.Subject.To),
		"  bundle    " + v.Subject.Bundle,
		"  policy    " + polDigest,
		fmt.Sprintf("  keyring   version %d", krVersion),
		fmt.Sprintf("  gates     ✓ %d  ✗ %d", pass, len(v.Gates)-pass),
	}, "\n")
	w := min(m.width, summaryWidth)
	b.WriteString(st.Border.Width(w).Render(text.Truncate(summary, w-2)) + "\n")
	if m.entry != "" {
		line("%s", st.Pass.Render("✓ signed and recorded durably in your ledger"))
		line("  entry %s", m.entry)
		line("%s", st.Subtle.Render("  any key: back to the queue (reloaded)"))
		return b.String()
	}
	label := func(fl field, s string) string {
		if m.field == fl {
			return st.Input.Render("▸ " + s)
		}
		return st.Subtle.Render("  " + s)
	}
	var vs []string
	for i, x := range verdicts {
		t := "[ ] " + verdictLabels[x]
		if i == m.verdict {
			t = "[x] " + verdictLabels[x]
			switch x {
			case policy.Approve:
				t = st.Pass.Render(t)
			default:
				t = st.Fail.Render(t)
			}
		}
		vs = append(vs, t)
	}
	line("%s %s", label(fieldVerdict, text.Pad("Verdict", 9)), strings.Join(vs, "  "))
	role := "(none)"
	if len(m.roles) > 0 {
		role = m.roles[m.role]
		if len(m.roles) > 1 {
			role = "‹ " + role + " ›"
		}
	}
	line("%s %s", label(fieldRole, text.Pad("Role", 9)), role)
	line("%s", label(fieldReason, "Reason"))
	line("%s", m.reason.View())
	line("%s %s", label(fieldTicket, text.Pad("Ticket", 9)), m.ticket.View())
	if m.needPass {
		line("%s %s", label(fieldPass, text.Pad("Passphrase", 9)), m.pass.View())
	}
	opened := map[string]bool{}
	for _, r := range m.reviewed {
		opened[r.Section] = true
	}
	var marks []string
	for _, s := range data.Sections {
		marks = append(marks, data.SectionTitle(s)+" "+map[bool]string{true: "✓", false: "·"}[opened[s]])
	}
	line("%s", st.Subtle.Render(text.Truncate("opened: "+strings.Join(marks, "  "), m.width)))
	if missing := m.missing(); len(missing) > 0 {
		line("%s", st.Warn.Render(text.Truncate("approval needs more review: "+strings.Join(missing, "; "), m.width)))
	}
	switch {
	case m.signing:
		line("%s", st.Subtle.Render("signing…"))
	case m.err != "":
		line("%s", st.Fail.Render(text.Wrap("✗ "+text.Safe(m.err), m.width-2, "  ")))
	default:
		line("%s", st.Subtle.Render("ctrl+s signs · tab moves · esc back to the review (what you typed stays)"))
	}
	return b.String()
}
