package tui

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"charm.land/glamour/v2"

	"github.com/signoff-dev/signoff/evidence"
	"github.com/signoff-dev/signoff/inert"
	"github.com/signoff-dev/signoff/ledger"
	"github.com/signoff-dev/signoff/policy"
)

// Sections of the review, in order; the names are the policy's
// require_review_of names.
var sections = []string{"overview", "card", "metrics", "fairness", "evidence", "history"}

var sectionTitles = map[string]string{
	"overview": "Overview", "card": "Model card", "metrics": "Metrics", "fairness": "Fairness", "evidence": "Evidence", "history": "History",
}

type reviewState struct {
	row     Row
	data    *Review
	loading bool
	section int
	vp      viewport.Model
	// What the reader opened, and for how long: what a decision records.
	opened map[string]bool
	spent  map[string]time.Duration
	since  time.Time // when the current section was opened
	// cardCache is the card rendered at cardWidth.
	cardCache []byte
	cardWidth int
}

type reviewMsg struct {
	row  Row
	data *Review
	err  error
}

// openReview starts loading a subject's review.
func (m *Model) openReview(r Row) tea.Cmd {
	m.screen = screenReview
	m.rev = reviewState{row: r, loading: true, vp: m.rev.vp, opened: map[string]bool{}, spent: map[string]time.Duration{}}
	m.rev.vp.SetContent("")
	m.status = "re-evaluating the gates from the evidence the ledger carries…"
	m.errText = ""
	now := m.now()
	trust := m.trust
	return func() tea.Msg {
		var data *Review
		err := m.withLedger(func(l *ledger.Ledger) error {
			var err error
			data, err = loadReview(l, trust, &m.reports, r.Subject, now)
			return err
		})
		return reviewMsg{row: r, data: data, err: err}
	}
}

func (m *Model) reviewLoaded(msg reviewMsg) (tea.Model, tea.Cmd) {
	if m.screen != screenReview || msg.row.Subject != m.rev.row.Subject {
		return m, nil // the reader has moved on
	}
	m.rev.loading = false
	m.status = ""
	if msg.err != nil {
		m.errText = msg.err.Error()
		return m, nil
	}
	m.rev.data = msg.data
	m.openSection(0)
	return m, nil
}

// openSection makes section i current, counting the time spent in the
// one before.
func (m *Model) openSection(i int) {
	r := &m.rev
	now := m.now()
	if !r.since.IsZero() {
		r.spent[sections[r.section]] += now.Sub(r.since)
	}
	r.section = (i + len(sections)) % len(sections)
	r.since = now
	r.opened[sections[r.section]] = true
	m.refreshSection()
	r.vp.GotoTop()
}

// leaveReview stops the clock on the current section.
func (m *Model) leaveReview() {
	r := &m.rev
	if !r.since.IsZero() {
		r.spent[sections[r.section]] += m.now().Sub(r.since)
		r.since = time.Time{}
	}
}

func (m *Model) reviewKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k, r := m.keys, &m.rev
	switch {
	case key.Matches(msg, k.Back):
		m.leaveReview()
		m.screen = screenQueue
		m.status, m.errText = "", ""
		return m, nil
	case key.Matches(msg, k.Quit):
		return m, tea.Quit
	case r.data == nil:
		return m, nil
	case key.Matches(msg, k.NextSection):
		m.openSection(r.section + 1)
	case key.Matches(msg, k.PrevSection):
		m.openSection(r.section - 1)
	case key.Matches(msg, k.Section):
		m.openSection(int(msg.String()[0] - '1'))
	case key.Matches(msg, k.Decide):
		return m, m.openDecide()
	case key.Matches(msg, k.Top):
		r.vp.GotoTop()
	case key.Matches(msg, k.Bottom):
		r.vp.GotoBottom()
	default:
		var cmd tea.Cmd
		r.vp, cmd = r.vp.Update(msg)
		return m, cmd
	}
	return m, nil
}

// refreshSection renders the current section into the viewport.
func (m *Model) refreshSection() {
	r := &m.rev
	if r.data == nil {
		return
	}
	w := max(m.width-2, 20)
	var s string
	switch sections[r.section] {
	case "overview":
		s = m.overview(w)
	case "card":
		s = m.card(w)
	case "metrics":
		s = m.metrics(w)
	case "fairness":
		s = m.fairness(w)
	case "evidence":
		s = m.evidenceSection(w)
	case "history":
		s = m.history(w)
	}
	r.vp.SetContent(truncate(s, m.width))
}

func (m *Model) reviewView() string {
	r := &m.rev
	var b strings.Builder
	b.WriteString(m.th.Accent.Render(truncate(safe(r.row.Subject.Model+" "+r.row.Subject.Version)+"  "+safe(r.row.Subject.From+" → "+r.row.Subject.To)+"  "+m.th.Subtle.Render(inert.Digest(r.row.Subject.Bundle)), m.width)) + "\n")
	var tabs []string
	for i, s := range sections {
		label := fmt.Sprintf("%d %s", i+1, sectionTitles[s])
		switch {
		case i == r.section && r.data != nil:
			tabs = append(tabs, m.th.TabOn.Render(label))
		case r.opened[s]:
			tabs = append(tabs, m.th.TabSeen.Render(label+" ✓"))
		default:
			tabs = append(tabs, m.th.Tab.Render(label))
		}
	}
	b.WriteString(truncate(strings.Join(tabs, "  "), m.width) + "\n")
	if r.loading {
		b.WriteString(m.th.Subtle.Render("  computing metrics, intervals and fairness from the bundle's evidence…"))
		return b.String()
	}
	if r.data == nil {
		b.WriteString(m.th.Fail.Render("  the review could not be loaded"))
		return b.String()
	}
	b.WriteString(r.vp.View())
	return b.String()
}

// sections

func (m *Model) check(ok bool) string {
	if ok {
		return m.th.Pass.Render("✓")
	}
	return m.th.Fail.Render("✗")
}

func (m *Model) overview(w int) string {
	d := m.rev.data
	v := d.Verdict
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	state := m.th.Fail.Render("NOT APPROVED")
	if v.Approved {
		state = m.th.Pass.Render("APPROVED")
		if v.Path == "emergency" {
			state += m.th.Warn.Render(" (emergency)")
		}
	}
	line("%s  at %s", state, v.At.Format(time.RFC3339))
	line("%s", m.th.Subtle.Render(fmt.Sprintf("risk tier %s · change %s · bundle %s", safe(v.Tier), safe(v.Change), v.Subject.Bundle)))
	for _, rq := range v.Requests {
		line("%s", m.th.Subtle.Render(fmt.Sprintf("requested by %s at %s", safe(rq.Identity), rq.Time.Format(time.RFC3339))))
	}
	if len(v.Reasons) > 0 {
		line("")
		for _, r := range v.Reasons {
			line("%s %s", m.th.Fail.Render("✗"), wrap(safe(r), w-2, "  "))
		}
	}
	line("")
	pass := 0
	for _, g := range v.Gates {
		if g.Status == policy.Pass {
			pass++
		}
	}
	line("%s", m.th.Header.Render(fmt.Sprintf("Gates  ✓ %d  ✗ %d", pass, len(v.Gates)-pass)))
	for _, g := range v.Gates {
		text := wrap(safe(g.Name)+": "+safe(g.Reason), w-6, "      ")
		line("  %s %s", m.check(g.Status == policy.Pass), text)
	}
	line("")
	line("%s", m.th.Header.Render("Sign-offs"))
	if len(v.Requirements) == 0 {
		line("  %s", m.th.Subtle.Render("this transition requires none"))
	}
	for _, q := range v.Requirements {
		line("  %s %s  %d of %d", m.check(q.Met), q.Requirement, len(q.By), q.Count)
		for _, s := range q.By {
			line("      %s (%s) %s %s", safe(s.Identity), s.Role, m.th.Subtle.Render(s.Time.Format(time.RFC3339)), m.th.Subtle.Render(inert.Digest(s.Entry)))
		}
		if !q.Met {
			line("      %s", m.th.Warn.Render(wrap(safe(q.Explanation), w-6, "      ")))
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
		line("%s", m.th.Header.Render("Warnings"))
		for _, x := range warns {
			line("  %s %s", m.th.Warn.Render("!"), wrap(safe(x), w-4, "    "))
		}
	}
	return b.String()
}

func (m *Model) card(w int) string {
	d, r := m.rev.data, &m.rev
	if d.Card == "" && (d.Report.Card == nil || d.Report.Card.Body == "") {
		return m.th.Warn.Render("This bundle has no model card.")
	}
	var b strings.Builder
	if c := d.Report.Card; c != nil {
		fmt.Fprintf(&b, "%s\n", m.th.Header.Render("Metadata"))
		meta := [][2]string{{"name", c.Name}, {"format", c.Format}, {"license", c.License}, {"owners", strings.Join(c.Owners, ", ")},
			{"datasets", strings.Join(c.Datasets, ", ")}, {"intended use", c.IntendedUse}, {"limitations", strings.Join(c.Limitations, "; ")}}
		for _, kv := range meta {
			if kv[1] != "" {
				fmt.Fprintf(&b, "  %s %s\n", m.th.Subtle.Render(pad(kv[0], 13)), wrap(safe(kv[1]), w-16, strings.Repeat(" ", 16)))
			}
		}
		if len(c.Results) > 0 {
			fmt.Fprintf(&b, "\n%s\n", m.th.Header.Render("Results the card reports"))
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
				rows = append(rows, []string{name, val, res.Dataset, res.Split, res.Task})
			}
			b.WriteString(m.table(rows, w, nil))
		}
		for _, x := range c.Warnings {
			fmt.Fprintf(&b, "  %s %s\n", m.th.Warn.Render("!"), safe(x))
		}
	}
	if r.cardCache == nil || r.cardWidth != w {
		r.cardCache, r.cardWidth = []byte(m.renderMarkdown(cardBody(d), w)), w
	}
	b.WriteString("\n")
	b.Write(r.cardCache)
	return b.String()
}

// cardBody is the card's markdown: the body without front matter, or the
// whole file for a card that is only markdown.
func cardBody(d *Review) string {
	if c := d.Report.Card; c != nil && c.Body != "" {
		return c.Body
	}
	if d.Report.Card != nil && d.Report.Card.Format != "markdown" {
		return ""
	}
	return d.Card
}

// renderMarkdown renders untrusted markdown, made inert first, with the
// theme's glamour style.
func (m *Model) renderMarkdown(md string, w int) string {
	md = inert.Text(md)
	style := m.th.Glamour
	if m.th.Name == "default" && !m.isDark {
		style = "light"
	}
	r, err := glamour.NewTermRenderer(glamour.WithStandardStyle(style), glamour.WithWordWrap(w-2))
	if err != nil {
		return md
	}
	out, err := r.Render(md)
	if err != nil {
		return md
	}
	// Glamour writes OSC 8 links for link text; the links came from
	// outside, so show their text and address but make nothing clickable.
	out = stripOSC(out)
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		lines = append(lines, strings.TrimRight(l, " "))
	}
	return strings.Trim(strings.Join(lines, "\n"), "\n")
}

func (m *Model) metrics(w int) string {
	d := m.rev.data
	var names []string
	for k := range d.Report.Metrics.Candidate {
		names = append(names, k)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return m.th.Warn.Render("This bundle reports no metrics.")
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
	var marks []string
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
		mark, glyph := "", ""
		for _, g := range gateOf[k] {
			ok := g.Status == policy.Pass
			gates = append(gates, g.Name)
			if !ok {
				mark, glyph = "fail", "✗"
			} else if mark == "" {
				mark, glyph = "pass", "✓"
			}
		}
		rows = append(rows, []string{glyph, k, c.Value.String(), ciText(c), base, delta, rel, sig, strings.Join(gates, ", ")})
		marks = append(marks, mark)
	}
	out := m.table(rows, w, marks)
	var other []string
	for _, g := range d.Verdict.Gates {
		if g.Kind == "expr" || g.Kind == "evidence" {
			other = append(other, fmt.Sprintf("  %s %s: %s", m.check(g.Status == policy.Pass), safe(g.Name), safe(g.Reason)))
		}
	}
	if len(other) > 0 {
		out += "\n" + m.th.Header.Render("Other gates") + "\n" + strings.Join(other, "\n") + "\n"
	}
	for _, x := range d.Report.Warnings {
		out += m.th.Warn.Render("! "+safe(x)) + "\n"
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
	d := m.rev.data
	var cols []string
	for k := range d.Report.Fairness {
		cols = append(cols, k)
	}
	sort.Strings(cols)
	if len(cols) == 0 {
		return m.th.Warn.Render("This bundle has no fairness data (no group columns in its predictions).")
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
		fmt.Fprintf(&b, "%s\n", m.th.Header.Render("By "+safe(col)))
		var groups []string
		for g := range f.Groups {
			groups = append(groups, g)
		}
		sort.Strings(groups)
		rows := [][]string{{"group", "n", "selection rate", "TPR", "FPR"}}
		for _, g := range groups {
			s := f.Groups[g]
			rows = append(rows, []string{safe(g), fmt.Sprint(s.N), s.SelectionRate.String(), s.TPR.String(), s.FPR.String()})
		}
		b.WriteString(m.table(rows, w, nil))
		disp := [][]string{{"disparity", "value", "gate"}}
		var marks []string
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
			gt, mark := "", ""
			for _, g := range gates {
				if g.g.Fairness == x.name && slices.Contains(g.g.Groups, col) {
					ok := g.res.Status == policy.Pass
					gt = fmt.Sprintf("%s %s (%s)", map[bool]string{true: "✓", false: "✗ violated:"}[ok], g.g.Name, g.res.Bound)
					mark = map[bool]string{true: "pass", false: "fail"}[ok]
				}
			}
			disp = append(disp, []string{strings.ReplaceAll(x.name, "_", " "), x.v.String(), gt})
			marks = append(marks, mark)
		}
		b.WriteString(m.table(disp, w, marks))
		four := m.th.Fail.Render("✗ fails the four-fifths rule")
		if f.FourFifths {
			four = m.th.Pass.Render("✓ passes the four-fifths rule")
		}
		fmt.Fprintf(&b, "  %s\n\n", four)
	}
	return b.String()
}

func (m *Model) evidenceSection(w int) string {
	d := m.rev.data
	man, lock := d.Manifest, d.Lock
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("%s", m.th.Header.Render("Artifacts"))
	line("  %s", m.th.Subtle.Render("sealed by digest in bundle.lock; the files themselves are not carried in the ledger"))
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
		line("  %s %s  %s", m.check(match), safe(a.Path), m.th.Subtle.Render(digest))
	}
	present := func(ok bool, what, detail string) {
		if ok {
			line("  %s %s  %s", m.check(true), what, m.th.Subtle.Render(safe(detail)))
		} else {
			line("  %s %s  %s", m.check(false), what, m.th.Fail.Render("missing"))
		}
	}
	line("")
	line("%s", m.th.Header.Render("Scans"))
	present(len(man.Scans) > 0, "security and licence scans", strings.Join(man.Scans, ", "))
	line("")
	line("%s", m.th.Header.Render("Reproducibility"))
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
	line("%s", m.th.Header.Render("Operations"))
	present(man.Docs.Monitoring != "", "monitoring plan", man.Docs.Monitoring)
	present(man.Docs.Rollback != "", "rollback plan", man.Docs.Rollback)
	line("")
	line("%s", m.th.Header.Render("Bundle"))
	line("  %s digest %s", m.check(true), d.Verdict.Subject.Bundle)
	line("  %s", m.th.Subtle.Render(fmt.Sprintf("%d files sealed; the evidence files were checked against it as they were read", len(lock.Files))))
	_ = w
	return b.String()
}

func (m *Model) history(w int) string {
	d := m.rev.data
	if len(d.History) == 0 {
		return m.th.Subtle.Render("No entries about this subject.")
	}
	rows := [][]string{{"time", "signer", "role", "kind", "what", "entry", "sig."}}
	var marks []string
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
		rows = append(rows, []string{h.Entry.Time.UTC().Format("2006-01-02 15:04"), safe(h.Signer), h.Role, h.Entry.Kind, safe(what), h.Entry.ID.Short(), sig})
		marks = append(marks, map[bool]string{true: "", false: "fail"}[h.Verified && h.Why == ""])
	}
	return m.table(rows, w, marks)
}

// table renders rows (the first is the header) in columns that fit w,
// the widest column giving way first; marks colour data rows.
func (m *Model) table(rows [][]string, w int, marks []string) string {
	n := len(rows[0])
	widths := make([]int, n)
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], displayWidth(c))
		}
	}
	total := func() int {
		t := 2 + n - 1
		for _, x := range widths {
			t += x
		}
		return t
	}
	for total() > w {
		widest := 0
		for i := range widths {
			if widths[i] > widths[widest] {
				widest = i
			}
		}
		if widths[widest] <= 6 {
			break
		}
		widths[widest]--
	}
	var b strings.Builder
	for ri, r := range rows {
		var cells []string
		for i, c := range r {
			cells = append(cells, pad(c, widths[i]))
		}
		text := "  " + strings.Join(cells, " ")
		switch {
		case ri == 0:
			text = m.th.Header.Render(text)
		case ri-1 < len(marks) && marks[ri-1] == "fail":
			text = m.th.Fail.Render(text)
		case ri-1 < len(marks) && marks[ri-1] == "pass":
			text = m.th.Pass.Render(text)
		}
		b.WriteString(strings.TrimRight(text, " ") + "\n")
	}
	return b.String()
}

// wrap folds s to width w, indenting lines after the first.
func wrap(s string, w int, indent string) string {
	if w < 10 {
		w = 10
	}
	var lines []string
	cur := ""
	for _, word := range strings.Fields(s) {
		if cur != "" && displayWidth(cur)+1+displayWidth(word) > w {
			lines = append(lines, cur)
			cur = word
			continue
		}
		if cur != "" {
			cur += " "
		}
		cur += word
	}
	lines = append(lines, cur)
	return strings.Join(lines, "\n"+indent)
}
