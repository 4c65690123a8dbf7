package gitstore

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/promptreg/promptreg/registry"
)

// SeedAuthor is the author and committer of the commit Seed makes.
var SeedAuthor = object.Signature{Name: "promptreg", Email: "promptreg@localhost"}

// Seed makes repoPath a Git repository holding the files of seedDir, unless
// it is one already. When repoPath does not exist or is an empty directory,
// it creates a working (non-bare) repository there on branch ("" for
// "main") with seedDir's regular files (not symlinks, not .git) committed
// as "Seed prompt repository from <seedDir>" by SeedAuthor, and reports
// created. When repoPath is already a Git repository it does nothing. The
// repository is built beside repoPath and renamed into place, so an
// interrupted Seed leaves nothing half-made. Errors: EINVALID when repoPath
// exists and is neither a Git repository nor an empty directory, or seedDir
// is not a directory.
func Seed(repoPath, seedDir, branch string) (created bool, err error) {
	if branch == "" {
		branch = DefaultBranch
	}
	ref := plumbing.NewBranchReferenceName(branch)
	if err := ref.Validate(); err != nil {
		return false, &registry.Error{Code: registry.EINVALID, Message: fmt.Sprintf("seed: invalid branch name %q", branch), Err: err}
	}
	if fi, err := os.Stat(seedDir); err != nil || !fi.IsDir() {
		return false, &registry.Error{Code: registry.EINVALID, Message: fmt.Sprintf("seed: %s is not a directory", seedDir), Err: err}
	}
	repoPath, err = filepath.Abs(repoPath)
	if err != nil {
		return false, &registry.Error{Code: registry.EINVALID, Message: "seed: invalid repository path", Err: err}
	}

	emptyDir := false
	switch fi, err := os.Stat(repoPath); {
	case os.IsNotExist(err):
	case err != nil:
		return false, internal("seed "+repoPath, err)
	case !fi.IsDir():
		return false, registry.Errorf(registry.EINVALID, "seed: %s exists and is not a directory", repoPath)
	default:
		if _, err := git.PlainOpen(repoPath); err == nil {
			return false, nil
		}
		entries, err := os.ReadDir(repoPath)
		if err != nil {
			return false, internal("seed "+repoPath, err)
		}
		if len(entries) > 0 {
			return false, registry.Errorf(registry.EINVALID, "seed: %s is neither a git repository nor an empty directory", repoPath)
		}
		emptyDir = true
	}

	parent := filepath.Dir(repoPath)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return false, internal("seed "+repoPath, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(repoPath)+".seed-")
	if err != nil {
		return false, internal("seed "+repoPath, err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	if err := seedRepo(tmp, seedDir, ref); err != nil {
		return false, internal("seed "+repoPath, err)
	}
	if emptyDir {
		if err := os.Remove(repoPath); err != nil {
			return false, internal("seed "+repoPath, err)
		}
	}
	if err := os.Rename(tmp, repoPath); err != nil {
		return false, internal("seed "+repoPath, err)
	}
	return true, nil
}

// seedRepo initializes a working repository in dir on branch and commits
// the files of seedDir into it.
func seedRepo(dir, seedDir string, branch plumbing.ReferenceName) error {
	repo, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: branch},
	})
	if err != nil {
		return err
	}
	if err := copyTree(seedDir, dir); err != nil {
		return err
	}
	wt, err := repo.Worktree()
	if err != nil {
		return err
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return fmt.Errorf("add files: %w", err)
	}
	sig := SeedAuthor
	sig.When = time.Now()
	_, err = wt.Commit("Seed prompt repository from "+seedDir, &git.CommitOptions{
		Author:            &sig,
		Committer:         &sig,
		AllowEmptyCommits: true,
	})
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// copyTree copies the regular files under src to dst, keeping their
// relative paths and permission bits, skipping .git directories and
// anything that is not a regular file or a directory.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		switch {
		case d.IsDir() && d.Name() == ".git":
			return filepath.SkipDir
		case d.IsDir():
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		case !d.Type().IsRegular():
			return nil
		}
		return copyFile(p, filepath.Join(dst, rel))
	})
}

func copyFile(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if _, err := io.Copy(out, in); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return nil
}
