//go:build !linux

package atomicfile

// renameNoReplace renames tmp to dst unless dst exists, atomically, by
// link and unlink (link fails if dst exists).
func renameNoReplace(tmp, dst string) error { return linkNoReplace(tmp, dst) }
