package main

// The rooms browser test drives the page's chat-app features as two people
// would, each in a browser context of their own: Alice reads English, Bob's
// browser asks for Korean (ko-KR). Private rooms, the inbox and its badges,
// typing, read receipts, edits and deletions, direct messages, members, profile
// pictures and the Korean interface all go through the page.

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestBrowserRooms(t *testing.T) {
	base, shots, browser := startBrowserTest(t)

	alice := openPage(t, browser, "alice", shots, 1280, 800, false)
	bob := openPage(t, browser, "bob", shots, 1280, 800, false)
	bob.setLanguage("ko_KR", "ko-KR,ko;q=0.9")
	id := fmt.Sprintf("%d", time.Now().UnixNano())
	const password = "correct-horse-battery-42"
	aliceNick, bobNick := "Alice", "민수"

	alice.do(chromedp.Navigate(base + "/"))
	bob.do(chromedp.Navigate(base + "/"))
	// Bob's browser asks for Korean: the page speaks it, and Korean wraps
	// between words.
	bob.waitJS(`document.documentElement.lang === "ko" && document.getElementById("register-btn").textContent === "가입하기"`, "the Korean sign-up form")
	alice.waitJS(`document.documentElement.lang === "en" && document.getElementById("register-btn").textContent === "Sign up"`, "the English sign-up form")
	alice.signUp("alice-"+id+"@example.com", aliceNick, password)
	bob.signUp("bob-"+id+"@example.com", bobNick, password)
	if ws := evalJS[string](bob, `getComputedStyle(document.body).wordBreak`); ws != "keep-all" {
		t.Errorf("Korean page: word-break %q, want keep-all", ws)
	}
	bobID := evalJS[int](bob, `JSON.parse(sessionStorage.getItem("livechat.session")).user.id`)

	// Alice creates a private room with Bob. It reaches Bob's inbox live.
	alice.typeInto("#room-name-input", "비밀 방 🔒")
	alice.do(chromedp.Click(chromedp.ID("kind-private")))
	alice.typeInto("#room-members-input", strconv.Itoa(bobID))
	alice.do(chromedp.Click(chromedp.ID("create-room-btn")))
	alice.waitOpen()
	room := evalJS[string](alice, `location.hash.split("/")[2]`)
	row := `document.querySelector('#inbox-list [data-room-id="` + room + `"]')`
	badge := row + `.querySelector('[data-testid="unread-badge"]')`
	bob.waitJS(row+` !== null && `+badge+`.hidden`, "the private room in Bob's inbox, all read")

	// Alice writes twice: Bob's badge counts them.
	alice.send("첫 메시지")
	alice.send("두 번째 메시지")
	alice.waitMessage("두 번째 메시지")
	bob.waitJS(`!`+badge+`.hidden && `+badge+`.textContent === "2"`, "Bob's unread badge at 2")
	if preview := evalJS[string](bob, row+`.querySelector('[data-testid="inbox-preview"]').textContent`); preview != aliceNick+": 두 번째 메시지" {
		t.Errorf("Bob's inbox preview %q", preview)
	}
	bob.screenshot("rooms-01-bob-inbox-badge")

	// Bob opens it: what he sees is read, his badge clears, and Alice sees
	// his receipt under her messages.
	bob.do(chromedp.Click(chromedp.CSS(`#inbox-list a[data-room-id="` + room + `"]`)))
	bob.waitOpen()
	bob.waitMessage("두 번째 메시지")
	bob.waitJS(`window.__livechat.inbox.rows.get(`+room+`).unread_count === 0 && `+badge+`.hidden`, "Bob's badge cleared")
	alice.waitJS(`document.querySelector('#messages [data-seq="2"] [data-testid="receipt"]').textContent === "Read by 1"`, "Bob's read receipt on Alice's message")

	// Typing, both ways: each sees the other's typing line in their own
	// language, and a message ends it.
	bob.typeInto("#message-input", "입력 중")
	alice.waitJS(`document.getElementById("typing").textContent === `+jsString(bobNick+" is typing…"), "Bob typing, in English")
	bob.pressEnter()
	alice.waitMessage("입력 중")
	alice.waitJS(`document.getElementById("typing").textContent === ""`, "Bob's typing line gone with his message")
	alice.typeInto("#message-input", "…")
	bob.waitJS(`document.getElementById("typing").textContent === `+jsString(aliceNick+"님이 입력 중…"), "Alice typing, in Korean")
	alice.exec(`document.getElementById("message-input").value = ""`)

	// Alice edits her first message and deletes her second: Bob sees both.
	alice.do(chromedp.Click(chromedp.CSS(`#messages [data-seq="1"] [data-action="edit-message"]`)))
	alice.typeInto(`#messages [data-seq="1"] [data-testid="edit-input"]`, "고친 메시지 ✏️")
	alice.do(chromedp.Click(chromedp.CSS(`#messages [data-seq="1"] [data-testid="edit-save"]`)))
	bob.waitJS(`(li => li.querySelector('[data-testid="message-text"]').textContent === "고친 메시지 ✏️" &&
		!li.querySelector('[data-testid="edited"]').hidden && li.querySelector('[data-testid="edited"]').textContent === "수정됨")(document.querySelector('#messages [data-seq="1"]'))`, "the edit on Bob's screen")
	// Alice's own page closes the edit form when the edit comes back; a
	// click aimed before that lands where the form's collapse moved things.
	alice.waitJS(`(li => li.querySelector('[data-testid="edit-input"]') === null &&
		li.querySelector('[data-testid="message-text"]').textContent === "고친 메시지 ✏️")(document.querySelector('#messages [data-seq="1"]'))`, "the edit on Alice's screen")
	alice.do(chromedp.Click(chromedp.CSS(`#messages [data-seq="2"] [data-action="delete-message"]`)))
	alice.waitJS(`document.getElementById("confirm-dialog").open`, "the delete confirmation")
	alice.do(chromedp.Click(chromedp.ID("confirm-ok")))
	bob.waitJS(`(li => li.classList.contains("deleted") && li.querySelector('[data-testid="message-text"]').textContent === "삭제된 메시지입니다.")(document.querySelector('#messages [data-seq="2"]'))`, "the tombstone on Bob's screen")
	alice.waitJS(`document.querySelector('#messages [data-seq="2"] [data-action]') === null`, "no buttons on a tombstone")
	bob.assertSeqs(1, 3)
	// History shows the same after a reload: the edit, the tombstone, and a
	// date divider above the first message, in Korean.
	bob.do(chromedp.Reload())
	bob.waitOpen()
	bob.waitJS(`document.querySelector('#messages [data-seq="1"] [data-testid="message-text"]').textContent === "고친 메시지 ✏️" &&
		document.querySelector('#messages [data-seq="2"]').classList.contains("deleted")`, "the edit and the tombstone after a reload")
	bob.waitJS(`(d => !d.hidden && d.textContent.includes("년"))(document.querySelector('#messages [data-seq="1"] [data-testid="day-divider"]'))`, "a Korean date divider")
	bob.screenshot("rooms-02-bob-korean-room")
	alice.screenshot("rooms-03-alice-room")

	// The members panel: Alice is the owner, Bob a member; from it Alice
	// opens a direct room with Bob.
	alice.do(chromedp.Click(chromedp.ID("members-btn")))
	alice.waitJS(`document.querySelectorAll('#member-list [data-testid="member"]').length === 2`, "two members")
	// Clicked in the page, in one step: the list re-renders as presence
	// changes, and a node found first and clicked after may be gone.
	alice.exec(`document.querySelector('#member-list [data-user-id="` + strconv.Itoa(bobID) + `"] [data-testid="member-dm"]').click()`)
	alice.waitJS(`location.hash !== "#/rooms/`+room+`"`, "the direct room")
	alice.waitOpen()
	dm := evalJS[string](alice, `location.hash.split("/")[2]`)
	alice.waitJS(`document.getElementById("room-title").textContent === `+jsString(bobNick), "the direct room named after Bob")
	alice.send("1:1 안녕 👋")
	dmRow := `document.querySelector('#inbox-list [data-room-id="` + dm + `"]')`
	bob.waitJS(dmRow+` !== null && `+dmRow+`.querySelector('[data-testid="unread-badge"]').textContent === "1"`, "the direct room in Bob's inbox with 1 unread")
	bob.do(chromedp.Click(chromedp.ID("back-btn")))
	bob.waitJS(`document.body.dataset.view === "rooms-view" && `+dmRow+`.getBoundingClientRect().height > 0`, "Bob's inbox on screen")
	bob.screenshot("rooms-04-bob-inbox-dm")
	bob.do(chromedp.Click(chromedp.CSS(`#inbox-list a[data-room-id="` + dm + `"]`)))
	bob.waitOpen()
	bob.waitJS(`document.getElementById("room-title").textContent === `+jsString(aliceNick), "the direct room named after Alice")
	bob.waitMessage("1:1 안녕 👋")
	alice.waitJS(`document.querySelector('#messages [data-seq="1"] [data-testid="receipt"]').textContent === "Read"`, "Bob's receipt in the direct room")
	bob.waitJS(dmRow+`.querySelector('[data-testid="unread-badge"]').hidden`, "Bob's direct-room badge cleared")

	// The online list greys out while Bob's socket is down.
	bob.exec(`window.__livechat.suspend()`)
	bob.waitJS(`document.getElementById("online-panel").classList.contains("stale")`, "the greyed online list")
	bob.exec(`window.__livechat.resume()`)
	bob.waitOpen()
	bob.waitJS(`!document.getElementById("online-panel").classList.contains("stale")`, "the online list back")

	// Bob uploads a picture in his profile, from the list of rooms; his
	// next message carries it, and Alice's page shows it.
	pic := writeTestPNG(t)
	bob.do(chromedp.Click(chromedp.ID("back-btn")))
	bob.waitJS(`document.body.dataset.view === "rooms-view"`, "Bob's list of rooms")
	bob.do(chromedp.Click(chromedp.ID("profile-btn")))
	bob.waitJS(`document.getElementById("profile-dialog").open`, "the profile dialog")
	bob.do(chromedp.SetUploadFiles(chromedp.ID("profile-picture"), []string{pic}))
	bob.do(chromedp.Click(chromedp.ID("profile-save")))
	bob.waitJS(`document.getElementById("profile-saved").textContent === "저장했습니다." &&
		JSON.parse(sessionStorage.getItem("livechat.session")).user.profile_picture_url.startsWith("/media/profile_pics/`+strconv.Itoa(bobID)+`/")`, "the saved picture")
	bob.screenshot("rooms-05-bob-profile")
	bob.do(chromedp.Click(chromedp.ID("profile-close")))
	bob.do(chromedp.Click(chromedp.CSS(`#inbox-list a[data-room-id="` + dm + `"]`)))
	bob.waitOpen()
	bob.send("사진 바꿨어요 📷")
	alice.waitMessage("사진 바꿨어요 📷")
	alice.waitJS(`[...document.querySelectorAll('#messages .msg')].some(li => li.querySelector('[data-testid="message-text"]').textContent === "사진 바꿨어요 📷" &&
		(img => img && img.complete && img.naturalWidth > 0 && new URL(img.src).pathname.startsWith("/media/profile_pics/"))(li.querySelector(".avatar img")))`, "Bob's picture on Alice's screen")
	alice.screenshot("rooms-06-alice-dm-picture")

	// Alice removes Bob from the private room while he is in it: his page
	// takes him back to the list, says why in Korean, and the room leaves
	// his inbox.
	bob.exec(`location.hash = "#/rooms/` + room + `"`)
	bob.waitOpen()
	alice.exec(`location.hash = "#/rooms/` + room + `"`)
	alice.waitOpen()
	if !evalJS[bool](alice, `!document.getElementById("members-panel").hidden`) {
		alice.do(chromedp.Click(chromedp.ID("members-btn")))
	}
	alice.waitJS(`document.querySelector('#member-list [data-user-id="`+strconv.Itoa(bobID)+`"] [data-testid="member-remove"]') !== null`, "the remove button")
	alice.do(chromedp.Click(chromedp.CSS(`#member-list [data-user-id="` + strconv.Itoa(bobID) + `"] [data-testid="member-remove"]`)))
	alice.waitJS(`document.querySelectorAll('#member-list [data-testid="member"]').length === 1`, "one member left")
	bob.waitJS(`document.body.dataset.view === "rooms-view" && document.getElementById("rooms-error").textContent === "더 이상 그 방의 멤버가 아닙니다."`, "Bob sent back to the list")
	bob.waitJS(row+` === null`, "the room gone from Bob's inbox")
	bob.screenshot("rooms-07-bob-removed")

	alice.assertNoPageErrors()
	bob.assertNoPageErrors()
}

// writeTestPNG writes a small opaque PNG to upload as a profile picture.
func writeTestPNG(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), 200, 255})
		}
	}
	file := filepath.Join(t.TempDir(), "me.png")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	return file
}
