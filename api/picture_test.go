package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	xwebp "golang.org/x/image/webp"

	"livechat/actors"
	"livechat/persistence"
)

// upload sends a multipart PATCH with data as the profile_picture file.
func upload(t testing.TB, addr string, token string, data []byte, filename string, fields ...string) rawResponse {
	t.Helper()
	body, ct := multipartBody(t, fields, filePart{field: "profile_picture", filename: filename, contentType: "image/jpeg", data: data})
	return rawDo(t, addr, "PATCH", "/user/v1/profile/", token, ct, body)
}

// pictureURLOf is the profile_picture_url of a 200 user object.
func pictureURLOf(t testing.TB, r rawResponse) string {
	t.Helper()
	var u struct {
		URL *string `json:"profile_picture_url"`
	}
	if err := json.Unmarshal(r.Body, &u); err != nil || r.Status != http.StatusOK || u.URL == nil {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	return *u.URL
}

// expectPicture fetches url and checks the picture's headers, format and
// size; it returns the file.
func expectPicture(t testing.TB, addr, url, contentType string, w, h int) []byte {
	t.Helper()
	r := rawDo(t, addr, "GET", url, "", "", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, r.Status, r.Body)
	}
	for k, v := range map[string]string{
		"Content-Type": contentType, "Content-Length": fmt.Sprint(len(r.Body)),
		"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff",
		"Content-Security-Policy": "default-src 'none'",
	} {
		if got := r.Header.Get(k); got != v {
			t.Errorf("GET %s: %s %q, want %q", url, k, got, v)
		}
	}
	img, format, err := image.Decode(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("GET %s: the file does not decode: %v", url, err)
	}
	if want := strings.TrimPrefix(contentType, "image/"); format != want {
		t.Errorf("GET %s: a %s file, want %s", url, format, want)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Errorf("GET %s: %dx%d, want %dx%d", url, b.Dx(), b.Dy(), w, h)
	}
	return r.Body
}

// A 1024×768 JPEG carrying EXIF GPS is stored as a 512×384 JPEG without
// any metadata at a new random URL, served with the contract's headers
// (HEAD too, without authentication); the next chat.message carries it.
func TestPictureUploadJPEGDropsMetadata(t *testing.T) {
	t.Parallel()
	ts := newWSTestServer(t, nil)
	a := ts.newUser(t, "사진")
	room := ts.newRoom(t, a)
	src := withEXIFGPS(t, testJPEG(t, 1024, 768))
	if !bytes.Contains(src, []byte("Exif")) || !bytes.Contains(src, []byte("GPS")) {
		t.Fatal("the test picture lacks its EXIF GPS")
	}
	if _, err := jpeg.Decode(bytes.NewReader(src)); err != nil {
		t.Fatalf("the test picture does not decode: %v", err)
	}
	url := pictureURLOf(t, upload(t, ts.addr, a.token, src, "holiday.png", "nickname", "사진가"))
	if !regexp.MustCompile(fmt.Sprintf(`^/media/profile_pics/%d/[0-9a-f]{32}\.jpg$`, a.id)).MatchString(url) {
		t.Fatalf("picture URL %q", url)
	}
	file := expectPicture(t, ts.addr, url, "image/jpeg", 512, 384)
	for _, marker := range []string{"Exif", "GPS"} {
		if bytes.Contains(file, []byte(marker)) {
			t.Errorf("the stored picture still holds %q", marker)
		}
	}
	head := rawDo(t, ts.addr, "HEAD", url, "", "", nil)
	if head.Status != http.StatusOK || len(head.Body) != 0 || head.Header.Get("Content-Length") != fmt.Sprint(len(file)) ||
		head.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("HEAD %s: %d, %d body bytes, headers %v", url, head.Status, len(head.Body), head.Header)
	}
	p := ts.profileOf(t, a)
	if p["profile_picture_url"] != url || p["nickname"] != "사진가" {
		t.Errorf("profile after upload: %v", p)
	}
	c := ts.dial(t, a, room, "")
	c.send(t, "with picture")
	frames := c.until(t, "with picture")
	if f := frames[len(frames)-1]; f.ProfilePictureURL == nil || *f.ProfilePictureURL != url {
		t.Errorf("chat.message after the upload has profile_picture_url %v, want %s", f.ProfilePictureURL, url)
	}
	// Another upload of the same file gets a new name.
	if again := pictureURLOf(t, upload(t, ts.addr, a.token, src, "x.jpg")); again == url {
		t.Errorf("a second upload kept the name %s", url)
	}
}

// A photo whose EXIF says it is turned is stored upright: the orientation
// is applied to the pixels, since the metadata is dropped.
func TestPictureAppliesEXIFOrientation(t *testing.T) {
	t.Parallel()
	ts := newWSTestServer(t, nil)
	a := ts.newUser(t, "회전")
	red := func(img image.Image, x, y int) bool {
		r, _, b, _ := img.At(x, y).RGBA()
		return r>>8 > 150 && b>>8 < 100
	}
	src := testJPEGHalves(t, 200, 100) // red left, blue right
	for _, c := range []struct {
		orientation uint16
		w, h        int
		redAt       image.Point // a point that must be red, and its mirror blue
		blueAt      image.Point
	}{
		{1, 200, 100, image.Pt(20, 50), image.Pt(180, 50)},
		{3, 200, 100, image.Pt(180, 50), image.Pt(20, 50)},
		{6, 100, 200, image.Pt(50, 20), image.Pt(50, 180)}, // turned clockwise: the left half goes up
		{8, 100, 200, image.Pt(50, 180), image.Pt(50, 20)},
	} {
		url := pictureURLOf(t, upload(t, ts.addr, a.token, withEXIFOrientation(src, c.orientation), "turned.jpg"))
		file := expectPicture(t, ts.addr, url, "image/jpeg", c.w, c.h)
		img, err := jpeg.Decode(bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		if !red(img, c.redAt.X, c.redAt.Y) || red(img, c.blueAt.X, c.blueAt.Y) {
			t.Errorf("orientation %d: the red half is not where it belongs", c.orientation)
		}
	}
}

// A PNG with transparency stays PNG; an animated GIF keeps its first
// frame; WebP is read; the type comes from the content, not the name.
func TestPictureFormats(t *testing.T) {
	t.Parallel()
	ts := newWSTestServer(t, nil)
	a := ts.newUser(t, "형식")

	url := pictureURLOf(t, upload(t, ts.addr, a.token, testPNGAlpha(t, 300, 200), "a.jpg"))
	if !strings.HasSuffix(url, ".png") {
		t.Fatalf("a transparent PNG was stored as %s", url)
	}
	file := expectPicture(t, ts.addr, url, "image/png", 300, 200)
	img, err := png.Decode(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, alpha := img.At(10, 100).RGBA(); alpha != 0 {
		t.Errorf("the transparent half has alpha %d", alpha)
	}
	if _, _, _, alpha := img.At(290, 100).RGBA(); alpha != 0xffff {
		t.Errorf("the opaque half has alpha %d", alpha)
	}

	url = pictureURLOf(t, upload(t, ts.addr, a.token, testAnimatedGIF(t, 1024, 256), "anim.gif"))
	file = expectPicture(t, ts.addr, url, "image/jpeg", 512, 128)
	img, err = jpeg.Decode(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if r, _, b, _ := img.At(256, 64).RGBA(); r>>8 < 200 || b>>8 > 60 {
		t.Errorf("the stored GIF is not its first (red) frame: r=%d b=%d", r>>8, b>>8)
	}

	webp, err := os.ReadFile(filepath.Join("testdata", "gopher.lossless.webp"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := xwebp.DecodeConfig(bytes.NewReader(webp))
	if err != nil {
		t.Fatal(err)
	}
	w, h := fitBox(cfg.Width, cfg.Height, pictureBox)
	url = pictureURLOf(t, upload(t, ts.addr, a.token, webp, "g.png"))
	expectPicture(t, ts.addr, url, "image/jpeg", w, h)
}

// Refusals: what is not an image, a text part, an empty file, a file over
// --max-avatar-bytes (3 MiB, and just over 2 MiB), a source over 8192 px a
// side or 40 megapixels, and a string in JSON or a form; a body over the
// limit plus 64 KiB is 413 on this path, and other paths keep --max-body.
func TestPictureRefusals(t *testing.T) {
	t.Parallel()
	ts := newWSTestServer(t, nil)
	a := ts.newUser(t, "거절")
	fieldErr := func(name string, r rawResponse, msg string) {
		t.Helper()
		want, _ := json.Marshal(map[string][]string{"profile_picture": {msg}})
		if r.Status != http.StatusBadRequest || string(r.Body) != string(want) {
			t.Errorf("%s: %d %s, want 400 %s", name, r.Status, r.Body, want)
		}
	}
	fieldErr("text named a.jpg", upload(t, ts.addr, a.token, []byte("hello, I am text\n"), "a.jpg"), msgInvalidImage)
	fieldErr("truncated JPEG", upload(t, ts.addr, a.token, testJPEG(t, 64, 64)[:300], "a.jpg"), msgInvalidImage)
	fieldErr("empty file", upload(t, ts.addr, a.token, nil, "a.jpg"), msgEmptyFile)
	big := append(testJPEG(t, 64, 64), make([]byte, 3<<20)...) // a 3 MiB JPEG: a picture, then padding
	fieldErr("3 MiB JPEG", upload(t, ts.addr, a.token, big, "big.jpg"), "The file is larger than 2097152 bytes.")
	fieldErr("2 MiB + 1 KiB JPEG", upload(t, ts.addr, a.token, big[:2<<20+1<<10], "big.jpg"), "The file is larger than 2097152 bytes.")
	fieldErr("8193 px wide", upload(t, ts.addr, a.token, testPNGGray(t, 8193, 1), "w.png"), msgImageTooBig)
	// Sized from the header alone: no pixel data follows it.
	fieldErr("41 megapixels", upload(t, ts.addr, a.token, pngHeaderOnly(6400, 6400), "mp.png"), msgImageTooBig)
	fieldErr("8192×4883", upload(t, ts.addr, a.token, pngHeaderOnly(8192, 4883), "mp.png"), msgImageTooBig)
	fieldErr("8192×4882, no pixels", upload(t, ts.addr, a.token, pngHeaderOnly(8192, 4882), "mp.png"), msgInvalidImage)

	body, ct := multipartBody(t, []string{"profile_picture", "not a file"})
	fieldErr("text part", rawDo(t, ts.addr, "PATCH", "/user/v1/profile/", a.token, ct, body), msgNotAFile)
	fieldErr("JSON string", rawDo(t, ts.addr, "PATCH", "/user/v1/profile/", a.token, "application/json", []byte(`{"profile_picture":"x.jpg"}`)), msgNotAFile)
	fieldErr("form string", rawDo(t, ts.addr, "PATCH", "/user/v1/profile/", a.token, "application/x-www-form-urlencoded", []byte("profile_picture=x.jpg")), msgNotAFile)

	huge, ct := multipartBody(t, nil, filePart{field: "profile_picture", filename: "a.jpg", data: make([]byte, 10<<20)})
	if r := rawDo(t, ts.addr, "PATCH", "/user/v1/profile/", a.token, ct, huge); r.Status != http.StatusRequestEntityTooLarge ||
		string(r.Body) != `{"detail":"Request body too large."}` {
		t.Errorf("10 MiB body: %d %s, want 413", r.Status, r.Body)
	}
	// Over the limit plus 64 KiB with a picture within its limit: 413.
	padded, ct := multipartBody(t, []string{"nickname", strings.Repeat("x", 100<<10)},
		filePart{field: "profile_picture", filename: "a.jpg", data: big[:2<<20]})
	if r := rawDo(t, ts.addr, "PATCH", "/user/v1/profile/", a.token, ct, padded); r.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("body over the limit + 64 KiB: %d %s, want 413", r.Status, r.Body)
	}
	// Other paths keep --max-body, multipart or not.
	other, ct := multipartBody(t, []string{"name", "room", "pad", strings.Repeat("x", 100<<10)})
	if r := rawDo(t, ts.addr, "POST", "/chat/v1/room/", a.token, ct, other); r.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("a 100 KiB multipart room creation: %d, want 413", r.Status)
	}
	if p := ts.profileOf(t, a); p["profile_picture_url"] != nil {
		t.Errorf("a refused upload set a picture: %v", p)
	}
}

// A replaced picture's URL redirects to the current one; once the picture
// is removed, both are 404. A frame sent before the change keeps the first
// URL, which redirects. Anything else under /media/ is 404, and only GET
// and HEAD are allowed.
func TestPictureReplaceRedirectsAndRemove(t *testing.T) {
	t.Parallel()
	ts := newWSTestServer(t, nil)
	a, b := ts.newUser(t, "교체"), ts.newUser(t, "남")
	room := ts.newRoom(t, a)
	first := pictureURLOf(t, upload(t, ts.addr, a.token, testJPEG(t, 100, 80), "1.jpg"))
	c := ts.dial(t, a, room, "")
	c.send(t, "old frame")
	frames := c.until(t, "old frame")
	oldFrame := frames[len(frames)-1]
	second := pictureURLOf(t, upload(t, ts.addr, a.token, testJPEG(t, 120, 90), "2.jpg"))
	if oldFrame.ProfilePictureURL == nil || *oldFrame.ProfilePictureURL != first {
		t.Fatalf("the frame sent before the change has %v, want %s", oldFrame.ProfilePictureURL, first)
	}
	r := rawDo(t, ts.addr, "GET", first, "", "", nil)
	if r.Status != http.StatusFound || r.Header.Get("Location") != second || r.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("GET the replaced URL: %d Location %q Cache-Control %q", r.Status, r.Header.Get("Location"), r.Header.Get("Cache-Control"))
	}
	expectPicture(t, ts.addr, second, "image/jpeg", 120, 90)
	// A well-formed name that never existed redirects too; a malformed one is 404.
	never := fmt.Sprintf("/media/profile_pics/%d/%s.png", a.id, strings.Repeat("ab", 16))
	if r := rawDo(t, ts.addr, "GET", never, "", "", nil); r.Status != http.StatusFound {
		t.Errorf("GET %s: %d, want 302", never, r.Status)
	}

	if status, body := ts.patchProfile(t, a, map[string]any{"profile_picture": nil}); status != http.StatusOK || body["profile_picture_url"] != nil {
		t.Fatalf("remove the picture: %d %v", status, body)
	}
	for _, url := range []string{first, second} {
		if r := rawDo(t, ts.addr, "GET", url, "", "", nil); r.Status != http.StatusNotFound || string(r.Body) != `{"detail":"Not found."}` {
			t.Errorf("GET %s after removal: %d %s, want 404", url, r.Status, r.Body)
		}
	}
	for _, path := range []string{
		"/media/../secret", "/media/%2e%2e/secret", "/media/profile_pics/999999/x.jpg",
		fmt.Sprintf("/media/profile_pics/%d/%s.jpg", b.id, strings.Repeat("0", 32)), // a user with no picture
		fmt.Sprintf("/media/profile_pics/%d/%s.JPG", a.id, strings.Repeat("0", 32)),
		fmt.Sprintf("/media/profile_pics/%d/%s.jpg", a.id, strings.Repeat("A", 32)),
		fmt.Sprintf("/media/profile_pics/0%d/%s.jpg", a.id, strings.Repeat("0", 32)),
		"/media/", "/media/profile_pics/", "/media/x",
	} {
		if r := rawDo(t, ts.addr, "GET", path, "", "", nil); r.Status != http.StatusNotFound {
			t.Errorf("GET %s: %d %s, want 404", path, r.Status, r.Body)
		}
	}
	third := pictureURLOf(t, upload(t, ts.addr, a.token, testJPEG(t, 10, 10), "3.jpg"))
	for _, method := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		r := rawDo(t, ts.addr, method, third, "", "", nil)
		if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s on a picture: %d Allow %q, want 405 GET, HEAD", method, r.Status, r.Header.Get("Allow"))
		}
	}
}

// Uploads per user are rate-limited (--avatar-rate), in DRF's throttle
// shape; a request without a picture does not count.
func TestPictureUploadRate(t *testing.T) {
	t.Parallel()
	ts := newWSTestServer(t, func(c *Config, _ *actors.Config) { c.AvatarRate = 2 })
	a, b := ts.newUser(t, "빠름"), ts.newUser(t, "다른")
	pic := testJPEG(t, 16, 16)
	for i := range 2 {
		pictureURLOf(t, upload(t, ts.addr, a.token, pic, fmt.Sprintf("%d.jpg", i)))
	}
	if status, _ := ts.patchProfile(t, a, map[string]any{"nickname": "여전히"}); status != http.StatusOK {
		t.Errorf("a PATCH without a picture was refused: %d", status)
	}
	r := upload(t, ts.addr, a.token, pic, "3.jpg")
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" ||
		!strings.HasPrefix(string(r.Body), `{"detail":"Request was throttled. Expected available in `) {
		t.Fatalf("third upload: %d %s, want 429", r.Status, r.Body)
	}
	pictureURLOf(t, upload(t, ts.addr, b.token, pic, "b.jpg")) // per user
}

// The picture and the email switch survive a restart: the file is under
// <data dir>/media/, and the users who hide their email are read at start.
func TestPictureRestartKeepsPictureAndSwitch(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ts := startTestServerOn(t, persistence.Config{Dir: dir})
	u := ts.newUser(t)
	room := ts.createRoom(t, u, "restart", 0)
	r := upload(t, ts.addr, u.Access, testJPEG(t, 600, 600), "a.jpg", "hide_email", "true")
	url := pictureURLOf(t, r)
	before := rawDo(t, ts.addr, "GET", url, "", "", nil)
	if before.Status != http.StatusOK {
		t.Fatalf("GET %s: %d", url, before.Status)
	}
	if _, err := os.Stat(filepath.Join(dir, "media", strings.TrimPrefix(url, "/media/"))); err != nil {
		t.Fatalf("the picture is not under the data directory: %v", err)
	}
	ts.close(t)

	ts = startTestServerOn(t, persistence.Config{Dir: dir})
	after := expectPicture(t, ts.addr, url, "image/jpeg", 512, 512)
	if !bytes.Equal(after, before.Body) {
		t.Error("the picture changed across the restart")
	}
	access, _ := ts.login(t, u.Email, testPassword)
	u.Access = access
	if m := ts.postMessage(t, u, room.ID, "after restart"); m.Sender != fmt.Sprintf("user-%d", u.ID) {
		t.Errorf("sender %q after the restart, want user-%d", m.Sender, u.ID)
	}
}

// With the storage full, an upload is refused with 507 and leaves no file.
func TestPictureStorageFull(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ts := startTestServerOn(t, persistence.Config{Dir: dir})
	u := ts.newUser(t)
	ts.close(t)
	ts = startTestServerOn(t, persistence.Config{Dir: dir, StorageReserve: 1 << 60})
	r := upload(t, ts.addr, u.Access, testJPEG(t, 32, 32), "a.jpg")
	if r.Status != http.StatusInsufficientStorage || string(r.Body) != `{"detail":"Storage is full."}` {
		t.Fatalf("upload on a full volume: %d %s, want 507", r.Status, r.Body)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "media", "profile_pics", fmt.Sprint(u.ID)))
	if len(entries) != 0 {
		t.Errorf("a refused upload left %d files", len(entries))
	}
}

// A picture upload's larger body limit needs a valid access token in its
// headers: without one the body, read before any handler, would be held
// in memory for anyone. The request is answered 401 (as its handler
// would) at once, without its body; with a token the upload is read.
func TestPictureUploadBodyNeedsToken(t *testing.T) {
	ts := newTestServer(t)
	u := ts.newUser(t)
	head := func(auth string) string {
		return "PATCH /user/v1/profile/ HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth +
			"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 3000000\r\n\r\n--x\r\n"
	}
	for _, c := range []struct{ name, auth, status string }{
		{"no token", "", "401"},
		{"bad token", "Authorization: Bearer not.a.token\r\n", "401"},
		{"token", "Authorization: Bearer " + u.Access + "\r\n", ""},
	} {
		conn, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Write([]byte(head(c.auth))); err != nil {
			t.Fatal(err)
		}
		wait := 2 * time.Second
		if c.status == "" {
			wait = 500 * time.Millisecond
		}
		_ = conn.SetReadDeadline(time.Now().Add(wait))
		buf := make([]byte, 512)
		n, err := conn.Read(buf)
		_ = conn.Close()
		got := string(buf[:n])
		if c.status == "" {
			// Its body is awaited: nothing comes back before it.
			if n != 0 {
				t.Fatalf("%s: answered before its body: %q", c.name, got)
			}
			continue
		}
		if err != nil || !strings.HasPrefix(got, "HTTP/1.1 "+c.status) {
			t.Fatalf("%s: %q (%v), want %s at once", c.name, got, err, c.status)
		}
	}
}
