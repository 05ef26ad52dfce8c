package api

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// pictureSeeds are small files of each accepted format, a JPEG with EXIF,
// and near misses: truncations, headers with no pixels, huge claims.
func pictureSeeds(f *testing.F) [][]byte {
	jpg := testJPEG(f, 16, 8)
	seeds := [][]byte{
		jpg, withEXIFGPS(f, jpg), withEXIFOrientation(jpg, 6), withEXIFOrientation(jpg, 9), jpg[:len(jpg)/2], jpg[:4],
		testPNGAlpha(f, 4, 3), testPNGGray(f, 3, 2), pngHeaderOnly(1, 1), pngHeaderOnly(8193, 1), pngHeaderOnly(1<<31-1, 1<<31-1),
		testAnimatedGIF(f, 5, 4), []byte("GIF89a"), []byte("RIFF\x00\x00\x00\x00WEBP"),
		[]byte{}, []byte("hello"), []byte{0xFF, 0xD8, 0xFF, 0xDA, 0xFF, 0xDA},
	}
	if webp, err := os.ReadFile(filepath.Join("testdata", "gopher.lossless.webp")); err == nil {
		seeds = append(seeds, webp, webp[:40])
	}
	return seeds
}

// FuzzSniffPicture runs bytes through the checks that come before any
// decoding: file size, type from the content, dimensions from the header.
// Nothing panics; what they accept is one of the four formats by its magic
// bytes, within the byte limit and the size bounds; what they refuse
// carries the DRF message of the first check that failed.
func FuzzSniffPicture(f *testing.F) {
	for _, s := range pictureSeeds(f) {
		f.Add(s, 1<<20)
	}
	f.Add([]byte("0123456789"), 4)
	f.Fuzz(func(t *testing.T, data []byte, maxBytes int) {
		maxBytes = max(1, min(maxBytes, 1<<22))
		if o := jpegOrientation(data); o < 1 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
		format, cfg, err := checkPicture(data, maxBytes)
		if err != nil {
			msg, ok := isPictureError(err)
			switch {
			case !ok:
				t.Fatalf("checkPicture refused with %v", err)
			case len(data) == 0 && msg != msgEmptyFile, len(data) > maxBytes && msg != msgFileTooLarge(maxBytes):
				t.Fatalf("%d bytes (limit %d) refused with %q", len(data), maxBytes, msg)
			case len(data) > 0 && len(data) <= maxBytes && msg != msgInvalidImage && msg != msgImageTooBig:
				t.Fatalf("refused with %q", msg)
			}
			return
		}
		if len(data) == 0 || len(data) > maxBytes {
			t.Fatalf("accepted %d bytes with a limit of %d", len(data), maxBytes)
		}
		if cfg.Width <= 0 || cfg.Height <= 0 || tooManyPixels(cfg.Width, cfg.Height) {
			t.Fatalf("accepted %dx%d", cfg.Width, cfg.Height)
		}
		magic := map[pictureFormat]func() bool{
			formatJPEG: func() bool { return bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}) },
			formatPNG:  func() bool { return bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) },
			formatGIF:  func() bool { return bytes.HasPrefix(data, []byte("GIF8")) },
			formatWebP: func() bool { return len(data) >= 12 && string(data[8:12]) == "WEBP" },
		}[format]
		if magic == nil || !magic() {
			t.Fatalf("accepted as %q a file without its magic bytes: %q", format, data[:min(len(data), 16)])
		}
		// What the check accepts decodes within the bounds, or is refused.
		if len(data) > 64<<10 || cfg.Width*cfg.Height > 1<<20 {
			return // keep each run fast and small
		}
		img, err := decodePicture(format, data)
		if err != nil {
			if _, ok := isPictureError(err); !ok {
				t.Fatalf("decode refused with %v", err)
			}
			return
		}
		if b := img.Bounds(); b.Dx() > cfg.Width || b.Dy() > cfg.Height {
			t.Fatalf("decoded %v beyond the header's %dx%d", b, cfg.Width, cfg.Height)
		}
	})
}

// FuzzProfileMultipart parses multipart profile bodies, seeded with real
// ones. Nothing panics; the picture never exceeds what was asked for plus
// one byte; every field is valid UTF-8 JSON text; errors are 400s.
func FuzzProfileMultipart(f *testing.F) {
	jpg := testJPEG(f, 8, 8)
	add := func(fields []string, files ...filePart) {
		body, ct := multipartBody(f, fields, files...)
		f.Add(body, strings.TrimPrefix(ct, "multipart/form-data; boundary="), 64)
	}
	add([]string{"nickname", "민수", "hide_email", "true"})
	add([]string{"nickname", "x"}, filePart{field: "profile_picture", filename: "a.jpg", data: jpg})
	add(nil, filePart{field: "profile_picture", filename: "", data: jpg})
	add([]string{"profile_picture", "text"}, filePart{field: "nickname", filename: "n.txt", data: []byte("x")})
	add([]string{"a", "1", "a", "2", "b", strings.Repeat("x", 100)})
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n--b--\r\n"), "b", 10)
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"profile_picture\"; filename=\"p\"\r\n\r\n0123456789abc\r\n--b--\r\n"), "b", 4)
	f.Add([]byte("--b\r\n\r\n--b--"), "b", 1)
	f.Add([]byte("garbage"), "", 1)
	f.Fuzz(func(t *testing.T, body []byte, boundary string, maxFile int) {
		maxFile = max(0, min(maxFile, 1<<16))
		p, err := parseProfileMultipart(body, boundary, maxFile)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != EINVALID {
				t.Fatalf("refused with %v", err)
			}
			return
		}
		if p.hasPicture && len(p.picture) > maxFile+1 {
			t.Fatalf("read %d bytes of a picture limited to %d", len(p.picture), maxFile)
		}
		if _, ok := p.form.raw["profile_picture"]; ok && p.hasPicture {
			t.Fatal("both a picture file and a profile_picture field")
		}
		for name, raw := range p.form.raw {
			if !utf8.ValidString(name) || !utf8.Valid(raw) {
				t.Fatalf("field %q = %q is not UTF-8", name, raw)
			}
			p.form.str(name, strRule{required: true, trim: true, maxChars: 20})
			p.form.boolean(name)
		}
	})
}
