package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"strconv"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"
)

// Profile pictures: what an upload may be, and the form it is stored in.
const (
	// pictureMaxSide and pictureMaxPixels bound the source image, read from
	// its header before anything is decoded: decoding allocates for every
	// pixel the header claims.
	pictureMaxSide   = 8192
	pictureMaxPixels = 40_000_000
	// pictureBox is what a stored picture fits in; smaller ones keep their size.
	pictureBox = 512
	// pictureMaxScans bounds a progressive JPEG's scans: each one walks
	// every block of the image, so a small file of many empty scans would
	// take minutes to decode. Encoders write about ten.
	pictureMaxScans = 100
	// pictureJPEGQuality is the stored JPEGs' quality.
	pictureJPEGQuality = 85
	// multipartSlack is what a picture upload's body may hold beyond the
	// picture: the other fields and the multipart framing.
	multipartSlack = 64 << 10
)

// DRF's messages for a bad picture.
const (
	msgInvalidImage = "Upload a valid image. The file you uploaded was either not an image or a corrupted image."
	msgNotAFile     = "The submitted data was not a file. Check the encoding type on the form."
	msgEmptyFile    = "The submitted file is empty."
	msgImageTooBig  = "The image is larger than 8192×8192 pixels or 40 megapixels."
	// msgProgressiveTooBig refuses a progressive JPEG whose decode would
	// hold more than a 40-megapixel baseline one (see progressiveBytes).
	msgProgressiveTooBig = "The progressive JPEG is too large to decode; send it as a baseline JPEG or smaller."
)

func msgFileTooLarge(max int) string {
	return "The file is larger than " + strconv.Itoa(max) + " bytes."
}

// errPicture is a picture refused for what it holds; its text is the
// client's message.
type errPicture string

func (e errPicture) Error() string { return string(e) }

// pictureFormat is an accepted source format.
type pictureFormat string

const (
	formatJPEG pictureFormat = "jpeg"
	formatPNG  pictureFormat = "png"
	formatGIF  pictureFormat = "gif"
	formatWebP pictureFormat = "webp"
)

// checkPicture is everything an upload must pass before it is decoded:
// not empty, at most maxBytes, one of the four formats, within the size
// bounds.
func checkPicture(data []byte, maxBytes int) (pictureFormat, image.Config, error) {
	switch {
	case len(data) == 0:
		return "", image.Config{}, errPicture(msgEmptyFile)
	case len(data) > maxBytes:
		return "", image.Config{}, errPicture(msgFileTooLarge(maxBytes))
	}
	return sniffPicture(data)
}

// sniffPicture finds an upload's format from its first bytes (never from
// its name or declared type) and reads its dimensions from its header,
// decoding no pixel. It refuses what is not one of the four formats, a
// header that does not parse, and a source over the size bounds.
func sniffPicture(data []byte) (pictureFormat, image.Config, error) {
	var (
		format pictureFormat
		cfg    image.Config
		err    error
	)
	r := bytes.NewReader(data)
	switch {
	case len(data) >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF:
		format = formatJPEG
		if bytes.Count(data, []byte{0xFF, 0xDA}) > pictureMaxScans {
			return "", cfg, errPicture(msgInvalidImage)
		}
		cfg, err = jpeg.DecodeConfig(r)
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		format = formatPNG
		cfg, err = png.DecodeConfig(r)
	case bytes.HasPrefix(data, []byte("GIF87a")) || bytes.HasPrefix(data, []byte("GIF89a")):
		format = formatGIF
		cfg, err = gif.DecodeConfig(r)
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		format = formatWebP
		cfg, err = webp.DecodeConfig(r)
	default:
		return "", cfg, errPicture(msgInvalidImage)
	}
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return "", cfg, errPicture(msgInvalidImage)
	}
	if tooManyPixels(cfg.Width, cfg.Height) {
		return "", cfg, errPicture(msgImageTooBig)
	}
	if format == formatJPEG && jpegProgressive(data) && progressiveBytes(cfg) > pictureMaxPixels*4 {
		return "", cfg, errPicture(msgProgressiveTooBig)
	}
	return format, cfg, nil
}

// progressiveBytes estimates what decoding a progressive JPEG holds: the
// image, and every component's coefficients (an int32 each, one per pixel
// and component) kept until the last scan. A 40-megapixel CMYK one held
// 1.5 GB.
func progressiveBytes(cfg image.Config) int64 {
	components := int64(3)
	switch cfg.ColorModel {
	case color.GrayModel:
		components = 1
	case color.CMYKModel:
		components = 4
	}
	return int64(cfg.Width) * int64(cfg.Height) * (4 + 4*components)
}

// jpegProgressive reports a JPEG whose frame header (the first SOFn
// marker, found by walking the segments before it) is progressive.
func jpegProgressive(data []byte) bool {
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xFF {
			return false
		}
		marker := data[i+1]
		switch {
		case marker == 0xFF: // fill byte
			i++
			continue
		case marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC:
			return marker == 0xC2 || marker == 0xC6 || marker == 0xCA || marker == 0xCE
		case marker == 0xD8 || marker == 0x01 || marker >= 0xD0 && marker <= 0xD7:
			i += 2 // no length
			continue
		}
		i += 2 + (int(data[i+2])<<8 | int(data[i+3]))
	}
	return false
}

func tooManyPixels(w, h int) bool {
	return w > pictureMaxSide || h > pictureMaxSide || int64(w)*int64(h) > pictureMaxPixels
}

// storedPicture is an upload in its stored form.
type storedPicture struct {
	data []byte
	ext  string // "jpg" or "png"
}

// processPicture checks an upload and re-encodes it: scaled down to fit
// pictureBox, PNG when it has transparency and JPEG otherwise, the first
// frame of an animation, with no metadata (only pixels are carried over).
// At most Config.PictureDecodes run at once; a caller waits for its turn
// within ctx.
func (s *Server) processPicture(ctx context.Context, data []byte) (*storedPicture, error) {
	format, cfg, err := checkPicture(data, s.cfg.MaxAvatarBytes)
	if err != nil {
		return nil, err
	}
	release, err := s.decodeSlots(ctx, decodedBytes(cfg) > pictureMaxPixels*4)
	if err != nil {
		return nil, err
	}
	defer release()
	src, err := decodePicture(format, data)
	if err != nil {
		return nil, err
	}
	if b := src.Bounds(); b.Dx() > cfg.Width || b.Dy() > cfg.Height || tooManyPixels(b.Dx(), b.Dy()) {
		return nil, errPicture(msgInvalidImage) // never, as the decoders check; cheap to be sure
	}
	o := 1
	if format == formatJPEG {
		o = jpegOrientation(data)
	}
	return encodePicture(src, o)
}

// decodedBytes estimates the memory a decode of cfg's image holds.
func decodedBytes(cfg image.Config) int64 {
	bpp := int64(4)
	switch cfg.ColorModel {
	case color.RGBA64Model, color.NRGBA64Model:
		bpp = 8 // 16-bit PNG
	case color.Gray16Model:
		bpp = 2
	case color.GrayModel:
		bpp = 1
	}
	if _, ok := cfg.ColorModel.(color.Palette); ok {
		bpp = 1
	}
	return int64(cfg.Width) * int64(cfg.Height) * bpp
}

// decodeSlots waits for a decode slot, or for every slot when the decode
// is large (a 16-bit source twice the size of the others), so that decodes
// hold at most pictureDecodes × 40 megapixels × 4 bytes together. Large
// decodes take their slots one at a time, in turn, so two of them never
// hold one slot each waiting for the other's.
func (s *Server) decodeSlots(ctx context.Context, large bool) (release func(), err error) {
	n := 1
	if large {
		n = cap(s.decodes)
		select {
		case s.largeDecode <- struct{}{}:
		case <-ctx.Done():
			return nil, errUnavailable
		}
		defer func() { <-s.largeDecode }()
	}
	for got := 0; got < n; got++ {
		select {
		case s.decodes <- struct{}{}:
		case <-ctx.Done():
			for range got {
				<-s.decodes
			}
			return nil, errUnavailable
		}
	}
	return func() {
		for range n {
			<-s.decodes
		}
	}, nil
}

// decodePicture decodes the first frame; a decoder's panic on a hostile
// file is a refused picture, not a crash.
func decodePicture(format pictureFormat, data []byte) (img image.Image, err error) {
	defer func() {
		if recover() != nil {
			img, err = nil, errPicture(msgInvalidImage)
		}
	}()
	r := bytes.NewReader(data)
	switch format {
	case formatJPEG:
		img, err = jpeg.Decode(r)
	case formatPNG:
		img, err = png.Decode(r)
	case formatGIF:
		img, err = gif.Decode(r) // the first frame only
	case formatWebP:
		img, err = webp.Decode(r)
	}
	if err != nil || img == nil {
		return nil, errPicture(msgInvalidImage)
	}
	return img, nil
}

// fitBox is the size of a w×h image scaled down to fit box×box, keeping
// its proportions; a smaller image keeps its size.
func fitBox(w, h, box int) (int, int) {
	if w <= box && h <= box {
		return w, h
	}
	if w >= h {
		return box, max(1, int((int64(h)*int64(box)+int64(w)/2)/int64(w)))
	}
	return max(1, int((int64(w)*int64(box)+int64(h)/2)/int64(h))), box
}

// encodePicture scales src to fit pictureBox, turns it as its EXIF
// orientation says (orient.go), and encodes it.
func encodePicture(src image.Image, orientation int) (*storedPicture, error) {
	b := src.Bounds()
	w, h := fitBox(b.Dx(), b.Dy(), pictureBox)
	transparent := !isOpaque(src)
	// A large source is first brought down to four times the target
	// cheaply, then filtered well: Catmull-Rom over the whole source costs
	// its kernel's width, which grows with the ratio, for every pixel.
	if b.Dx() > 4*w && b.Dy() > 4*h {
		mid := image.NewRGBA(image.Rect(0, 0, 4*w, 4*h))
		draw.ApproxBiLinear.Scale(mid, mid.Bounds(), src, b, draw.Src, nil)
		src, b = mid, mid.Bounds()
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	if w == b.Dx() && h == b.Dy() {
		draw.Draw(dst, dst.Bounds(), src, b.Min, draw.Src)
	} else {
		draw.CatmullRom.Scale(dst, dst.Bounds(), src, b, draw.Src, nil)
	}
	dst = orient(dst, orientation)
	var buf bytes.Buffer
	if transparent {
		enc := png.Encoder{CompressionLevel: png.BestCompression}
		if err := enc.Encode(&buf, dst); err != nil {
			return nil, fmt.Errorf("encode png: %w", err)
		}
		return &storedPicture{data: buf.Bytes(), ext: "png"}, nil
	}
	if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: pictureJPEGQuality}); err != nil {
		return nil, fmt.Errorf("encode jpeg: %w", err)
	}
	return &storedPicture{data: buf.Bytes(), ext: "jpg"}, nil
}

// isOpaque reports an image without any transparent pixel. The decoders'
// types answer from their pixels; any other is taken as transparent.
func isOpaque(img image.Image) bool {
	if o, ok := img.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	return false
}

// newPictureName is a user's picture path under /media/: a new random
// name for each upload, so that a URL never changes what it shows and
// names cannot be guessed.
func newPictureName(user int64, ext string) (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return picturePrefix + strconv.FormatInt(user, 10) + "/" + hex.EncodeToString(b[:]) + "." + ext, nil
}

// picturePrefix is the folder of profile pictures under /media/.
const picturePrefix = "profile_pics/"

// isPictureError reports a refusal of the picture itself (400 on the field).
func isPictureError(err error) (string, bool) {
	var pe errPicture
	if errors.As(err, &pe) {
		return string(pe), true
	}
	return "", false
}
