//go:build linux

package atomicfile

import (
	"errors"

	"golang.org/x/sys/unix"
)

// renameNoReplace renames tmp to dst unless dst exists, atomically: the
// kernel's renameat2 with RENAME_NOREPLACE, or, on file systems without it,
// link and unlink.
func renameNoReplace(tmp, dst string) error {
	err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dst, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.ENOTSUP) {
		return linkNoReplace(tmp, dst)
	}
	return err
}
