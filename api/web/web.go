package web

import (
	"embed"
	"io/fs"
)

//go:embed static
var static embed.FS

// FS holds the page's files rooted at the static directory: index.html,
// style.css, app.js and the modules it imports. It is read-only and safe
// for concurrent use.
var FS fs.FS = mustSub(static, "static")

// mustSub roots fsys at dir. fs.Sub fails only for an invalid path, which
// for a constant path is a programming error caught by the package's tests.
func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic("web: " + err.Error())
	}
	return sub
}
