package web

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

func TestFSHoldsThePage(t *testing.T) {
	for _, name := range []string{"index.html", "app.js", "style.css"} {
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

// Data from the server reaches the page only through textContent: a script
// that assigns HTML could run a message as markup.
func TestScriptNeverAssignsHTML(t *testing.T) {
	b, err := fs.ReadFile(FS, "app.js")
	if err != nil {
		t.Fatal(err)
	}
	bad := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function`)
	if m := bad.FindString(string(b)); m != "" {
		t.Errorf("app.js uses %s", m)
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
	js, err := fs.ReadFile(FS, "app.js")
	if err != nil {
		t.Fatal(err)
	}
	// Assigning element.style is allowed under the policy; a style
	// attribute set as text is not.
	if m := regexp.MustCompile(`setAttribute\(\s*['"](style|on[a-z]+)['"]|\.cssText\s*=`).FindString(string(js)); m != "" {
		t.Errorf("app.js sets inline code the policy blocks: %s", m)
	}
}
