package genrepo

import (
	"bufio"
	"compress/gzip"
	"encoding/gob"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// statePath is where the generator keeps its state: inside the .git
// directory, so that it is part of no commit and invisible to a server
// reading the repository (and absent from its clones).
func statePath(dir string) string {
	return filepath.Join(dir, ".git", "genrepo", "state.gob.gz")
}

// ErrNoState is returned by Append for a repository without the generator's
// state: one genrepo did not make, or a clone of one.
var ErrNoState = errors.New("genrepo: no generator state (.git/genrepo/state.gob.gz); was this repository made by genrepo?")

func saveState(dir string, st *state) (err error) {
	p := statePath(dir)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), "state-*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	zw, err := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	if err != nil {
		return err
	}
	if err := gob.NewEncoder(zw).Encode(st); err != nil {
		return fmt.Errorf("genrepo: save state: %w", err)
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}

func loadState(dir string) (*state, error) {
	f, err := os.Open(statePath(dir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoState
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("genrepo: load state: %w", err)
	}
	var st state
	if err := gob.NewDecoder(zr).Decode(&st); err != nil {
		return nil, fmt.Errorf("genrepo: load state: %w", err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("genrepo: state format %d, this generator reads %d: generate the repository again", st.Version, stateVersion)
	}
	return &st, nil
}
