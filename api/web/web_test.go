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
