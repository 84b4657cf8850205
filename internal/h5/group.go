package h5

// #include "shim.h"
import "C"

import "fmt"

// Group is a group of an open File.
type Group struct {
	f    *File
	path string
}

// object kinds
const (
	kindNone = iota
	kindGroup
	kindDataset
	kindOther
	kindBroken    // the links exist but the object cannot be opened
	kindForbidden // a link on the path is not a hard link (see linkKind)
)

// kind reports what the absolute path p names, and for kindForbidden why.
// Every link along p is checked in turn, so a missing part anywhere gives
// kindNone rather than an error. After kindBroken, the libhdf5 error stack
// holds the reason. Callers hold mu.
func (f *File) kind(p string) (int, string) {
	if f.f == nil {
		return kindNone, ""
	}
	return linkKind(f.id, p)
}

// linkKind is File.kind for the file fid.
//
// It checks the type of each link along p before following it, and stops
// at the first link that is not a hard link: a soft link may point
// anywhere in the file (and build cycles), an external link opens another
// file, and a user-defined link runs code nobody reviewed. Keras' own
// files only ever use hard links, so kconv refuses the others (as Keras 3
// does) rather than read something other than the file the user named.
func linkKind(fid C.hid_t, p string) (int, string) {
	if p == "/" {
		return kindGroup, ""
	}
	for i := 1; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		cs := cstr(p[:i])
		ok := C.H5Lexists(fid, cs, C.H5P_DEFAULT)
		var lt C.int = C.H5L_TYPE_HARD
		if ok > 0 {
			lt = C.kc_link_type(fid, cs)
		}
		free(cs)
		if ok <= 0 {
			return kindNone, ""
		}
		switch lt {
		case C.H5L_TYPE_HARD:
		case C.H5L_TYPE_SOFT:
			return kindForbidden, p[:i] + " is a soft link; kconv follows only hard links"
		case C.H5L_TYPE_EXTERNAL:
			return kindForbidden, p[:i] + " is an external link to another file; kconv reads only the file named"
		default:
			return kindForbidden, fmt.Sprintf("%s is a link of type %d; kconv follows only hard links", p[:i], int(lt))
		}
	}
	cs := cstr(p)
	defer free(cs)
	o := C.H5Oopen(fid, cs, C.H5P_DEFAULT)
	if o < 0 {
		return kindBroken, "" // the error stack is kept
	}
	defer C.H5Oclose(o)
	switch C.H5Iget_type(o) {
	case C.H5I_GROUP:
		return kindGroup, ""
	case C.H5I_DATASET:
		return kindDataset, ""
	default:
		return kindOther, ""
	}
}

// Path returns the absolute path of the group.
func (g *Group) Path() string { return g.path }

// File returns the file of the group.
func (g *Group) File() *File { return g.f }

// Has reports whether rel, a path relative to g, names an object.
func (g *Group) Has(rel string) bool {
	lock()
	defer unlock()
	k, _ := g.f.kind(objPath(g.path, rel))
	return k != kindNone && k != kindBroken
}

// IsGroup reports whether rel, a path relative to g, names a group. It
// also reports true for a path through a link kconv refuses to follow
// (what it leads to is unknown), so that callers go on to Group, which
// returns the refusal, rather than treat the object as absent.
func (g *Group) IsGroup(rel string) bool {
	lock()
	defer unlock()
	k, _ := g.f.kind(objPath(g.path, rel))
	return k == kindGroup || k == kindForbidden
}

// IsDataset reports whether rel, a path relative to g, names a dataset. Like
// IsGroup, it reports true for a path through a refused link, so that
// Dataset reports the refusal.
func (g *Group) IsDataset(rel string) bool {
	lock()
	defer unlock()
	k, _ := g.f.kind(objPath(g.path, rel))
	return k == kindDataset || k == kindForbidden
}

// Group returns the group at rel, a path relative to g.
func (g *Group) Group(rel string) (*Group, error) {
	p := objPath(g.path, rel)
	lock()
	defer unlock()
	if err := g.f.check(p); err != nil {
		return nil, err
	}
	switch k, why := g.f.kind(p); k {
	case kindGroup:
		return &Group{f: g.f, path: p}, nil
	case kindNone:
		return nil, newError(g.f.path, p, "group %w", ErrNotFound)
	case kindForbidden:
		return nil, newError(g.f.path, p, "%w: %s", ErrRefused, why)
	case kindBroken:
		return nil, libError(g.f.path, p, "cannot open object")
	default:
		return nil, newError(g.f.path, p, "not a group")
	}
}

// Children returns the names of the links in g, in increasing name order
// (byte-wise, so "dense_10" sorts before "dense_2").
func (g *Group) Children() ([]string, error) {
	lock()
	defer unlock()
	if err := g.f.check(g.path); err != nil {
		return nil, err
	}
	grp, err := g.f.f.OpenGroup(g.path)
	if err != nil {
		return nil, libError(g.f.path, g.path, "cannot open group")
	}
	defer grp.Close()
	n, err := grp.NumObjects()
	if err != nil {
		return nil, libError(g.f.path, g.path, "cannot count links")
	}
	names := make([]string, 0, min(n, 1<<12)) // n may be forged
	for i := uint(0); i < n; i++ {
		name, err := grp.ObjectNameByIndex(i)
		if err != nil {
			return nil, libError(g.f.path, g.path, "cannot get link name %d", i)
		}
		names = append(names, name)
	}
	return names, nil
}
