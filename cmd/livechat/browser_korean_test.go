package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// The page follows the browser's language: a browser that asks for Korean
// (ko-KR) gets every string of the page in Korean, dates in Korean, and
// Korean wrapped between words; one that asks for English gets English.
// The online list greys out while the socket is down.
func TestBrowserKoreanUI(t *testing.T) {
	base, shots, browser := startBrowserTest(t)

	alice := openPage(t, browser, "alice-en", shots, 1280, 800, false)
	minsu := openPage(t, browser, "minsu-ko", shots, 390, 844, true)
	minsu.setLanguage("ko_KR", "ko-KR,ko;q=0.9")
	id := fmt.Sprintf("%d", time.Now().UnixNano())
	const password = "correct-horse-battery-42"

	alice.do(chromedp.Navigate(base + "/"))
	minsu.do(chromedp.Navigate(base + "/"))
	minsu.waitJS(`document.documentElement.lang === "ko" && document.getElementById("register-btn").textContent === "가입하기" &&
		document.querySelector('label[for="reg-password2"]').textContent === "비밀번호 확인"`, "the Korean sign-up form")
	alice.waitJS(`document.documentElement.lang === "en" && document.getElementById("register-btn").textContent === "Sign up"`, "the English sign-up form")
	alice.signUp("alice-"+id+"@example.com", "Alice", password)
	minsu.signUp("minsu-"+id+"@example.com", "민수", password)
	if got := evalJS[string](minsu, `document.getElementById("logout-btn").textContent`); got != "로그아웃" {
		t.Errorf("Korean log-out button %q", got)
	}

	alice.typeInto("#room-name-input", "한국어 방")
	alice.do(chromedp.Click(chromedp.ID("create-room-btn")))
	alice.waitOpen()
	room := evalJS[string](alice, `location.hash.split("/")[2]`)
	minsu.exec(`location.hash = "#/rooms/` + room + `"`)
	minsu.waitOpen()
	alice.waitJS(`[...document.querySelectorAll('[data-testid="notice-join"]')].some(e => e.textContent === "민수 joined")`, "the English join notice")
	long := "가나다라마바사아자차카타파하 가나다라마바사아자차카타파하 가나다라마바사아자차카타파하 가나다라마바사아자차카타파하"
	alice.send(long)
	minsu.waitMessage(long)
	minsu.waitJS(`document.getElementById("status-text").textContent === "연결됨" && document.getElementById("send-btn").textContent === "보내기" &&
		document.getElementById("message-input").placeholder === "메시지" && document.getElementById("online-count").textContent === "2명 접속 중"`, "the Korean room")
	// Korean breaks between words: no line of the long message ends inside one.
	if wb := evalJS[string](minsu, `getComputedStyle(document.querySelector('#messages [data-testid="message-text"]')).wordBreak`); wb != "keep-all" {
		t.Errorf("Korean message text: word-break %q, want keep-all", wb)
	}
	if wb := evalJS[string](alice, `getComputedStyle(document.querySelector('#messages [data-testid="message-text"]')).wordBreak`); wb == "keep-all" {
		t.Errorf("English page: word-break %q", wb)
	}
	// The first message of a day gets a date divider, in each reader's language.
	minsu.waitJS(`(d => !d.hidden && /^\d{4}년 \d{1,2}월 \d{1,2}일 .요일$/.test(d.textContent))(document.querySelector('#messages [data-testid="day-divider"]'))`, "a Korean date divider")
	alice.waitJS(`(d => !d.hidden && /day, [A-Z][a-z]+ \d{1,2}, \d{4}$/.test(d.textContent))(document.querySelector('#messages [data-testid="day-divider"]'))`, "an English date divider")
	minsu.screenshot("korean-01-room")

	// The online list greys out while the socket is down, and says why to
	// screen readers.
	minsu.exec(`window.__livechat.suspend()`)
	minsu.waitJS(`document.getElementById("online-panel").classList.contains("stale") && !document.getElementById("online-stale").hidden &&
		document.getElementById("status").dataset.state === "offline"`, "the greyed online list")
	if op := evalJS[string](minsu, `getComputedStyle(document.getElementById("online")).opacity`); op == "1" {
		t.Errorf("the online list is not greyed out while offline (opacity %s)", op)
	}
	minsu.screenshot("korean-02-offline")
	minsu.exec(`window.__livechat.resume()`)
	minsu.waitOpen()
	minsu.waitJS(`!document.getElementById("online-panel").classList.contains("stale")`, "the online list back")

	minsu.do(chromedp.Click(chromedp.ID("back-btn")))
	alice.waitJS(`[...document.querySelectorAll('[data-testid="notice-leave"]')].some(e => e.textContent === "민수 left")`, "the English leave notice")
	minsu.waitJS(`document.body.dataset.view === "rooms-view" && document.querySelector("#room-list .room-name").textContent === "한국어 방"`, "the Korean list of rooms")
	alice.assertNoPageErrors()
	minsu.assertNoPageErrors()
}

// setLanguage makes the tab's browser ask for lang: navigator.languages,
// Accept-Language and the locale of dates.
func (p *page) setLanguage(locale, accept string) {
	p.t.Helper()
	ua := evalJS[string](p, `navigator.userAgent`)
	p.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua, AcceptLanguage: accept}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, emulation.SetLocaleOverride, emulation.SetLocaleOverrideParams{Locale: locale})
		return err
	}))
}
