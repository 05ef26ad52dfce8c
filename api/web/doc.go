// Package web holds LiveChat's browser chat page: a single HTML page with one
// script and one style sheet, no framework and no build step.
//
// `livechat serve` serves FS from the same origin as the API: index.html at
// "/" and every other file under "/static/" (so "/static/app.js" is FS's
// "app.js"). The page talks only to the REST API and the room WebSockets
// described in the wire protocol; it keeps its tokens in sessionStorage, so
// each browser tab may be signed in as a different user.
//
// The files are embedded at build time and never change while the server
// runs: FS is read-only and safe for concurrent use.
package web
