// Package gittest builds small Git repositories in t.TempDir() for tests, with
// the git command-line tool, and serves them over smart HTTP on 127.0.0.1.
//
// A test writes files into a working repository on branch main, commits,
// tags and force-moves, and the code under test reads it through a local
// path, a file:// URL or Repo.Serve's http:// URL.
//
// Every git command runs with a fixed author and committer, dates that
// advance one minute per commit from 2024-01-01 (so commit shas are the same
// on every run), and without the user's global or system configuration.
//
// A test whose tool is missing (no git binary) is skipped on a developer's
// machine but fails under CI=true: see MissingTool.
package gittest
