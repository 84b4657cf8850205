package keras

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/kconv/kconv/internal/h5"
	"github.com/kconv/kconv/internal/regfile"
	"github.com/kconv/kconv/ir"
)

// Options control Load.
type Options struct {
	// Arch is the architecture for a weights-only file: a JSON or YAML
	// file (Keras to_json/to_yaml), a full-model .h5 or .keras whose
	// architecture to use, or, when no such file exists, a builtin name
	// resolved by ArchBuiltin. Given with a full model, it replaces the
	// model's own architecture.
	Arch string
	// ArchBuiltin resolves builtin architecture names (e.g. zoo.Lookup).
	ArchBuiltin func(name string) (*ir.Model, error)
	// Lambdas maps Lambda layer names to registered lambda functions
	// (ir.RegisterLambda), overriding what the file suggests.
	Lambdas map[string]string
	// TheanoFlip says whether to flip convolution kernels spatially
	// (Keras's convert_kernel): "auto" (or ""), "on" or "off".
	TheanoFlip string
}

// Load reads a Keras model file: a full-model or weights-only HDF5 file of
// any Keras version, a Keras 3 .weights.h5, a .keras zip, or an
// architecture-only JSON/YAML file (a model without weights). The format is
// told by content, not by extension. Weight data is not read: the model's
// weights read it on demand (see the package documentation).
//
// Errors are one line, starting with the file's path and naming the layer
// where one is at fault; layer errors wrap an *ir.LayerError.
func Load(path string, opts Options) (*ir.Model, error) {
	m, err := load(path, opts)
	if err != nil {
		return nil, wrapErr(path, err)
	}
	return m, nil
}

// LoadArch reads only the architecture of any file Load accepts that holds
// one (a full-model .h5, a .keras zip, JSON or YAML), without its weights.
// opts.Lambdas applies; the other options are ignored.
func LoadArch(path string, opts Options) (*ir.Model, error) {
	a, err := readArchFile(path)
	if err != nil {
		return nil, wrapErr(path, err)
	}
	g, major, err := buildArch(a, opts, "")
	if err != nil {
		return nil, wrapErr(path, err)
	}
	m, err := finish(g, a.meta(path, "", "", major), nil)
	if err != nil {
		return nil, wrapErr(path, err)
	}
	return m, nil
}

// ParseConfig builds the architecture in data, a Keras model config in
// JSON or YAML (to_json, to_yaml, a model_config attribute or a .keras
// config.json). source names it in errors and in the model's Meta.
func ParseConfig(data []byte, source string, opts Options) (*ir.Model, error) {
	top, err := parseText(data)
	if err != nil {
		return nil, wrapErr(source, err)
	}
	a := &arch{top: top, version: top.str("keras_version"), backend: top.str("backend"), format: "keras-json"}
	g, major, err := buildArch(a, opts, "")
	if err != nil {
		return nil, wrapErr(source, err)
	}
	m, err := finish(g, a.meta(source, "", "", major), nil)
	if err != nil {
		return nil, wrapErr(source, err)
	}
	return m, nil
}

// fileError is an error about one file.
type fileError struct {
	path, msg string
	err       error
}

func (e *fileError) Error() string { return e.path + ": " + e.msg }
func (e *fileError) Unwrap() error { return e.err }

// wrapErr makes err one line starting with path (unless it already names
// another file, as errors about an architecture file do).
func wrapErr(path string, err error) error {
	var fe *fileError
	if errors.As(err, &fe) {
		return err
	}
	// internal/h5 errors start with "h5: FILE: ".
	msg := strings.TrimPrefix(err.Error(), "h5: ")
	msg = strings.TrimPrefix(msg, path+": ")
	msg = strings.ReplaceAll(msg, "h5: "+path+": ", "")
	return &fileError{path: path, msg: oneLine(msg), err: err}
}

// renamedErr replaces a temporary file's path in err's message.
type renamedErr struct {
	err      error
	old, new string
}

func (e *renamedErr) Error() string {
	return strings.ReplaceAll(strings.ReplaceAll(e.err.Error(), "h5: "+e.old, e.new), e.old, e.new)
}
func (e *renamedErr) Unwrap() error { return e.err }

type fileKind int

const (
	kindText fileKind = iota
	kindHDF5
	kindZip
)

var hdf5Signature = []byte("\x89HDF\r\n\x1a\n")

// sniff tells a file's format by its first bytes: the HDF5 signature (at
// offset 0 or after a user block at 512, 1024, …), a zip header, or else
// text.
func sniff(path string) (fileKind, error) {
	f, st, err := regfile.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return 0, fmt.Errorf("cannot open: %v", pe.Err)
		}
		return 0, err
	}
	defer f.Close()
	if st.Size() == 0 {
		return 0, errors.New("empty file")
	}
	buf := make([]byte, 8)
	n, _ := f.ReadAt(buf, 0)
	switch {
	case bytes.Equal(buf[:n], hdf5Signature):
		return kindHDF5, nil
	case n >= 4 && (string(buf[:4]) == "PK\x03\x04" || string(buf[:4]) == "PK\x05\x06"):
		return kindZip, nil
	}
	for off := int64(512); off+8 <= st.Size(); off *= 2 {
		if n, _ := f.ReadAt(buf, off); n == 8 && bytes.Equal(buf, hdf5Signature) {
			return kindHDF5, nil
		}
	}
	return kindText, nil
}

// readText reads a whole text file of at most maxConfigSize bytes.
func readText(path string) ([]byte, error) {
	f, _, err := regfile.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("text file larger than %d MiB: not a Keras architecture", maxConfigSize>>20)
	}
	return data, nil
}

// arch is an architecture: a Keras config or a builtin model.
type arch struct {
	top     obj
	builtin *ir.Model
	version string // keras_version stated with the config
	backend string
	format  string
	path    string // the Options.Arch file it came from ("": the model's own)
}

// meta describes a model loaded from path (format and version of the
// weights file, when there is one, take precedence).
func (a *arch) meta(path, fileVersion, fileBackend string, major int) ir.Meta {
	m := ir.Meta{Format: a.format, Source: path, KerasVersion: fileVersion, Backend: fileBackend}
	if m.KerasVersion == "" {
		m.KerasVersion = a.version
	}
	if m.KerasVersion == "" && major > 0 {
		m.KerasVersion = fmt.Sprint(major) // guessed from the config's keys
	}
	if m.Backend == "" {
		m.Backend = a.backend
	}
	return m
}

// readArchFile reads the architecture of a JSON/YAML, full-model HDF5 or
// .keras file.
func readArchFile(path string) (*arch, error) {
	kind, err := sniff(path)
	if err != nil {
		return nil, err
	}
	switch kind {
	case kindHDF5:
		f, err := h5.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		root := f.Root()
		if !root.HasAttr("model_config") {
			return nil, errors.New("holds no architecture (no model_config attribute: a weights-only file)")
		}
		top, err := modelConfig(root)
		if err != nil {
			return nil, err
		}
		a := &arch{top: top, version: optAttr(root, "keras_version"), backend: optAttr(root, "backend"), format: "keras-h5"}
		if v := top.str("keras_version"); a.version == "" {
			a.version = v
		}
		return a, nil
	case kindZip:
		zr, err := openZip(path)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		return zr.arch()
	}
	data, err := readText(path)
	if err != nil {
		return nil, err
	}
	top, err := parseText(data)
	if err != nil {
		return nil, err
	}
	return &arch{top: top, version: top.str("keras_version"), backend: top.str("backend"), format: "keras-json"}, nil
}

// optAttr returns a string attribute, "" if absent or unreadable.
func optAttr(g *h5.Group, name string) string {
	if !g.HasAttr(name) {
		return ""
	}
	s, err := g.AttrString(name)
	if err != nil {
		return ""
	}
	return s
}

// modelConfig reads and decodes the model_config attribute.
func modelConfig(root *h5.Group) (obj, error) {
	s, err := root.AttrString("model_config")
	if err != nil {
		return nil, err
	}
	if len(s) > maxConfigSize {
		return nil, fmt.Errorf("model_config is larger than %d MiB", maxConfigSize>>20)
	}
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "{") {
		return nil, errors.New("model_config attribute is not JSON")
	}
	top, err := parseText([]byte(t))
	if err != nil {
		return nil, fmt.Errorf("model_config attribute: %v", err)
	}
	return top, nil
}

// optionArch resolves Options.Arch: a file if one exists, else a builtin.
func optionArch(opts Options) (*arch, error) {
	if st, err := os.Stat(opts.Arch); err == nil && !st.IsDir() {
		a, err := readArchFile(opts.Arch)
		if err != nil {
			return nil, wrapErr(opts.Arch, err)
		}
		a.path = opts.Arch
		return a, nil
	}
	if opts.ArchBuiltin != nil {
		m, err := opts.ArchBuiltin(opts.Arch)
		if err != nil {
			return nil, fmt.Errorf("architecture %q: %s", opts.Arch, oneLine(err.Error()))
		}
		if m == nil {
			return nil, fmt.Errorf("architecture %q: no such builtin", opts.Arch)
		}
		return &arch{builtin: m, version: m.Meta.KerasVersion, backend: m.Meta.Backend}, nil
	}
	return nil, fmt.Errorf("architecture %s: no such file", opts.Arch)
}

// buildArch builds the graph of an architecture. fileVersion is the
// keras_version of the file the config came with ("" if separate).
func buildArch(a *arch, opts Options, fileVersion string) (*graph, int, error) {
	if a.builtin != nil {
		g := graphOf(a.builtin, opts.Lambdas)
		return g, g.major, nil
	}
	major := majorOf(a.version)
	if major == 0 {
		major = majorOf(fileVersion)
	}
	if major == 0 {
		major = guessMajor(a.top)
	}
	g, err := buildGraph(a.top, major, opts.Lambdas)
	if err != nil && a.path != "" {
		// The architecture file is at fault.
		err = wrapErr(a.path, err)
	}
	return g, major, err
}

// graphOf wraps a builtin model (whose nodes are its layers) as a graph.
func graphOf(m *ir.Model, lambdas map[string]string) *graph {
	g := &graph{m: m, major: m.Meta.KerasMajor()}
	counters := map[string]int{}
	for _, n := range m.Nodes {
		if k1Classes[n.Class] && g.major == 0 {
			g.major = 1
		}
		if _, ok := n.Op.(*ir.Input); ok {
			continue
		}
		if l, ok := n.Op.(*ir.Lambda); ok && lambdas[n.Name] != "" {
			l.Function = lambdas[n.Name]
		}
		nr := &nodeRec{node: n, kname: n.Name, k3path: "layers/" + k3key(counters, n.Class), k1: k1Classes[n.Class]}
		g.top = append(g.top, &layerRec{name: n.Name, nodes: []*nodeRec{nr}})
	}
	return g
}

// finish infers shapes, attaches weights (attach, when not nil) and runs
// ir.Prepare.
func finish(g *graph, meta ir.Meta, attach func() error) (*ir.Model, error) {
	m := g.m
	if g.m.Meta.Sequential {
		meta.Sequential = true
	}
	if m.Name == "" {
		m.Name = "model"
	}
	m.Meta = meta
	if err := ir.RunPasses(m, ir.PassOrder, ir.PassInfer); err != nil {
		return nil, err
	}
	if changed, err := fixDeconvs(g); err != nil {
		return nil, err
	} else if changed {
		if err := ir.RunPasses(m, ir.PassInfer); err != nil {
			return nil, err
		}
	}
	if attach != nil {
		if err := attach(); err != nil {
			return nil, err
		}
	}
	if err := ir.Prepare(m); err != nil {
		return nil, err
	}
	return m, nil
}

func flipMode(s string) (string, error) {
	switch s {
	case "", "auto":
		return "auto", nil
	case "on", "off":
		return s, nil
	}
	return "", fmt.Errorf("TheanoFlip must be auto, on or off, not %q", s)
}

func load(path string, opts Options) (*ir.Model, error) {
	flip, err := flipMode(opts.TheanoFlip)
	if err != nil {
		return nil, err
	}
	kind, err := sniff(path)
	if err != nil {
		return nil, err
	}
	switch kind {
	case kindHDF5:
		return loadH5(path, opts, flip)
	case kindZip:
		return loadZip(path, opts, flip)
	}
	data, err := readText(path)
	if err != nil {
		return nil, err
	}
	top, err := parseText(data)
	if err != nil {
		return nil, err
	}
	a := &arch{top: top, version: top.str("keras_version"), backend: top.str("backend"), format: "keras-json"}
	g, major, err := buildArch(a, opts, "")
	if err != nil {
		return nil, err
	}
	return finish(g, a.meta(path, "", "", major), nil)
}

// loadH5 loads an HDF5 file: a full model (model_config, model_weights),
// a Keras 1/2 weights-only file (root layer_names) or a Keras 3
// .weights.h5 (layers/<key>/vars).
func loadH5(path string, opts Options, flip string) (*ir.Model, error) {
	f, err := h5.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	root := f.Root()
	version, backend := optAttr(root, "keras_version"), optAttr(root, "backend")
	var wg *h5.Group
	k3 := false
	switch {
	case root.IsGroup("model_weights"):
		if wg, err = root.Group("model_weights"); err != nil {
			return nil, err
		}
		if version == "" {
			version = optAttr(wg, "keras_version")
		}
		if backend == "" {
			backend = optAttr(wg, "backend")
		}
	case root.HasAttr("layer_names") || root.HasAttr("layer_names0"):
		wg = root
	case root.IsGroup("layers"):
		k3 = true
	}
	var a *arch
	sameFile := false
	switch {
	case opts.Arch != "":
		if a, err = optionArch(opts); err != nil {
			return nil, err
		}
	case root.HasAttr("model_config"):
		top, err := modelConfig(root)
		if err != nil {
			return nil, err
		}
		a = &arch{top: top, version: top.str("keras_version"), backend: top.str("backend")}
		sameFile = true
	}
	if a == nil {
		if wg == nil && !k3 {
			return nil, errors.New("not a Keras HDF5 file (no model_config, layer_names or layers/)")
		}
		return nil, errors.New("weights-only file: it holds no architecture; give one with Options.Arch (--arch FILE or a builtin name)")
	}
	a.format = "keras-h5"
	fv := ""
	if sameFile {
		fv = version
	}
	g, major, err := buildArch(a, opts, fv)
	if err != nil {
		return nil, err
	}
	meta := a.meta(path, version, backend, major)
	if wg == nil && !k3 {
		// model_config without weights.
		return finish(g, meta, nil)
	}
	st := &h5Store{path: path}
	at := &attacher{label: path, st: st}
	var layers []fileLayer
	if !k3 {
		if layers, err = readLegacy(wg); err != nil {
			return nil, err
		}
	}
	wmajor := majorOf(version)
	if wmajor == 0 {
		wmajor = major
	}
	switch flip {
	case "on":
		at.flip = true
	case "auto":
		if !k3 && wmajor < 3 {
			if backend == "theano" {
				at.flip = true
				g.m.Warnings = append(g.m.Warnings, "convolution kernels flipped: the file was written with the Theano backend")
			} else if wmajor == 1 && namesLackColon(layers) {
				at.flip = true
				g.m.Warnings = append(g.m.Warnings, "convolution kernels flipped: Keras 1 weight names without ':0' come from Theano")
			}
		}
	}
	m, err := finish(g, meta, func() error {
		if k3 {
			return at.attachK3(g, root)
		}
		return at.attachLegacy(g, layers)
	})
	if err != nil {
		return nil, err
	}
	st.pending = at.n
	m.Warnings = append(m.Warnings, at.warn...)
	return m, nil
}

// namesLackColon reports whether a file has weights and none of their
// names has TensorFlow's ":0" suffix (Keras 1 on Theano).
func namesLackColon(layers []fileLayer) bool {
	n := 0
	for _, l := range layers {
		for _, w := range l.weights {
			if strings.Contains(w.name, ":") {
				return false
			}
			n++
		}
	}
	return n > 0
}
