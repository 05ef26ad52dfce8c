package api

import (
	"context"
	"image"
	"image/color"
	"testing"
	"time"
)

// BenchmarkProcessPicture measures an upload's check, decode, scaling and
// re-encoding, from a phone-sized photo to the largest source accepted
// (40 megapixels), and a transparent PNG. The memory per operation is
// what one decode slot holds at most.
func BenchmarkProcessPicture(b *testing.B) {
	s := &Server{cfg: Config{MaxAvatarBytes: 64 << 20}, decodes: make(chan struct{}, pictureDecodes), largeDecode: make(chan struct{}, 1)}
	cases := []struct {
		name string
		data func() []byte
	}{
		{"jpeg=1024x768", func() []byte { return testJPEG(b, 1024, 768) }},
		{"jpeg=8000x5000", func() []byte { return testJPEG(b, 8000, 5000) }},
		{"png-alpha=2000x2000", func() []byte { return testPNGAlpha(b, 2000, 2000) }},
	}
	for _, c := range cases {
		data := c.data()
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := s.processPicture(context.Background(), data); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(data))/1024, "KiB-source")
		})
	}
}

// A large decode (a 16-bit source) takes every slot: it waits while a
// small one holds a slot, and holds off small ones while it runs; a wait
// that gives up returns the slots it took.
func TestPictureDecodeSlots(t *testing.T) {
	s := &Server{decodes: make(chan struct{}, pictureDecodes), largeDecode: make(chan struct{}, 1)}
	short := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		t.Cleanup(cancel)
		return ctx
	}
	small, err := s.decodeSlots(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.decodeSlots(short(), true); err != errUnavailable {
		t.Fatalf("a large decode beside a small one: %v, want to wait", err)
	}
	if len(s.decodes) != 1 {
		t.Fatalf("%d slots held after the large decode gave up, want the small one's", len(s.decodes))
	}
	small()
	large, err := s.decodeSlots(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.decodeSlots(short(), false); err != errUnavailable {
		t.Fatalf("a small decode beside a large one: %v, want to wait", err)
	}
	large()
	if len(s.decodes) != 0 {
		t.Fatalf("%d slots held after every release", len(s.decodes))
	}
	if got := decodedBytes(image.Config{ColorModel: color.NRGBA64Model, Width: 8000, Height: 5000}); got <= pictureMaxPixels*4 {
		t.Fatalf("a 40 MP 16-bit source is estimated at %d bytes, not large", got)
	}
}

// jpegHeader is the start of a JFIF JPEG with a frame header of the given
// kind (0xC0 baseline, 0xC2 progressive), after an APP1 segment holding
// bytes that look like a progressive frame marker: enough for
// DecodeConfig.
func jpegHeader(sof byte, w, h, components int) []byte {
	b := []byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
		0xFF, 0xE1, 0x00, 0x06, 0xFF, 0xC2, 0x00, 0x00}
	n := 8 + 3*components
	b = append(b, 0xFF, sof, byte(n>>8), byte(n), 8, byte(h>>8), byte(h), byte(w>>8), byte(w), byte(components))
	for c := range components {
		b = append(b, byte(c+1), 0x11, 0)
	}
	return b
}

// A progressive JPEG's decode holds every component's coefficients until
// its last scan: a 40-megapixel CMYK one held 1.5 GB. One whose estimate
// passes what a 40-megapixel baseline decode holds is refused from its
// header; a baseline JPEG of the same size, or a smaller progressive
// one, is not.
func TestProgressiveJPEGBoundedFromHeader(t *testing.T) {
	cases := []struct {
		name       string
		sof        byte
		w, h, comp int
		refused    bool
	}{
		{"progressive CMYK 8192x4882", 0xC2, 8192, 4882, 4, true},
		{"progressive YCbCr 8000x5000", 0xC2, 8000, 5000, 3, true},
		{"baseline CMYK 8192x4882", 0xC0, 8192, 4882, 4, false},
		{"progressive YCbCr 3000x3000", 0xC2, 3000, 3000, 3, false},
	}
	for _, c := range cases {
		data := jpegHeader(c.sof, c.w, c.h, c.comp)
		if got := jpegProgressive(data); got != (c.sof == 0xC2) {
			t.Errorf("%s: progressive %v", c.name, got)
		}
		_, cfg, err := sniffPicture(data)
		if c.refused {
			if err != errPicture(msgProgressiveTooBig) {
				t.Errorf("%s: %v, want refused as too large a progressive JPEG", c.name, err)
			}
			continue
		}
		if err != nil || cfg.Width != c.w || cfg.Height != c.h {
			t.Errorf("%s: %v (%dx%d), want accepted", c.name, err, cfg.Width, cfg.Height)
		}
	}
	if jpegProgressive(testJPEG(t, 64, 48)) {
		t.Error("image/jpeg's baseline output reads as progressive")
	}
}
