package review

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/signoff-dev/signoff/evidence"
	"github.com/signoff-dev/signoff/inert"
	"github.com/signoff-dev/signoff/policy"
	"github.com/signoff-dev/signoff/tui/components/table"
	"github.com/signoff-dev/signoff/tui/components/text"
	"github.com/signoff-dev/signoff/tui/data"
)

// The sections, each drawn w columns wide.

func (m *Model) check(ok bool) string {
	if ok {
		return m.c.Styles.Pass.Render("✓")
	}
	return m.c.Styles.Fail.Render("✗")
}

func (m *Model) overview(w int) string {
	st, d := m.c.Styles, m.data
	v := d.Verdict
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	state := st.Fail.Render("NOT APPROVED")
	if v.Approved {
		state = st.Pass.Render("APPROVED")
		if v.Path == "emergency" {
			state += st.Warn.Render(" (emergency)")
		}
	}
	line("%s  at %s", state, v.At.Format(time.RFC3339))
	line("%s", st.Subtle.Render(fmt.Sprintf("risk tier %s · change %s · bundle %s", text.Safe(v.Tier), text.Safe(v.Change), v.Subject.Bundle)))
	for _, rq := range v.Requests {
		line("%s", st.Subtle.Render(fmt.Sprintf("requested by %s at %s", text.Safe(rq.Identity), rq.Time.Format(time.RFC3339))))
	}
	if len(v.Reasons) > 0 {
		line("")
		for _, r := range v.Reasons {
			line("%s %s", st.Fail.Render("✗"), text.Wrap(text.Safe(r), w-2, "  "))
		}
	}
	line("")
	pass := 0
	for _, g := range v.Gates {
		if g.Status == policy.Pass {
			pass++
		}
	}
	line("%s", st.Header.Render(fmt.Sprintf("Gates  ✓ %d  ✗ %d", pass, len(v.Gates)-pass)))
	for _, g := range v.Gates {
		text := text.Wrap(text.Safe(g.Name)+": "+text.Safe(g.Reason), w-6, "      ")
		line("  %s %s", m.check(g.Status == policy.Pass), text)
	}
	line("")
	line("%s", st.Header.Render("Sign-offs"))
	if len(v.Requirements) == 0 {
		line("  %s", st.Subtle.Render("this transition requires none"))
	}
	for _, q := range v.Requirements {
		line("  %s %s  %d of %d", m.check(q.Met), q.Requirement, len(q.By), q.Count)
		for _, s := range q.By {
			line("      %s (%s) %s %s", text.Safe(s.Identity), s.Role, st.Subtle.Render(s.Time.Format(time.RFC3339)), st.Subtle.Render(inert.Digest(s.Entry)))
		}
		if !q.Met {
			line("      %s", st.Warn.Render(text.Wrap(text.Safe(q.Explanation), w-6, "      ")))
		}
	}
	var warns []string
	for _, r := range v.Rejections {
		warns = append(warns, fmt.Sprintf("%s by %s (%s): %s", r.Verdict, r.Identity, r.Role, r.Reason))
	}
	if v.Restricted != nil {
		warns = append(warns, fmt.Sprintf("restricted by %s at %s: %s", v.Restricted.Identity, v.Restricted.Time.Format(time.RFC3339), v.Restricted.Reason))
	}
	for _, e := range v.Equivocations {
		warns = append(warns, fmt.Sprintf("equivocation: %s's key signed %d entries as entry %d", e.Identity, len(e.Entries), e.Seq))
	}
	warns = append(warns, v.Warnings...)
	if len(warns) > 0 {
		line("")
		line("%s", st.Header.Render("Warnings"))
		for _, x := range warns {
			line("  %s %s", st.Warn.Render("!"), text.Wrap(text.Safe(x), w-4, "    "))
		}
	}
	return b.String()
}

func (m *Model) card(w int) string {
	st, d := m.c.Styles, m.data
	if d.Card == "" && (d.Report.Card == nil || d.Report.Card.Body == "") {
		return st.Warn.Render("This bundle has no model card.")
	}
	var b strings.Builder
	if c := d.Report.Card; c != nil {
		fmt.Fprintf(&b, "%s\n", st.Header.Render("Metadata"))
		meta := [][2]string{{"name", c.Name}, {"format", c.Format}, {"license", c.License}, {"owners", strings.Join(c.Owners, ", ")},
			{"datasets", strings.Join(c.Datasets, ", ")}, {"intended use", c.IntendedUse}, {"limitations", strings.Join(c.Limitations, "; ")}}
		for _, kv := range meta {
			if kv[1] != "" {
				fmt.Fprintf(&b, "  %s %s\n", st.Subtle.Render(text.Pad(kv[0], 13)), text.Wrap(text.Safe(kv[1]), w-16, strings.Repeat(" ", 16)))
			}
		}
		if len(c.Results) > 0 {
			fmt.Fprintf(&b, "\n%s\n", st.Header.Render("Results the card reports"))
			rows := [][]string{{"metric", "value", "dataset", "split", "task"}}
			for _, res := range c.Results {
				name := res.MetricType
				if res.MetricName != "" {
					name = res.MetricName
				}
				val := res.Value
				if res.CI != nil {
					val += fmt.Sprintf(" [%.4g, %.4g]", res.CI[0], res.CI[1])
				}
				// The card's results come from outside, like the rest of it.
				rows = append(rows, []string{text.Safe(name), text.Safe(val), text.Safe(res.Dataset), text.Safe(res.Split), text.Safe(res.Task)})
			}
			b.WriteString(table.Render(st, rows, w, nil))
		}
		for _, x := range c.Warnings {
			fmt.Fprintf(&b, "  %s %s\n", st.Warn.Render("!"), text.Safe(x))
		}
	}
	if m.cardCache == nil || m.cardWidth != w {
		m.cardCache, m.cardWidth = []byte(m.md.Render(cardBody(d), st.Glamour, w)), w
	}
	b.WriteString("\n")
	b.Write(m.cardCache)
	return b.String()
}

// cardBody is the card's markdown: the body without front matter, or the
// whole file for a card that is only markdown.
func cardBody(d *data.Review) string {
	if c := d.Report.Card; c != nil && c.Body != "" {
		return c.Body
	}
	if d.Report.Card != nil && d.Report.Card.Format != "markdown" {
		return ""
	}
	return d.Card
}

func (m *Model) metrics(w int) string {
	st, d := m.c.Styles, m.data
	var names []string
	for k := range d.Report.Metrics.Candidate {
		names = append(names, k)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return st.Warn.Render("This bundle reports no metrics.")
	}
	gateOf := map[string][]policy.Result{}
	if d.Transition != nil {
		for i, g := range d.Transition.Gates {
			if g.Metric != "" && i < len(d.Verdict.Gates) {
				gateOf[g.Metric] = append(gateOf[g.Metric], d.Verdict.Gates[i])
			}
		}
	}
	rows := [][]string{{"", "metric", "candidate", "95% CI", "baseline", "Δ", "Δ%", "signif.", "gate"}}
	var marks []table.Mark
	for _, k := range names {
		c := d.Report.Metrics.Candidate[k]
		base, delta, rel, sig := "-", "", "", ""
		if bm, ok := d.Report.Metrics.Baseline[k]; ok {
			base = bm.Value.String()
			df := d.Report.Metrics.Diff[k]
			if df.Abs.Defined() {
				delta = fmt.Sprintf("%+.4g", df.Abs.V)
				if df.Better != nil && !*df.Better {
					delta += " worse"
				}
			}
			if df.Rel.Defined() {
				rel = fmt.Sprintf("%+.2f%%", 100*df.Rel.V)
			}
			if df.Significant != nil {
				sig = map[bool]string{true: "yes", false: "no"}[*df.Significant]
			}
		}
		var gates []string
		mark, glyph := table.None, ""
		for _, g := range gateOf[k] {
			ok := g.Status == policy.Pass
			gates = append(gates, g.Name)
			if !ok {
				mark, glyph = table.Fail, "✗"
			} else if mark == table.None {
				mark, glyph = table.Pass, "✓"
			}
		}
		rows = append(rows, []string{glyph, k, c.Value.String(), ciText(c), base, delta, rel, sig, strings.Join(gates, ", ")})
		marks = append(marks, mark)
	}
	out := table.Render(st, rows, w, marks)
	var other []string
	for _, g := range d.Verdict.Gates {
		if g.Kind == "expr" || g.Kind == "evidence" {
			other = append(other, fmt.Sprintf("  %s %s: %s", m.check(g.Status == policy.Pass), text.Safe(g.Name), text.Safe(g.Reason)))
		}
	}
	if len(other) > 0 {
		out += "\n" + st.Header.Render("Other gates") + "\n" + strings.Join(other, "\n") + "\n"
	}
	for _, x := range d.Report.Warnings {
		out += st.Warn.Render("! "+text.Safe(x)) + "\n"
	}
	return out
}

func ciText(c evidence.Metric) string {
	switch {
	case c.CI != nil:
		return fmt.Sprintf("%.3g–%.3g", c.CI[0], c.CI[1])
	case c.CIUndefined != "":
		return "undefined"
	}
	return ""
}

func (m *Model) fairness(w int) string {
	st, d := m.c.Styles, m.data
	var cols []string
	for k := range d.Report.Fairness {
		cols = append(cols, k)
	}
	sort.Strings(cols)
	if len(cols) == 0 {
		return st.Warn.Render("This bundle has no fairness data (no group columns in its predictions).")
	}
	// The fairness gates, by metric and column.
	type gate struct {
		g   policy.Gate
		res policy.Result
	}
	var gates []gate
	if d.Transition != nil {
		for i, g := range d.Transition.Gates {
			if g.Fairness != "" && i < len(d.Verdict.Gates) {
				gates = append(gates, gate{g, d.Verdict.Gates[i]})
			}
		}
	}
	var b strings.Builder
	for _, col := range cols {
		f := d.Report.Fairness[col]
		fmt.Fprintf(&b, "%s\n", st.Header.Render("By "+text.Safe(col)))
		var groups []string
		for g := range f.Groups {
			groups = append(groups, g)
		}
		sort.Strings(groups)
		rows := [][]string{{"group", "n", "selection rate", "TPR", "FPR"}}
		for _, g := range groups {
			s := f.Groups[g]
			rows = append(rows, []string{text.Safe(g), fmt.Sprint(s.N), s.SelectionRate.String(), s.TPR.String(), s.FPR.String()})
		}
		b.WriteString(table.Render(st, rows, w, nil))
		disp := [][]string{{"disparity", "value", "gate"}}
		var marks []table.Mark
		for _, x := range []struct {
			name string
			v    evidence.Value
		}{
			{"demographic_parity_difference", f.DemographicParityDifference},
			{"demographic_parity_ratio", f.DemographicParityRatio},
			{"equalized_odds_difference", f.EqualizedOddsDifference},
			{"equal_opportunity_difference", f.EqualOpportunityDifference},
			{"disparate_impact", f.DisparateImpact},
		} {
			gt, mark := "", table.None
			for _, g := range gates {
				if g.g.Fairness == x.name && slices.Contains(g.g.Groups, col) {
					ok := g.res.Status == policy.Pass
					gt = fmt.Sprintf("%s %s (%s)", map[bool]string{true: "✓", false: "✗ violated:"}[ok], g.g.Name, g.res.Bound)
					mark = map[bool]table.Mark{true: table.Pass, false: table.Fail}[ok]
				}
			}
			disp = append(disp, []string{strings.ReplaceAll(x.name, "_", " "), x.v.String(), gt})
			marks = append(marks, mark)
		}
		b.WriteString(table.Render(st, disp, w, marks))
		four := st.Fail.Render("✗ fails the four-fifths rule")
		if f.FourFifths {
			four = st.Pass.Render("✓ passes the four-fifths rule")
		}
		fmt.Fprintf(&b, "  %s\n\n", four)
	}
	return b.String()
}

func (m *Model) evidence() string {
	st, d := m.c.Styles, m.data
	man, lock := d.Manifest, d.Lock
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("%s", st.Header.Render("Artifacts"))
	line("  %s", st.Subtle.Render("sealed by digest in bundle.lock; the files themselves are not carried in the ledger"))
	for _, a := range man.Artifacts {
		lf, ok := lock.File(a.Path)
		digest := "not in the lock"
		if ok {
			digest = fmt.Sprintf("sha256:%x (%d bytes)", lf.SHA256, lf.Size)
		}
		match := ok
		if a.SHA256 != "" && ok {
			match = a.SHA256 == fmt.Sprintf("%x", lf.SHA256)
			digest += map[bool]string{true: ", matches the manifest", false: ", DIFFERS from the manifest's"}[match]
		}
		line("  %s %s  %s", m.check(match), text.Safe(a.Path), st.Subtle.Render(digest))
	}
	present := func(ok bool, what, detail string) {
		if ok {
			line("  %s %s  %s", m.check(true), what, st.Subtle.Render(text.Safe(detail)))
		} else {
			line("  %s %s  %s", m.check(false), what, st.Fail.Render("missing"))
		}
	}
	line("")
	line("%s", st.Header.Render("Scans"))
	present(len(man.Scans) > 0, "security and licence scans", strings.Join(man.Scans, ", "))
	line("")
	line("%s", st.Header.Render("Reproducibility"))
	rp := man.Reproducibility
	present(rp.Code != "", "code", rp.Code)
	present(rp.DataSnapshot != "", "data snapshot", rp.DataSnapshot)
	present(rp.Config != "", "training config", rp.Config)
	seed := ""
	if rp.Seed != nil {
		seed = fmt.Sprint(*rp.Seed)
	}
	present(rp.Seed != nil, "seed", seed)
	line("")
	line("%s", st.Header.Render("Operations"))
	present(man.Docs.Monitoring != "", "monitoring plan", man.Docs.Monitoring)
	present(man.Docs.Rollback != "", "rollback plan", man.Docs.Rollback)
	line("")
	line("%s", st.Header.Render("Bundle"))
	line("  %s digest %s", m.check(true), d.Verdict.Subject.Bundle)
	line("  %s", st.Subtle.Render(fmt.Sprintf("%d files sealed; the evidence files were checked against it as they were read", len(lock.Files))))
	return b.String()
}

func (m *Model) history(w int) string {
	st, d := m.c.Styles, m.data
	if len(d.History) == 0 {
		return st.Subtle.Render("No entries about this subject.")
	}
	rows := [][]string{{"time", "signer", "role", "kind", "what", "entry", "sig."}}
	var marks []table.Mark
	for _, h := range d.History {
		what := ""
		if r := h.Record; r != nil {
			switch h.Entry.Kind {
			case policy.KindDecision:
				what = r.Body.Verdict + ": " + r.Body.Reason
			case policy.KindRequest:
				what = fmt.Sprintf("%s → %s", r.Body.Subject.From, r.Body.Subject.To)
			default:
				what = r.Body.Reason
			}
			if r.Body.Ticket != "" {
				what += " [" + r.Body.Ticket + "]"
			}
		}
		if h.Why != "" {
			what += " (does not count: " + h.Why + ")"
		}
		sig := map[bool]string{true: "✓", false: "✗"}[h.Verified]
		rows = append(rows, []string{h.Entry.Time.UTC().Format("2006-01-02 15:04"), text.Safe(h.Signer), h.Role, h.Entry.Kind, text.Safe(what), h.Entry.ID.Short(), sig})
		marks = append(marks, map[bool]table.Mark{true: table.None, false: table.Fail}[h.Verified && h.Why == ""])
	}
	return table.Render(st, rows, w, marks)
}
