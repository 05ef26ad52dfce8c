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
