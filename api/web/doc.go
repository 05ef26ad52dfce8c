// Package web holds LiveChat's browser chat page: a single HTML page, its
// JavaScript modules and one style sheet, with no framework and no build step.
//
// `livechat serve` serves FS from the same origin as the API: index.html at
// "/" and every other file under "/static/" (so "/static/app.js" is FS's
// "app.js"). The page talks only to the REST API, the room WebSockets and
// the inbox WebSocket described in the wire protocol; it keeps its tokens
// in sessionStorage, so each browser tab may be signed in as a different
// user. It speaks the browser's language where i18n.js has it (Korean and
// English), and English otherwise.
//
// The modules: app.js (views, forms, profile), http.js (session, token
// renewal, REST calls), i18n.js (every string, dates), inbox.js (the
// reader's rooms with unread badges), room.js (one room's socket, messages,
// typing and receipts), members.js (the members panel) and messages.js
// (how a message looks).
//
// The files are embedded at build time and never change while the server
// runs: FS is read-only and safe for concurrent use.
package web
