package gitstore

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// initSuffix marks the temporary directory a new clone is initialized in.
const initSuffix = ".init-"

// removeStaleInits removes the temporary directories of clone
// initializations a crash interrupted.
func removeStaleInits(dir string, log *slog.Logger) {
	stale, _ := filepath.Glob(filepath.Join(dir, cloneName+initSuffix+"*"))
	for _, p := range stale {
		log.Warn("removing interrupted clone initialization", "path", p)
		os.RemoveAll(p)
	}
}

// repair removes from the clone at path what a process killed mid-fetch,
// mid-repack or mid-ref-update can leave behind and go-git cannot read past:
// temporary packs and objects, a pack index without its pack (or the
// reverse), and ref files that are empty or garbled (go-git rewrites a ref
// file in place, so a kill can leave it empty, and one unreadable ref file
// makes listing refs fail). A ref it removes comes back with the next Fetch.
// It runs before go-git opens the clone.
func repair(path string, log *slog.Logger) {
	packDir := filepath.Join(path, "objects", "pack")
	entries, _ := os.ReadDir(packDir)
	have := map[string]bool{}
	for _, e := range entries {
		have[e.Name()] = true
	}
	for _, e := range entries {
		name := e.Name()
		var why string
		switch {
		case strings.HasPrefix(name, "tmp_"):
			why = "temporary file of an interrupted fetch"
		case strings.HasSuffix(name, ".idx") && !have[strings.TrimSuffix(name, ".idx")+".pack"]:
			why = "pack index without its pack"
		case strings.HasSuffix(name, ".pack") && !have[strings.TrimSuffix(name, ".pack")+".idx"]:
			why = "pack without its index"
		default:
			continue
		}
		log.Warn("git clone repair: removing "+why, "file", filepath.Join(packDir, name))
		os.Remove(filepath.Join(packDir, name))
	}
	tmps, _ := filepath.Glob(filepath.Join(path, "._packed-refs*"))
	for _, p := range tmps {
		log.Warn("git clone repair: removing temporary file of an interrupted ref update", "file", p)
		os.Remove(p)
	}

	refsDir := filepath.Join(path, "refs")
	filepath.WalkDir(refsDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil || validRefFile(data) {
			return nil
		}
		log.Warn("git clone repair: removing unreadable ref file", "file", p, "content", string(bytes.TrimSpace(data)))
		os.Remove(p)
		return nil
	})
	if data, err := os.ReadFile(filepath.Join(path, "HEAD")); err == nil && !validRefFile(data) {
		log.Warn("git clone repair: rewriting unreadable HEAD", "content", string(bytes.TrimSpace(data)))
		os.WriteFile(filepath.Join(path, "HEAD"), []byte("ref: refs/heads/"+DefaultBranch+"\n"), 0o644)
	}
}

// validRefFile reports whether data is a ref file go-git can read: a sha or
// a "ref: " line.
func validRefFile(data []byte) bool {
	line := strings.TrimSpace(string(data))
	if strings.HasPrefix(line, "ref: ") {
		return len(line) > len("ref: ")
	}
	if len(line) != 40 {
		return false
	}
	_, err := hex.DecodeString(line)
	return err == nil
}

// removeDanglingRefs removes the branches and tags whose object the clone
// does not have (possible only after a crash of the machine, not just of
// the process); the next Fetch brings them back.
func removeDanglingRefs(st *filesystem.Storage, log *slog.Logger) error {
	refs, err := listRefs(st)
	if err != nil {
		return err
	}
	for _, ref := range refs {
		err := st.HasEncodedObject(ref.Hash())
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			log.Warn("git clone repair: removing ref to a missing object", "ref", ref.Name(), "object", ref.Hash())
			err = st.RemoveReference(ref.Name())
		}
		if err != nil {
			return err
		}
	}
	return nil
}
