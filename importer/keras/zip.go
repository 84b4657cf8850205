package keras

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/kconv/kconv/internal/h5"
	"github.com/kconv/kconv/ir"
)

const (
	maxMetadataSize = 1 << 20
	// maxWeightsSize bounds the model.weights.h5 kconv extracts.
	maxWeightsSize = 64 << 30
	weightsMember  = "model.weights.h5"
)

// kerasZip is an open .keras file.
type kerasZip struct {
	*zip.ReadCloser
}

// Limits of the compression-ratio check: a member inflating to more than
// bombMinBytes and more than bombRatio times its compressed size is
// refused. Deflate cannot exceed about 1032:1, so over 1000:1 means the
// member is (almost) all one repeated byte: no real config or weights.
const (
	bombMinBytes = 16 << 20
	bombRatio    = 1000
)

func openZip(path string) (*kerasZip, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("not a valid .keras zip: %v", err)
	}
	if err := checkMembers(zr.File); err != nil {
		zr.Close()
		return nil, err
	}
	return &kerasZip{zr}, nil
}

// checkMembers refuses archives that different readers would read
// differently, or that would make kconv inflate far more than the file
// holds, before any member is read:
//
//   - a name appearing twice (kconv would read the first, Python's zipfile
//     and so Keras the last);
//   - an encrypted member (Go's zip reader would hand over ciphertext);
//   - a member whose stated size is over 1000 times its compressed size
//     and over 16 MiB (a decompression bomb).
func checkMembers(files []*zip.File) error {
	seen := make(map[string]bool, len(files))
	for _, f := range files {
		if seen[f.Name] {
			return fmt.Errorf("the .keras zip holds %q twice: refusing an archive that readers disagree on", f.Name)
		}
		seen[f.Name] = true
		if f.Flags&0x1 != 0 {
			return fmt.Errorf("%s: encrypted zip members are not supported", f.Name)
		}
		if f.UncompressedSize64 > bombMinBytes && f.UncompressedSize64/bombRatio > f.CompressedSize64 {
			return fmt.Errorf("%s: inflates %d bytes from %d (over %d:1): refusing a decompression bomb", f.Name, f.UncompressedSize64, f.CompressedSize64, bombRatio)
		}
	}
	return nil
}

func (z *kerasZip) member(name string) *zip.File {
	for _, f := range z.File {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// readMember reads a small member whole, refusing more than limit bytes.
func (z *kerasZip) readMember(name string, limit int64) ([]byte, error) {
	f := z.member(name)
	if f == nil {
		return nil, fmt.Errorf("the .keras zip has no %s", name)
	}
	if f.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("%s is %d bytes, more than the %d kconv accepts", name, f.UncompressedSize64, limit)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than the %d bytes kconv accepts", name, limit)
	}
	return data, nil
}

// version returns metadata.json's keras_version ("" if absent).
func (z *kerasZip) version() string {
	data, err := z.readMember("metadata.json", maxMetadataSize)
	if err != nil {
		return ""
	}
	var md struct {
		KerasVersion string `json:"keras_version"`
	}
	if json.Unmarshal(data, &md) != nil {
		return ""
	}
	return md.KerasVersion
}

// arch reads config.json.
func (z *kerasZip) arch() (*arch, error) {
	data, err := z.readMember("config.json", maxConfigSize)
	if err != nil {
		return nil, err
	}
	top, err := parseText(data)
	if err != nil {
		return nil, fmt.Errorf("config.json: %v", err)
	}
	v := z.version()
	if v == "" {
		v = top.str("keras_version")
	}
	return &arch{top: top, version: v, backend: top.str("backend"), format: "keras-zip"}, nil
}

// extractWeights copies model.weights.h5 to a new temporary file (the
// caller removes it), refusing more than its declared size.
func (z *kerasZip) extractWeights() (string, error) {
	f := z.member(weightsMember)
	if f == nil {
		return "", fmt.Errorf("the .keras zip has no %s", weightsMember)
	}
	if f.UncompressedSize64 > maxWeightsSize {
		return "", fmt.Errorf("%s is %d bytes, more than the %d kconv accepts", weightsMember, f.UncompressedSize64, uint64(maxWeightsSize))
	}
	if err := checkSignature(f); err != nil {
		return "", err
	}
	rc, err := f.Open()
	if err != nil {
		return "", fmt.Errorf("%s: %v", weightsMember, err)
	}
	defer rc.Close()
	tmp, err := os.CreateTemp("", "kconv-*.weights.h5")
	if err != nil {
		return "", err
	}
	n, err := io.Copy(tmp, io.LimitReader(rc, int64(f.UncompressedSize64)+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != int64(f.UncompressedSize64) {
		err = fmt.Errorf("holds %d bytes, its zip entry says %d", n, f.UncompressedSize64)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("%s: %v", weightsMember, err)
	}
	return tmp.Name(), nil
}

// checkSignature inflates only the first bytes of the weights member and
// refuses it unless it starts with the HDF5 signature (Keras writes no user
// block), so a member that is not HDF5 is refused before gigabytes are
// inflated to disk.
func checkSignature(f *zip.File) error {
	rc, err := f.Open()
	if err != nil {
		return fmt.Errorf("%s: %v", weightsMember, err)
	}
	defer rc.Close()
	var head [8]byte
	if _, err := io.ReadFull(rc, head[:]); err != nil || !bytes.Equal(head[:], hdf5Signature) {
		return fmt.Errorf("%s: not an HDF5 file", weightsMember)
	}
	return nil
}

// loadZip loads a .keras zip. The weights file inside is extracted to a
// temporary file twice at most, each time removed before returning: once
// here, to learn the weights' shapes, and once when the first weight's data
// is wanted, to read all of them (see zipStore).
func loadZip(path string, opts Options, flip string) (*ir.Model, error) {
	z, err := openZip(path)
	if err != nil {
		return nil, err
	}
	defer z.Close()
	var a *arch
	if opts.Arch != "" {
		if a, err = optionArch(opts); err != nil {
			return nil, err
		}
	} else if a, err = z.arch(); err != nil {
		return nil, err
	}
	version := z.version()
	g, major, err := buildArch(a, opts, version)
	if err != nil {
		return nil, err
	}
	a.format = "keras-zip"
	meta := a.meta(path, version, "", major)
	if z.member(weightsMember) == nil {
		g.m.Warnings = append(g.m.Warnings, "the .keras zip has no "+weightsMember+": architecture only")
		return finish(g, meta, nil)
	}
	tmp, err := z.extractWeights()
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	f, err := h5.Open(tmp)
	if err != nil {
		return nil, &renamedErr{err, tmp, weightsMember}
	}
	defer f.Close()
	zs := &zipStore{zip: path}
	at := &attacher{label: path + ":" + weightsMember, st: zs, flip: flip == "on"}
	m, err := finish(g, meta, func() error { return at.attachK3(g, f.Root()) })
	if err != nil {
		return nil, &renamedErr{err, tmp, weightsMember}
	}
	zs.paths = at.paths
	return m, nil
}

// zipStore reads the weights of a .keras zip. On the first read it extracts
// model.weights.h5 to a temporary file, reads every weight of the model
// into memory, and removes the file; each weight then takes its data (and
// the store lets go of it). So no temporary file outlives a call, whatever
// the caller does with the model. A weight read a second time (its data
// was released, e.g. by exec after a Compile) makes the store read the
// file again.
type zipStore struct {
	zip    string
	paths  []string
	mu     sync.Mutex
	loaded bool
	data   map[string][]float32
	taken  map[string]bool // paths whose data was handed out
	err    error
}

func (s *zipStore) read(path string, dst []float32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.loaded {
		s.loaded = true
		s.data, s.err = s.loadAll()
	}
	if s.err != nil {
		return s.err
	}
	src, ok := s.data[path]
	if !ok && s.taken[path] {
		// Read before and given away (exec releases weights it has
		// transformed): a second Compile of the same model reads the
		// file again.
		data, err := s.loadAll()
		if err != nil {
			return err
		}
		s.data, s.taken = data, nil
		src, ok = s.data[path]
	}
	if !ok {
		return fmt.Errorf("%s: no such weight", path)
	}
	delete(s.data, path)
	if s.taken == nil {
		s.taken = map[string]bool{}
	}
	s.taken[path] = true
	if len(src) != len(dst) {
		return fmt.Errorf("%s holds %d values, expected %d", path, len(src), len(dst))
	}
	copy(dst, src)
	return nil
}

func (s *zipStore) loadAll() (map[string][]float32, error) {
	z, err := openZip(s.zip)
	if err != nil {
		return nil, err
	}
	defer z.Close()
	tmp, err := z.extractWeights()
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	f, err := h5.Open(tmp)
	if err != nil {
		return nil, &renamedErr{err, tmp, weightsMember}
	}
	defer f.Close()
	data := make(map[string][]float32, len(s.paths))
	for _, p := range s.paths {
		d, err := f.Root().Dataset(p)
		if err != nil {
			return nil, &renamedErr{err, tmp, weightsMember}
		}
		buf := make([]float32, d.Len())
		if err := d.ReadFloat32(buf); err != nil {
			return nil, &renamedErr{err, tmp, weightsMember}
		}
		data[p] = buf
	}
	if len(data) == 0 {
		return nil, errors.New("no weights")
	}
	return data, nil
}
