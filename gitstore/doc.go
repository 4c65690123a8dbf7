// Package gitstore is promptreg's Git adapter: it implements registry.Source
// with go-git.
//
// A Store owns one bare clone, Dir/repo.git, of the prompt repository, whatever
// --repo names: a local working repository, a bare repository, or a remote URL
// (file://, https:// with a token, ssh:// or git@host:path with a key and a
// known_hosts file). Fetch brings every branch and tag of the remote into it
// (moved tags and force-pushed branches follow, deleted ones are pruned); the
// read methods serve refs, commits, trees and blobs from it. The user's own
// repository is never written to.
//
// go-git is not safe for concurrent use, even for reads, so every access to the
// clone goes through the Store's lock: reads share it, Fetch and repacking
// hold it exclusively (and Fetch takes it only when the remote's refs differ
// from the clone's, so a poll that finds nothing new never blocks a reader).
//
// The clone survives the process being killed at any moment: go-git writes a
// fetched pack to a temporary file and renames it before it moves any ref, and
// Open removes what an interrupted run can leave behind (temporary packs, an
// index without its pack, an empty or dangling ref file) before it serves.
//
// Seed turns a folder of files into a new Git repository; `make run` uses it
// on the bundled examples.
package gitstore
