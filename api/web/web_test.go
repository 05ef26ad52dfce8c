package web

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

func TestFSHoldsThePage(t *testing.T) {
	for _, name := range append([]string{"index.html", "style.css"}, scripts...) {
		b, err := fs.ReadFile(FS, name)
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		if len(b) == 0 {
			t.Errorf("%s is empty", name)
		}
	}
}

// The server serves FS's files under /static/, so the page must name them so.
func TestIndexLinksItsAssetsUnderStatic(t *testing.T) {
	b, err := fs.ReadFile(FS, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{
		`<meta charset="utf-8">`,
		`name="viewport"`,
		`src="/static/app.js"`,
		`href="/static/style.css"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("index.html lacks %s", want)
		}
	}
}

// scripts are the page's JavaScript modules: app.js imports the others.
var scripts = []string{"app.js", "http.js", "i18n.js", "inbox.js", "members.js", "messages.js", "room.js"}

// Every script in FS is one of scripts, so the checks below see them all,
// and every import names a file that FS holds.
func TestScriptsAreListed(t *testing.T) {
	names, err := fs.Glob(FS, "*.js")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, " ") != strings.Join(scripts, " ") {
		t.Errorf("scripts in FS: %v, listed: %v", names, scripts)
	}
	imp := regexp.MustCompile(`(?m)^import .* from '\./([a-z0-9]+\.js)';$`)
	for _, name := range scripts {
		b, err := fs.ReadFile(FS, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range imp.FindAllStringSubmatch(string(b), -1) {
			if _, err := fs.Stat(FS, m[1]); err != nil {
				t.Errorf("%s imports %s, which is missing", name, m[1])
			}
		}
	}
}

// Data from the server reaches the page only through textContent: a script
// that assigns HTML could run a message as markup.
func TestScriptNeverAssignsHTML(t *testing.T) {
	bad := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function`)
	for _, name := range scripts {
		b, err := fs.ReadFile(FS, name)
		if err != nil {
			t.Fatal(err)
		}
		if m := bad.FindString(string(b)); m != "" {
			t.Errorf("%s uses %s", name, m)
		}
	}
}

// Every string the page shows has a Korean and an English text: a key in
// one language's table is in the other's.
func TestEveryStringIsTranslated(t *testing.T) {
	b, err := fs.ReadFile(FS, "i18n.js")
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	en, ko := strings.Index(src, "\n  en: {"), strings.Index(src, "\n  ko: {")
	end := strings.Index(src, "\n};")
	if en < 0 || ko < en || end < ko {
		t.Fatal("i18n.js: cannot find the en and ko tables")
	}
	key := regexp.MustCompile(`(?m)^    ([a-zA-Z0-9]+): `)
	keys := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, k := range key.FindAllStringSubmatch(s, -1) {
			m[k[1]] = true
		}
		return m
	}
	enKeys, koKeys := keys(src[en:ko]), keys(src[ko:end])
	for k := range enKeys {
		if !koKeys[k] {
			t.Errorf("%s has no Korean text", k)
		}
	}
	for k := range koKeys {
		if !enKeys[k] {
			t.Errorf("%s has no English text", k)
		}
	}
	// Every key the page uses is in the table.
	use := regexp.MustCompile(`\bt\('([a-zA-Z0-9]+)'|data-i18n(?:-placeholder|-label|-title)?="([a-zA-Z0-9]+)"`)
	for _, name := range append([]string{"index.html"}, scripts...) {
		b, err := fs.ReadFile(FS, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range use.FindAllStringSubmatch(string(b), -1) {
			k := m[1] + m[2]
			if !enKeys[k] {
				t.Errorf("%s uses string %q, which the table lacks", name, k)
			}
		}
	}
}

// The server sends the page a Content-Security-Policy without
// 'unsafe-inline' (api.pageCSP): inline scripts, inline styles and event
// handler attributes would be blocked, so the page must have none.
func TestPageHasNoInlineCode(t *testing.T) {
	b, err := fs.ReadFile(FS, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, m := range regexp.MustCompile(`(?is)<script([^>]*)>(.*?)</script>`).FindAllStringSubmatch(page, -1) {
		if !strings.Contains(m[1], "src=") || strings.TrimSpace(m[2]) != "" {
			t.Errorf("index.html has an inline script: %s", m[0])
		}
	}
	if m := regexp.MustCompile(`(?i)<style|\sstyle=|\son[a-z]+=|javascript:`).FindString(page); m != "" {
		t.Errorf("index.html has inline code: %s", m)
	}
	for _, name := range scripts {
		js, err := fs.ReadFile(FS, name)
		if err != nil {
			t.Fatal(err)
		}
		// Assigning element.style is allowed under the policy; a style
		// attribute set as text is not.
		if m := regexp.MustCompile(`setAttribute\(\s*['"](style|on[a-z]+)['"]|\.cssText\s*=`).FindString(string(js)); m != "" {
			t.Errorf("%s sets inline code the policy blocks: %s", name, m)
		}
	}
}
