package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/promptreg/promptreg/registry"
)

// wantUnwritable checks that err is the EUNAVAILABLE error of a file that
// cannot be written, whose text contains each of parts.
func wantUnwritable(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error, want one saying the database cannot be written")
	}
	if got, want := registry.ErrorCode(err), registry.EUNAVAILABLE; got != want {
		t.Errorf("code %q, want %q (%v)", got, want, err)
	}
	if !errors.Is(err, ErrUnwritable) {
		t.Errorf("errors.Is(%v, ErrUnwritable) = false, want true", err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not say %q", err, p)
		}
	}
}

// TestReadOnlyWriterConnection checks the reconnection in-process, as any
// user: PRAGMA query_only on the writer's connection makes every write on it
// fail with SQLITE_READONLY for as long as the connection lives, which is
// what a connection opened while the file was read-only does (SQLite opens
// such a connection read-only and never upgrades it). It is a simulation;
// TestUnwritableFile makes the file itself read-only.
func TestReadOnlyWriterConnection(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer
	s, err := Open(ctx, Options{Path: dbPath(t), Logger: logTo(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The writer pool has one connection: this is the one writes use.
	if _, err := s.writer.ExecContext(ctx, "PRAGMA query_only = 1"); err != nil {
		t.Fatal(err)
	}
	move := registry.RefMove{Environment: "production", To: sha("a"), Via: "poll"}
	_, err = s.RecordRefMove(ctx, move)
	wantUnwritable(t, err, "record move of production: database cannot be written", s.path)
	wantUnwritable(t, s.Health())

	if _, err := s.RecordRefMove(ctx, move); err != nil {
		t.Fatalf("the write after a read-only failure: %v, want it to succeed on a new connection", err)
	}
	if err := s.Health(); err != nil {
		t.Errorf("Health after a write succeeded: %v, want nil", err)
	}
	if got, err := s.RefMoves(ctx, registry.RefMoveQuery{}); err != nil || len(got) != 1 {
		t.Errorf("RefMoves = %d moves, %v; want 1", len(got), err)
	}
	for _, want := range []string{"level=ERROR msg=\"database cannot be written", "level=INFO msg=\"database writable again"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log does not say %q:\n%s", want, logs.String())
		}
	}
}

// TestReaderConnectionDiscarded checks that a read failing with an error of
// the unwritable class (a real one, SQLITE_CANTOPEN or SQLITE_IOERR, cannot
// be caused on demand: fn returns one of that class) discards its
// connection, with the read's transaction ended first, and is not kept for
// Health, which is about writes.
func TestReaderConnectionDiscarded(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	if err := s.read(ctx, "warm up", func(*sql.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if got := s.reader.Stats().OpenConnections; got != 1 {
		t.Fatalf("%d reader connections open, want 1", got)
	}
	err := s.read(ctx, "load index of main", func(*sql.Tx) error {
		return &causeError{ErrUnwritable, errors.New("disk I/O error")}
	})
	wantUnwritable(t, err, "load index of main: database cannot be read", s.path)
	if got := s.reader.Stats().OpenConnections; got != 0 {
		t.Errorf("%d reader connections open after the failure, want 0 (discarded)", got)
	}
	if err := s.Health(); err != nil {
		t.Errorf("Health after a failed read: %v, want nil", err)
	}
	if _, err := s.RefMoves(ctx, registry.RefMoveQuery{}); err != nil {
		t.Errorf("the next read: %v", err)
	}
}

// TestUnwritableFile makes the database file read-only with chmod, as an
// operator's mistake or a restore does, and checks that the store serves
// what it holds, that writes fail with ErrUnwritable naming the cause, and
// that they succeed again on the same Store once the files are writable.
//
// Root ignores file permissions, so as root the test runs itself again as
// user nobody (uid 65534) in a child process, from a copy of the test
// binary that nobody can read; it is skipped if that cannot be done.
func TestUnwritableFile(t *testing.T) {
	if os.Geteuid() == 0 {
		runAsNobody(t, "TestUnwritableFile")
		return
	}
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "promptreg.db")
	s := openAt(t, path, nil)
	if err := s.ApplyIndex(ctx, "main", &registry.IndexBatch{Commits: commits("main", 1, 3)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordRefMove(ctx, registry.RefMove{Environment: "production", To: sha("a"), Via: "poll"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	chmod := func(mode os.FileMode, paths ...string) {
		t.Helper()
		for _, p := range paths {
			if err := os.Chmod(p, mode); err != nil {
				t.Fatal(err)
			}
		}
	}

	t.Run("a read-only file opens, serves reads, and takes writes once writable", func(t *testing.T) {
		chmod(0o444, path)
		s, err := Open(ctx, Options{Path: path})
		if err != nil {
			t.Fatalf("Open of a read-only, migrated file: %v", err)
		}
		defer s.Close()
		st, err := s.LoadIndex(ctx, "main")
		if err != nil || len(st.Commits) != 3 {
			t.Fatalf("LoadIndex: %v, %v; want the 3 commits", st, err)
		}

		move := registry.RefMove{Environment: "production", To: sha("b"), Via: "poll"}
		_, err = s.RecordRefMove(ctx, move)
		wantUnwritable(t, err, path+" is read-only")

		// SQLite created the -shm file (and the -wal file, if it got
		// that far) with the database file's mode: it stays read-only
		// when the database file is made writable.
		chmod(0o644, path)
		_, err = s.RecordRefMove(ctx, move)
		wantUnwritable(t, err, path+"-shm is read-only")
		wantUnwritable(t, s.Health())

		chmod(0o644, path+"-shm")
		if _, err := os.Stat(path + "-wal"); err == nil {
			chmod(0o644, path+"-wal")
		}
		if _, err := s.RecordRefMove(ctx, move); err != nil {
			t.Fatalf("write once the files are writable: %v, want it to succeed without a restart", err)
		}
		if err := s.ApplyIndex(ctx, "main", &registry.IndexBatch{Base: 3, Commits: commits("main", 4, 4)}); err != nil {
			t.Fatalf("ApplyIndex once the files are writable: %v", err)
		}
		if err := s.Health(); err != nil {
			t.Errorf("Health: %v, want nil", err)
		}
		// The readers opened while the file was read-only see the writes.
		moves, err := s.RefMoves(ctx, registry.RefMoveQuery{})
		if err != nil || len(moves) != 2 {
			t.Errorf("RefMoves: %d moves, %v; want 2", len(moves), err)
		}
		if st, err := s.LoadIndex(ctx, "main"); err != nil || len(st.Commits) != 4 {
			t.Errorf("LoadIndex: %v, %v; want 4 commits", st, err)
		}
	})

	t.Run("a read-only directory without -wal and -shm files cannot be opened", func(t *testing.T) {
		// The previous subtest's Close removed them.
		for _, p := range []string{path + "-wal", path + "-shm"} {
			if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("%s: %v, want it gone", p, err)
			}
		}
		chmod(0o555, dir)
		defer chmod(0o755, dir)
		s, err := Open(ctx, Options{Path: path})
		if err == nil {
			s.Close()
			t.Fatal("Open succeeded, want an error")
		}
		if got, want := registry.ErrorCode(err), registry.EINTERNAL; got != want {
			t.Errorf("code %q, want %q (%v)", got, want, err)
		}
		if !errors.Is(err, ErrUnwritable) {
			t.Errorf("errors.Is(%v, ErrUnwritable) = false, want true", err)
		}
		if want := dir + " is read-only"; !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	})
}

// runAsNobody runs test (a test of this package) in a child process as
// user nobody and fails if it fails there.
func runAsNobody(t *testing.T, test string) {
	t.Helper()
	const nobody = 65534
	// A directory nobody can read and search, holding a copy of this
	// test binary and a temporary directory of nobody's own.
	dir, err := os.MkdirTemp("", "promptreg-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(tmp, nobody, nobody); err != nil {
		skipOutsideCI(t, "cannot give a directory to nobody: %v", err)
	}
	bin := filepath.Join(dir, "sqlite.test")
	if err := copyFile(os.Args[0], bin, 0o755); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin, "-test.run=^"+test+"$", "-test.count=1", "-test.v")
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	if errors.Is(err, syscall.EPERM) {
		skipOutsideCI(t, "cannot run as nobody: %v", err)
	}
	t.Logf("as nobody:\n%s", out)
	if err != nil {
		t.Fatalf("%s as nobody: %v", test, err)
	}
	if !bytes.Contains(out, []byte("--- PASS: "+test)) {
		t.Fatalf("%s did not pass as nobody", test)
	}
}

// skipOutsideCI skips the test, except under CI (CI=true), where not being
// able to run it is a failure: CI runs as root, which this test needs.
func skipOutsideCI(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// copyFile copies the file from to a new file to with mode perm.
func copyFile(from, to string, perm os.FileMode) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}
