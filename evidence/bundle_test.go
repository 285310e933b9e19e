package evidence

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const goodManifest = `model: credit-risk
version: "7"
risk_tier: high
change: standard
transition: {from: staging, to: production}
authors: [alice@example.com]
artifacts: [{path: model.onnx}]
card: MODEL_CARD.md
metrics: {candidate: metrics.json, baseline: baseline/metrics.json}
scans: [sbom.spdx.json]
reproducibility: {code: 3f2a9c1, data_snapshot: snap-2026-11, config: train.yaml, seed: 42}
docs: {monitoring: MONITORING.md, rollback: ROLLBACK.md}
`

// writeBundle writes a bundle with the good manifest and its files.
func writeBundle(t *testing.T, manifest string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		ManifestName:            manifest,
		"model.onnx":            "weights",
		"MODEL_CARD.md":         "# credit-risk\n",
		"metrics.json":          `{"roc_auc": 0.83}`,
		"baseline/metrics.json": `{"roc_auc": 0.82}`,
		"sbom.spdx.json":        `{}`,
		"train.yaml":            "lr: 0.1\n",
		"MONITORING.md":         "watch drift\n",
		"ROLLBACK.md":           "redeploy v6\n",
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestParseManifest(t *testing.T) {
	m, err := ParseManifest([]byte(goodManifest))
	if err != nil {
		t.Fatal(err)
	}
	if m.Model != "credit-risk" || m.Version != "7" || m.Transition.String() != "staging->production" || *m.Reproducibility.Seed != 42 {
		t.Fatalf("parsed %+v", m)
	}
	unquoted, err := ParseManifest([]byte(strings.Replace(goodManifest, `"7"`, "7", 1)))
	if err != nil || unquoted.Version != "7" {
		t.Fatalf("unquoted version: %v, %v", unquoted, err)
	}
}

func TestParseManifestErrors(t *testing.T) {
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"unknown field", "card:", "cards:", "line 8: field cards not found"},
		{"missing model", "model: credit-risk\n", "", "model is required"},
		{"missing transition", "transition: {from: staging, to: production}\n", "", "line 1: transition.from is required"},
		{"bad change", "change: standard", "change: yolo", `line 4: change "yolo" is not standard, emergency or experiment`},
		{"experiment to production", "change: standard", "change: experiment", "line 5: an experiment never goes to production"},
		{"not clean", "card: MODEL_CARD.md", "card: docs/../../etc/passwd", `line 8: card: "docs/../../etc/passwd" is not a clean relative path`},
		{"dotdot clean", "card: MODEL_CARD.md", "card: ../secret", `line 8: card: "../secret" leaves the bundle`},
		{"absolute", "card: MODEL_CARD.md", "card: /etc/passwd", `line 8: card: "/etc/passwd" is absolute`},
		{"control character", "card: MODEL_CARD.md", `card: "a\u001b[2Jb"`, "holds a control or non-printing character"},
		{"manifest itself", "card: MODEL_CARD.md", "card: bundle.yaml", "is the bundle's own file"},
		{"bad sha", "artifacts: [{path: model.onnx}]", "artifacts: [{path: model.onnx, sha256: abc}]", "line 7: artifact \"model.onnx\": sha256 must be 64 lowercase hex digits"},
		{"not yaml", "model: credit-risk", "model: [unclosed", "bundle.yaml: line"},
		{"wrong type", "authors: [alice@example.com]", "authors: {a: b}", "line 6: cannot unmarshal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(goodManifest, tc.old, tc.new, 1)
			_, err := ParseManifest([]byte(src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "bundle.yaml: ") {
				t.Fatalf("error %q does not name the file", err)
			}
		})
	}
	if _, err := ParseManifest([]byte(strings.Repeat("#", MaxManifest+1))); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("oversized manifest: %v", err)
	}
	bomb := "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
	if _, err := ParseManifest([]byte(bomb)); err == nil {
		t.Fatal("an alias bomb parsed")
	}
}

func TestSealAndCheck(t *testing.T) {
	dir := writeBundle(t, goodManifest)
	b, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	l, err := b.Seal()
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Files) != 9 || l.Files[0].Path != "MODEL_CARD.md" {
		t.Fatalf("lock files %+v", l.Files)
	}
	data, _ := os.ReadFile(filepath.Join(dir, LockName))
	parsed, err := ParseLock(data)
	if err != nil || parsed.Digest() != l.Digest() || string(parsed.Bytes()) != string(data) {
		t.Fatalf("lock does not round-trip: %v", err)
	}

	// The digest depends on contents only: the same bundle elsewhere has
	// the same digest; any changed byte changes it.
	other := writeBundle(t, goodManifest)
	b2, _ := Open(other)
	defer b2.Close()
	l2, _ := b2.Lock()
	if l2.Digest() != l.Digest() {
		t.Fatalf("digest differs between two copies: %s, %s", l.Digest(), l2.Digest())
	}

	st, err := b.Check()
	if err != nil || !st.Intact() {
		t.Fatalf("fresh seal: %+v, %v", st, err)
	}
	os.WriteFile(filepath.Join(dir, "metrics.json"), []byte(`{"roc_auc": 0.93}`), 0o644)
	os.Remove(filepath.Join(dir, "ROLLBACK.md"))
	st, err = b.Check()
	if err != nil || st.Intact() {
		t.Fatalf("changed bundle: %+v, %v", st, err)
	}
	got := map[string]string{}
	for _, f := range st.Files {
		got[f.Path] = f.Status
	}
	if got["metrics.json"] != "changed" || got["ROLLBACK.md"] != "missing" || got["MODEL_CARD.md"] != "sealed" {
		t.Fatalf("statuses %v", got)
	}
	if _, err := b.Lock(); !errors.Is(err, ErrMissing) {
		t.Fatalf("Lock with a missing file: %v", err)
	}
}

func TestArtifactSHA256(t *testing.T) {
	wrong := strings.Replace(goodManifest, "{path: model.onnx}", "{path: model.onnx, sha256: "+strings.Repeat("0", 64)+"}", 1)
	b, err := Open(writeBundle(t, wrong))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Seal(); err == nil || !strings.Contains(err.Error(), "artifact model.onnx: its sha256 is") {
		t.Fatalf("mismatched artifact sha256: %v", err)
	}
	sum := sha256.Sum256([]byte("weights"))
	right := strings.Replace(goodManifest, "{path: model.onnx}", "{path: model.onnx, sha256: "+hex.EncodeToString(sum[:])+"}", 1)
	b2, err := Open(writeBundle(t, right))
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	if _, err := b2.Seal(); err != nil {
		t.Fatalf("matching artifact sha256: %v", err)
	}
}

func TestHostileFiles(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(outside, []byte("secret"), 0o644)

	dir := writeBundle(t, goodManifest)
	os.Remove(filepath.Join(dir, "MODEL_CARD.md"))
	if err := os.Symlink(outside, filepath.Join(dir, "MODEL_CARD.md")); err != nil {
		t.Fatal(err)
	}
	b, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Seal(); err == nil || !strings.Contains(err.Error(), "MODEL_CARD.md leads outside the bundle") {
		t.Fatalf("symlink out: %v", err)
	}
	b.Close()

	dir = writeBundle(t, goodManifest)
	os.Remove(filepath.Join(dir, "MODEL_CARD.md"))
	os.Symlink("../"+filepath.Base(filepath.Dir(outside))+"/secret", filepath.Join(dir, "MODEL_CARD.md"))
	b, _ = Open(dir)
	if _, err := b.Seal(); err == nil || !strings.Contains(err.Error(), "outside the bundle") {
		t.Fatalf("relative symlink out: %v", err)
	}
	b.Close()

	// A symlink inside the bundle is fine.
	dir = writeBundle(t, goodManifest)
	os.Remove(filepath.Join(dir, "ROLLBACK.md"))
	os.Symlink("MONITORING.md", filepath.Join(dir, "ROLLBACK.md"))
	b, _ = Open(dir)
	if _, err := b.Seal(); err != nil {
		t.Fatalf("symlink inside: %v", err)
	}
	b.Close()

	// A FIFO would block a reader forever; a directory is not a file.
	dir = writeBundle(t, goodManifest)
	os.Remove(filepath.Join(dir, "MONITORING.md"))
	if err := syscall.Mkfifo(filepath.Join(dir, "MONITORING.md"), 0o644); err != nil {
		t.Skip("no FIFOs here")
	}
	os.Remove(filepath.Join(dir, "ROLLBACK.md"))
	os.Mkdir(filepath.Join(dir, "ROLLBACK.md"), 0o755)
	b, _ = Open(dir)
	_, err = b.Seal()
	if err == nil || !strings.Contains(err.Error(), "MONITORING.md is not a regular file") || !strings.Contains(err.Error(), "ROLLBACK.md is not a regular file") {
		t.Fatalf("FIFO and directory: %v", err)
	}
	b.Close()

	if _, err := Open(t.TempDir()); err == nil || !strings.Contains(err.Error(), "has no bundle.yaml") {
		t.Fatalf("no manifest: %v", err)
	}
}

func TestParseLockErrors(t *testing.T) {
	good := lockHeader + "sha256:" + strings.Repeat("a", 64) + " 3 a.txt\nsha256:" + strings.Repeat("b", 64) + " 4 b.txt\n"
	if _, err := ParseLock([]byte(good)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, text, want string }{
		{"header", "nope\n", "line 1: want"},
		{"unsorted", lockHeader + "sha256:" + strings.Repeat("b", 64) + " 4 b.txt\nsha256:" + strings.Repeat("a", 64) + " 3 a.txt\n", "line 3: files are not sorted"},
		{"bad sum", lockHeader + "sha256:xyz 3 a.txt\n", "line 2: want sha256"},
		{"escape", lockHeader + "sha256:" + strings.Repeat("a", 64) + " 3 ../x\n", "leaves the bundle"},
		{"no newline", lockHeader + "sha256:" + strings.Repeat("a", 64) + " 3 a.txt", "does not end in a newline"},
		{"size", lockHeader + "sha256:" + strings.Repeat("a", 64) + " 03 a.txt\n", "want sha256"},
	} {
		if _, err := ParseLock([]byte(tc.text)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(goodManifest))
	f.Add([]byte("model: m\nversion: 1\ntransition: {from: a, to: b}\npredictions: {candidate: p.csv, label: y, threshold: 0.5, groups: [g]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			return
		}
		for _, nf := range m.files() {
			if CheckPath(nf.path) != nil {
				t.Fatalf("accepted unsafe path %q", nf.path)
			}
		}
	})
}

func FuzzParseLock(f *testing.F) {
	f.Add([]byte(lockHeader + "sha256:" + strings.Repeat("a", 64) + " 3 a.txt\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseLock(data)
		if err != nil {
			return
		}
		if string(l.Bytes()) != string(data) {
			t.Fatalf("lock text is not canonical:\n%q\n%q", data, l.Bytes())
		}
	})
}
