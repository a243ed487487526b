package vaulttest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Stamp is the hash of tools/vaultbin (its .go files, go.mod and go.sum)
// that scripts/vault.sh writes next to the binary it builds: `find . -type f
// ... | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16`, run in
// tools/vaultbin. It looks for tools/vaultbin from the working directory up.
func Stamp() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	var src string
	for {
		if st, err := os.Stat(filepath.Join(dir, "tools", "vaultbin", "go.mod")); err == nil && !st.IsDir() {
			src = filepath.Join(dir, "tools", "vaultbin")
			break
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("no tools/vaultbin above the working directory")
		}
		dir = up
	}
	var files []string
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if n := d.Name(); strings.HasSuffix(n, ".go") || n == "go.mod" || n == "go.sum" {
			rel, err := filepath.Rel(src, p)
			if err != nil {
				return err
			}
			files = append(files, "./"+filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(files) // byte order, as LC_ALL=C sort
	var list strings.Builder
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(src, filepath.FromSlash(f)))
		if err != nil {
			return "", err
		}
		sum := sha256.Sum256(b)
		fmt.Fprintf(&list, "%s  %s\n", hex.EncodeToString(sum[:]), f)
	}
	sum := sha256.Sum256([]byte(list.String()))
	return hex.EncodeToString(sum[:])[:16], nil
}
