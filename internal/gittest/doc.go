// Package gittest builds small Git repositories for tests with the git
// command-line tool: a working repository in t.TempDir() on branch main that a
// test writes files into, commits, tags and force-moves, and that the code
// under test reads through a local path or a file:// URL.
//
// Every git command runs with a fixed author and committer, dates that
// advance one minute per commit from 2024-01-01 (so commit shas are the same
// on every run), and without the user's global or system configuration.
//
// A test whose tool is missing (no git binary) is skipped on a developer's
// machine but fails under CI=true: see MissingTool.
package gittest
