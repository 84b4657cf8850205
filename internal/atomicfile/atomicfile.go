// Package atomicfile writes files so that readers never see half a file and
// an existing file is never replaced by accident: data goes to a temporary
// file in the destination's folder, which is renamed over the destination
// only when complete.
//
// Without force, the final step is a create-without-replace done by the
// operating system (renameat2 with RENAME_NOREPLACE on Linux, else link
// then unlink of the temporary name), not a check followed by a rename, so
// of two writers racing to create the same new file exactly one wins and
// the other gets ErrExists.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrExists is returned when the destination exists and force is false.
var ErrExists = errors.New("file exists (use --force to replace it)")

// Write calls fill with the path of a temporary file in dst's folder, then
// renames it to dst. Without force an existing dst is left alone and
// ErrExists returned. On any error the temporary file is removed.
func Write(dst string, force bool, fill func(tmp string) error) (err error) {
	if !force {
		// Fail early (before the work of fill) when dst exists; the
		// decisive check is the no-replace rename at the end.
		if _, err := os.Lstat(dst); err == nil {
			return fmt.Errorf("%s: %w", dst, ErrExists)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	dir := filepath.Dir(dst)
	f, err := os.CreateTemp(dir, "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return fmt.Errorf("%s: %w", dst, unwrapPath(err))
	}
	tmp := f.Name()
	f.Close()
	defer func() {
		if err != nil {
			os.Remove(tmp)
			err = renamePath(err, tmp, dst)
		}
	}()
	if err = fill(tmp); err != nil {
		return err
	}
	if err = os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	if force {
		return os.Rename(tmp, dst)
	}
	if err = renameNoReplace(tmp, dst); errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s: %w", dst, ErrExists)
	}
	return err
}

// linkNoReplace makes dst a hard link to tmp (failing if dst exists), then
// removes tmp.
func linkNoReplace(tmp, dst string) error {
	if err := os.Link(tmp, dst); err != nil {
		return err
	}
	return os.Remove(tmp)
}

// renamePath rewrites a path error about the temporary file tmp to name
// dst, the path the user gave: the hidden name means nothing to them.
func renamePath(err error, tmp, dst string) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == tmp {
		return fmt.Errorf("%s: %w", dst, pe.Err)
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return fmt.Errorf("%s: %w", dst, le.Err)
	}
	return err
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// WriteBytes writes data to dst atomically.
func WriteBytes(dst string, force bool, data []byte) error {
	return Write(dst, force, func(tmp string) error { return os.WriteFile(tmp, data, 0o644) })
}
