package main

// The browser test drives the page that `livechat serve` serves at / in
// Debian's headless Chromium, as two people would: two users in separate
// browser contexts (separate cookies and storage) sign up, chat in Korean and
// emoji, reload, page back through history, and lose their connection while
// the other keeps talking. Screenshots go to $LIVECHAT_ARTIFACTS.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/fasthttp/websocket"
)

// chromiumPath is where Debian's chromium package puts the browser;
// .ci/install-browser.sh installs it.
const chromiumPath = "/usr/bin/chromium"

// stepTimeout bounds one browser step. Generous: CI shares two cores with
// the server under test.
const stepTimeout = 15 * time.Second

func TestBrowserChat(t *testing.T) {
	base, shots, browser := startBrowserTest(t)

	// Alice on a laptop, Bob on a phone: both layouts get exercised.
	alice := openPage(t, browser, "alice", shots, 1280, 800, false)
	bob := openPage(t, browser, "bob", shots, 390, 844, true)
	id := fmt.Sprintf("%d", time.Now().UnixNano())
	const password = "correct-horse-battery-42"
	aliceNick, bobNick := "앨리스", "밥🐻"
	aliceEmail, bobEmail := "alice-"+id+"@example.com", "bob-"+id+"@example.com"

	// Errors: a bad login shows the server's non_field_errors, a weak
	// password shows its message next to the field.
	bob.do(chromedp.Navigate(base + "/"))
	bob.waitJS(`document.body.dataset.view === "auth-view"`, "the login form")
	bob.typeInto("#email", "nobody-"+id+"@example.com")
	bob.typeInto("#password", "wrong-password-1")
	bob.do(chromedp.Click(chromedp.ID("login-btn")))
	bob.waitJS(`document.getElementById("login-error").textContent.includes("Unable to log in")`, "the bad-login error")
	bob.typeInto("#reg-email", bobEmail)
	bob.typeInto("#reg-nickname", bobNick)
	bob.typeInto("#reg-password1", "12345678")
	bob.typeInto("#reg-password2", "12345678")
	bob.do(chromedp.Click(chromedp.ID("register-btn")))
	bob.waitJS(`document.querySelector('#register-form [data-error-for="password1"]').textContent !== ""`, "the weak-password error")
	bob.screenshot("01-form-errors")

	alice.do(chromedp.Navigate(base + "/"))
	alice.signUp(aliceEmail, aliceNick, password)
	bob.signUp(bobEmail, bobNick, password)

	// Alice creates a room and is taken into it.
	roomName := "테스트 방 🎉"
	alice.typeInto("#room-name-input", roomName)
	alice.do(chromedp.Click(chromedp.ID("create-room-btn")))
	alice.waitOpen()
	room := evalJS[string](alice, `location.hash.split("/")[2]`)
	if got := evalJS[string](alice, `document.getElementById("room-title").textContent`); got != roomName {
		t.Fatalf("room title = %q, want %q", got, roomName)
	}

	// Bob's list predates the room: a reload shows it (and keeps his login).
	bob.do(chromedp.Reload())
	bob.do(chromedp.Click(chromedp.CSS(`a[data-room-id="` + room + `"]`)))
	bob.waitOpen()
	alice.waitJS(`[...document.querySelectorAll('[data-testid="notice-join"]')].some(e => e.textContent === `+jsString(bobNick+" joined")+`)`, "Bob's join notice")
	for _, p := range []*page{alice, bob} {
		p.waitJS(`(() => { const o = [...document.querySelectorAll("#online li")].map(e => e.textContent);
			return o.includes(`+jsString(aliceNick)+`) && o.includes(`+jsString(bobNick)+`); })()`, "both users online")
	}

	// Both ways, byte-exact: Hangul, an emoji with a skin tone, a ZWJ family,
	// markup that must stay text, and a line break.
	hello := "안녕하세요! 👋🏽 <b>굵게</b> & \"따옴표\"\n둘째 줄"
	alice.send(hello)
	bob.waitMessage(hello)
	reply := "반가워요 🎉 👨‍👩‍👧 — ok"
	bob.typeInto("#message-input", reply)
	bob.pressEnter() // Enter sends
	alice.waitMessage(reply)
	bob.waitJS(`document.getElementById("message-input").value === ""`, "the input cleared after Enter")
	if n := evalJS[int](bob, `document.querySelectorAll("#messages b").length`); n != 0 {
		t.Fatalf("a message's markup became %d <b> elements: text is not escaped", n)
	}
	alice.screenshot("02-alice-chat")
	bob.screenshot("03-bob-chat-phone")

	// History: 60 more messages, then Bob reloads, sees the latest 50, and
	// scrolling to the top loads the rest.
	token := evalJS[string](alice, `JSON.parse(sessionStorage.getItem("livechat.session")).access`)
	for i := 1; i <= 60; i++ {
		postMessage(t, base, token, room, fmt.Sprintf("기록 %02d 📜", i))
	}
	alice.waitMaxSeq(62)
	bob.do(chromedp.Reload())
	bob.waitOpen()
	bob.waitMaxSeq(62)
	bob.screenshot("04-bob-after-reload")
	bob.exec(`document.getElementById("scroller").scrollTop = 0`)
	bob.waitJS(`window.__livechat.seqs()[0] === 1`, "older messages after scrolling to the top")
	bob.assertSeqs(1, 62)
	bob.waitMessage(hello)
	bob.screenshot("05-bob-history-top")
	// (A reload that reconnects within the presence grace shows Alice
	// neither a leave nor a join; one that takes longer shows both.)

	// A dropped socket with a message in flight: it reconnects by itself,
	// replays what it missed, and the message shows up exactly once.
	inFlight := "끊기기 직전 ✈️"
	bob.exec(`window.__livechat.room.send(` + jsString(inFlight) + `); window.__livechat.ws.close()`)
	for i := 1; i <= 3; i++ {
		alice.send(fmt.Sprintf("재연결 중 %d 🔌", i))
	}
	alice.waitMessage(inFlight)
	bob.waitOpen()
	bob.waitJS(`document.querySelectorAll("#pending li").length === 0`, "the in-flight message confirmed")
	alice.waitMaxSeq(66)
	bob.waitMaxSeq(66)
	bob.assertSeqs(1, 66)
	alice.assertCount(inFlight, 1)
	bob.assertCount(inFlight, 1)

	// Offline for a while: Alice keeps talking, Bob writes one message that
	// waits; after the reconnect nothing is missing, nothing is twice.
	bob.exec(`window.__livechat.suspend()`)
	bob.waitJS(`document.getElementById("status").dataset.state === "offline"`, "the offline banner")
	for i := 1; i <= 5; i++ {
		alice.send(fmt.Sprintf("부재 중 %d 💬", i))
	}
	offline := "오프라인에서 보냄 📴"
	bob.send(offline)
	bob.waitJS(`document.querySelectorAll("#pending li").length === 1`, "the unsent message shown as pending")
	bob.screenshot("06-bob-offline")
	alice.waitMaxSeq(71)
	bob.exec(`window.__livechat.resume()`)
	bob.waitOpen()
	alice.waitMessage(offline)
	bob.waitMaxSeq(72)
	bob.waitJS(`document.querySelectorAll("#pending li").length === 0`, "the pending message confirmed")
	alice.assertSeqs(1, 72)
	bob.assertSeqs(1, 72)
	alice.assertCount(offline, 1)
	bob.assertCount(offline, 1)
	bob.screenshot("07-bob-recovered")

	// Alice leaves the room; Bob sees it.
	alice.do(chromedp.Click(chromedp.ID("back-btn")))
	alice.waitJS(`document.body.dataset.view === "rooms-view"`, "the rooms list")
	bob.waitJS(`[...document.querySelectorAll('[data-testid="notice-leave"]')].some(e => e.textContent === `+jsString(aliceNick+" left")+`)`, "Alice's leave notice")
	bob.waitJS(`![...document.querySelectorAll("#online li")].some(e => e.textContent === `+jsString(aliceNick)+`)`, "Alice gone from the online list")
	alice.screenshot("08-alice-rooms")
	bob.screenshot("09-bob-alone")

	// A frame the server rejects shows its chat.error and keeps the socket.
	bob.exec(`window.__livechat.ws.send("this is not JSON")`)
	bob.waitJS(`!document.getElementById("chat-error").hidden && document.getElementById("chat-error").textContent !== ""`, "the chat.error message")
	bob.waitOpen()
	bob.screenshot("10-bob-chat-error")

	// An access token the server no longer accepts is refreshed on its 401
	// (token_not_valid), and the room comes back after a reload.
	bob.exec(`(s => { s.access = "not-a-valid-token"; sessionStorage.setItem("livechat.session", JSON.stringify(s)); })(JSON.parse(sessionStorage.getItem("livechat.session")))`)
	bob.do(chromedp.Reload())
	bob.waitOpen()
	bob.waitMaxSeq(72)
	if tok := evalJS[string](bob, `JSON.parse(sessionStorage.getItem("livechat.session")).access`); tok == "not-a-valid-token" {
		t.Fatal("bob: the access token was not refreshed")
	}

	// A room that does not exist sends the user back to the list with a reason.
	bob.exec(`location.hash = "#/rooms/999999999"`)
	bob.waitJS(`document.body.dataset.view === "rooms-view" && document.getElementById("rooms-error").textContent.includes("does not exist")`, "the room-gone error")
	bob.screenshot("11-bob-room-gone")

	// Logging out returns to the login form and forgets the tokens.
	bob.do(chromedp.Click(chromedp.ID("logout-btn")))
	bob.waitJS(`document.body.dataset.view === "auth-view" && sessionStorage.getItem("livechat.session") === null`, "the login form after logout")

	alice.assertNoPageErrors()
	bob.assertNoPageErrors()
}

// The page renews its access token before it expires and hands it to its
// open socket: the socket it opened outlives its first token, while a
// socket opened later with a token of the same lifetime, never refreshed,
// is closed with 4001.
// startBrowserTest starts what a browser test needs: a server, a folder
// for screenshots and a browser. It skips with -short; without Chromium it
// fails in CI and skips elsewhere (requireChromium).
func startBrowserTest(t *testing.T) (base, shots string, browser context.Context) {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	requireChromium(t)
	return startTestServer(t), artifactsDir(t), startBrowser(t)
}

func TestBrowserRenewsSocketToken(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	requireChromium(t)
	base := startTestServerWith(t, func(c *serveConfig) { c.accessTTL = 2 * time.Second })
	browser := startBrowser(t)
	p := openPage(t, browser, "carol", artifactsDir(t), 1280, 800, false)
	id := fmt.Sprintf("%d", time.Now().UnixNano())
	email, password := "carol-"+id+"@example.com", "correct-horse-battery-42"
	p.do(chromedp.Navigate(base + "/"))
	p.signUp(email, "캐롤", password)
	p.typeInto("#room-name-input", "토큰 방")
	p.do(chromedp.Click(chromedp.ID("create-room-btn")))
	p.waitOpen()
	p.exec(`window.__firstSocket = window.__livechat.ws`)

	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	other, err := newAPIClient(base)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.login(ctx, email, password); err != nil {
		t.Fatal(err)
	}
	room, err := other.resolveRoom(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	control, _, err := websocket.DefaultDialer.DialContext(ctx, socketURL(other.base, room, other.access, -1, ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer control.Close()
	_ = control.SetReadDeadline(time.Now().Add(stepTimeout))
	for {
		_, _, err := control.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 4001 {
			t.Fatalf("the unrefreshed socket ended with %v, want close 4001", err)
		}
		break
	}

	// The page's first token expired no later than control's.
	text := "아직 연결됨 🔑"
	p.send(text)
	p.waitMessage(text)
	if !evalJS[bool](p, `window.__livechat.ws === window.__firstSocket && window.__firstSocket.readyState === WebSocket.OPEN`) {
		t.Fatal("the page's socket did not outlive its first access token")
	}
	p.assertNoPageErrors()
}

// requireChromium fails in CI, where .ci/install-browser.sh should have run,
// and skips elsewhere; make test lists the skip and its reason at the end.
func requireChromium(t *testing.T) {
	t.Helper()
	msg, fail := chromiumRequirement(chromiumPath, os.Getenv("CI"))
	switch {
	case msg == "":
	case fail:
		t.Fatal(msg)
	default:
		t.Skip(msg)
	}
}

// chromiumRequirement says why the browser test cannot run (empty when it
// can) and whether that is a failure: in CI (CI set to anything but false
// or 0, as CI services set CI=true) it is.
func chromiumRequirement(path, ci string) (msg string, fail bool) {
	if _, err := os.Stat(path); err == nil {
		return "", false
	}
	msg = path + " is missing: run .ci/install-browser.sh (apt-get install chromium)"
	inCI := ci != "" && ci != "0" && !strings.EqualFold(ci, "false")
	if inCI {
		return msg + "; CI=" + ci + ", so the test fails instead of skipping", true
	}
	return msg, false
}

func TestChromiumRequirement(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "chromium")
	for _, tc := range []struct {
		path, ci string
		fail     bool
	}{
		{missing, "", false}, {missing, "false", false}, {missing, "0", false},
		{missing, "true", true}, {missing, "1", true}, {missing, "yes", true},
	} {
		msg, fail := chromiumRequirement(tc.path, tc.ci)
		if fail != tc.fail || !strings.Contains(msg, "is missing") {
			t.Errorf("CI=%q: %q, fail %v; want fail %v", tc.ci, msg, fail, tc.fail)
		}
	}
	if msg, fail := chromiumRequirement(os.Args[0], "true"); msg != "" || fail {
		t.Errorf("a present browser: %q, %v", msg, fail)
	}
}

func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("LIVECHAT_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifacts dir: %v", err)
	}
	return dir
}

// startBrowser starts one headless Chromium for the test, with a fresh
// profile, and returns a context that owns it.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	profile := t.TempDir() // removed after the browser exits: cleanups run last-in first-out
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	// The first action starts the browser; it must not carry a timeout,
	// which would end the whole browser.
	if err := chromedp.Do(browser, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	return browser
}

// page is one user's tab, in a browser context of its own.
type page struct {
	t     *testing.T
	name  string
	ctx   context.Context
	shots string

	mu     sync.Mutex
	errors []string // uncaught exceptions and console errors
}

func openPage(t *testing.T, browser context.Context, name, shots string, width, height int64, mobile bool) *page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	p := &page{t: t, name: name, ctx: ctx, shots: shots}
	if err := chromedp.Listen(ctx, p.onEvent); err != nil {
		t.Fatalf("%s: open tab: %v", name, err)
	}
	var emulate []chromedp.EmulateViewportOption
	if mobile {
		emulate = append(emulate, chromedp.EmulateMobile, chromedp.EmulateScale(2))
	}
	p.do(chromedp.EmulateViewport(width, height, emulate...))
	return p
}

// onEvent runs on chromedp's reader goroutine: it only records.
func (p *page) onEvent(ev any) {
	var msg string
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		msg = "exception: " + e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			msg += " " + e.ExceptionDetails.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if e.Type != runtime.ConsoleAPICalledTypeError {
			return
		}
		var parts []string
		for _, a := range e.Args {
			parts = append(parts, string(a.Value)+a.Description)
		}
		msg = "console.error: " + strings.Join(parts, " ")
	case *cdplog.EventEntryAdded:
		// The server's Content-Security-Policy must allow everything the
		// page does: a blocked script, style or connection is an error.
		if !strings.Contains(e.Entry.Text, "Content Security Policy") {
			return
		}
		msg = "blocked by the CSP: " + e.Entry.Text
	default:
		return
	}
	p.mu.Lock()
	p.errors = append(p.errors, msg)
	p.mu.Unlock()
}

func (p *page) assertNoPageErrors() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.errors {
		p.t.Errorf("%s: page error: %s", p.name, e)
	}
}

// exec runs a JavaScript statement for its effect.
func (p *page) exec(js string) {
	p.t.Helper()
	if _, err := runOn(p, chromedp.Evaluate[any](js)); err != nil {
		p.fatalf("run %s: %v", js, err)
	}
}

func (p *page) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.fatalf("%v", err)
	}
}

// fatalf saves a screenshot of the page as it was, then fails the test.
func (p *page) fatalf(format string, args ...any) {
	p.t.Helper()
	p.screenshot("FAILED-" + p.name)
	status, _ := runOn(p, chromedp.Evaluate[string](`document.getElementById("status").textContent.trim()`))
	p.t.Fatalf("%s: %s (status: %q)", p.name, fmt.Sprintf(format, args...), status)
}

func runOn[T any](p *page, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	return chromedp.Run(ctx, a)
}

func evalJS[T any](p *page, expr string) T {
	p.t.Helper()
	v, err := runOn(p, chromedp.Evaluate[T](expr))
	if err != nil {
		p.fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitJS polls a JavaScript condition until it holds.
func (p *page) waitJS(cond, what string) {
	p.t.Helper()
	_, err := runOn(p, chromedp.Poll[bool](cond,
		chromedp.WithPollingInterval(50*time.Millisecond),
		chromedp.WithPollingTimeout(stepTimeout-time.Second)))
	if err != nil {
		p.fatalf("waiting for %s: %v", what, err)
	}
}

// typeInto replaces a field's text the way an input method commits it,
// which carries Hangul and emoji as they are.
func (p *page) typeInto(sel, text string) {
	p.t.Helper()
	p.exec(`(el => { el.value = ""; el.focus(); })(document.querySelector(` + jsString(sel) + `))`)
	p.do(
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: text})
			return err
		}),
	)
}

// pressEnter presses Enter in the focused element as a keyboard does: one
// keydown that carries the text, so a handler's preventDefault suppresses
// the newline (chromedp's SendKeys sends a separate char event that would not).
func (p *page) pressEnter() {
	p.t.Helper()
	p.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		key := input.DispatchKeyEventParams{Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13}
		down, up := key, key
		down.Type, down.Text = input.DispatchKeyEventTypeKeyDown, "\r"
		up.Type = input.DispatchKeyEventTypeKeyUp
		if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, down); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, up)
		return err
	}))
}

func (p *page) signUp(email, nickname, password string) {
	p.t.Helper()
	p.waitJS(`document.body.dataset.view === "auth-view"`, "the sign-up form")
	p.typeInto("#reg-email", email)
	p.typeInto("#reg-nickname", nickname)
	p.typeInto("#reg-password1", password)
	p.typeInto("#reg-password2", password)
	p.do(chromedp.Click(chromedp.ID("register-btn")))
	p.waitJS(`document.body.dataset.view === "rooms-view" && document.getElementById("whoami").textContent === `+jsString(nickname),
		"the rooms list after sign-up")
}

func (p *page) waitOpen() {
	p.t.Helper()
	p.waitJS(`document.body.dataset.view === "chat-view" && document.getElementById("status").dataset.state === "open"`, "a connected room")
}

func (p *page) send(text string) {
	p.t.Helper()
	p.typeInto("#message-input", text)
	p.do(chromedp.Click(chromedp.ID("send-btn")))
}

// waitMessage waits until a delivered message (not a pending one) has
// exactly this text.
func (p *page) waitMessage(text string) {
	p.t.Helper()
	p.waitJS(`[...document.querySelectorAll('#messages [data-testid="message-text"]')].some(e => e.textContent === `+jsString(text)+`)`,
		fmt.Sprintf("message %q", text))
	texts := evalJS[[]string](p, `[...document.querySelectorAll('#messages [data-testid="message-text"]')].map(e => e.textContent)`)
	for _, got := range texts {
		if got == text {
			return
		}
	}
	p.fatalf("message %q not found byte-exact in %q", text, texts)
}

func (p *page) waitMaxSeq(seq int) {
	p.t.Helper()
	p.waitJS(fmt.Sprintf(`window.__livechat.seqs().at(-1) >= %d`, seq), fmt.Sprintf("message seq %d", seq))
}

// assertSeqs checks the messages on screen, in screen order: exactly the
// seqs first..last, each once.
func (p *page) assertSeqs(first, last int) {
	p.t.Helper()
	seqs := evalJS[[]int](p, `[...document.querySelectorAll("#messages [data-seq]")].map(e => Number(e.dataset.seq))`)
	ok := len(seqs) == last-first+1
	for i := 0; ok && i < len(seqs); i++ {
		ok = seqs[i] == first+i
	}
	if !ok {
		p.fatalf("seqs on screen = %v, want %d..%d with no gap or duplicate", seqs, first, last)
	}
}

func (p *page) assertCount(text string, want int) {
	p.t.Helper()
	n := evalJS[int](p, `[...document.querySelectorAll('#messages [data-testid="message-text"]')].filter(e => e.textContent === `+jsString(text)+`).length`)
	if n != want {
		p.fatalf("message %q shown %d times, want %d", text, n, want)
	}
}

func (p *page) screenshot(name string) {
	p.t.Helper()
	png, err := runOn(p, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Logf("%s: screenshot %s: %v", p.name, name, err)
		return
	}
	file := filepath.Join(p.shots, name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return
	}
	p.t.Logf("screenshot: %s", file)
}

// postMessage sends a message over REST, as another client would.
func postMessage(t *testing.T, base, token, room, text string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"message": text, "room": json.Number(room)})
	req, err := http.NewRequest(http.MethodPost, base+"/chat/v1/message/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /chat/v1/message/: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("POST /chat/v1/message/: status %d", res.StatusCode)
	}
}

// jsString quotes s as a JavaScript string literal (JSON is a subset).
func jsString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}
