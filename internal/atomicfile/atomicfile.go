// Package atomicfile writes files so that readers never see half a file and
// an existing file is never replaced by accident: data goes to a temporary
// file in the destination's folder, which is renamed over the destination
// only when complete.
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
		if _, err := os.Lstat(dst); err == nil {
			return fmt.Errorf("%s: %w", dst, ErrExists)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	dir := filepath.Dir(dst)
	f, err := os.CreateTemp(dir, "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	f.Close()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if err = fill(tmp); err != nil {
		return err
	}
	if !force {
		// Re-check just before the rename: a file that appeared meanwhile
		// is not ours to replace.
		if _, err = os.Lstat(dst); err == nil {
			return fmt.Errorf("%s: %w", dst, ErrExists)
		}
	}
	if err = os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// WriteBytes writes data to dst atomically.
func WriteBytes(dst string, force bool, data []byte) error {
	return Write(dst, force, func(tmp string) error { return os.WriteFile(tmp, data, 0o644) })
}
