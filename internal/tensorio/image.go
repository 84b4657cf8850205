package tensorio

import (
	"fmt"
	"image"
	_ "image/jpeg" // decoders registered for image.Decode
	_ "image/png"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kconv/kconv/internal/regfile"
	"golang.org/x/image/draw"
)

// maxImagePixels bounds the decoded size of an input image (a decompression
// bomb guard): 100 megapixels.
const maxImagePixels = 100 << 20

// IsImage reports whether path has an image extension kconv decodes.
func IsImage(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jpg", ".jpeg", ".png":
		return true
	}
	return false
}

// ListImages returns the image files of a folder, sorted by name.
func ListImages(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() && IsImage(e.Name()) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no .jpg/.jpeg/.png images", dir)
	}
	return out, nil
}

// ReadImage decodes a PNG or JPEG file, resizes it bilinearly to h×w and
// returns its pixels as RGB float32 values in 0–255, in (h, w, 3) order.
func ReadImage(path string, h, w int) ([]float32, error) {
	f, _, err := regfile.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return nil, fmt.Errorf("not a readable PNG or JPEG image: %w", err)
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxImagePixels {
		return nil, fmt.Errorf("image is %dx%d, larger than kconv accepts", cfg.Width, cfg.Height)
	}
	if _, err := f.Seek(0, 0); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("not a readable PNG or JPEG image: %w", err)
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.BiLinear.Scale(dst, dst.Bounds(), img, img.Bounds(), draw.Src, nil)
	out := make([]float32, h*w*3)
	for y := 0; y < h; y++ {
		row := dst.Pix[y*dst.Stride:]
		for x := 0; x < w; x++ {
			p := row[4*x:]
			o := out[(y*w+x)*3:]
			o[0], o[1], o[2] = float32(p[0]), float32(p[1]), float32(p[2])
		}
	}
	return out, nil
}
