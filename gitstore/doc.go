// Package gitstore is promptreg's Git adapter: it owns the server's bare clone
// of the prompt repository and reads, fetches, repairs and commits to it.
//
// A Store owns one bare clone, Dir/repo.git, of the prompt repository, whatever
// --repo names: a local working repository, a bare repository, or a remote URL
// (file://, https:// with a token, ssh:// or git@host:path with a key and a
// known_hosts file). Fetch brings every branch and tag of the remote into it
// (moved tags and force-pushed branches follow, deleted ones are pruned);
// FetchRef brings one more ref (refs/pull/12/head); the read methods serve
// refs, commits, trees and blobs from it. The remote is written to only by
// CommitAndPush (commit.go), the Git side of API writes: a commit built along
// the changed paths, pushed only onto the branch head it was built on.
//
// The clone is not only a cache of the remote: Keep holds, under
// refs/promptreg/keep/, commits that introduced prompt versions and that a
// force-push dropped from the remote. Only the clone has them.
//
// go-git is not safe for concurrent use, even for reads, so every access to the
// clone goes through the Store's lock: reads share it; publishing a fetch,
// Keep and repacking hold it exclusively, briefly. No network I/O happens
// under it: a fetch lists the remote's refs and stops when nothing changed,
// and otherwise transfers through a second go-git storage of the clone whose
// refs live in memory, then publishes under the lock (transfer.go). Several
// transfers (Fetch's and FetchRefs') may run at once; a repack or a check of
// the packs waits for, or skips, the transfers running.
//
// The clone survives the process being killed at any moment: go-git writes a
// fetched pack to a temporary file and renames it before any ref moves, and
// Open removes what an interrupted run can leave behind (temporary packs, an
// index without its pack, an empty ref file, a ref to a missing object)
// before it serves.
// A clone go-git cannot read, a pack cut short or overwritten among them
// (checked against its index at Open, and by the next Fetch when a read
// fails), is set aside as Dir/repo.git.broken and cloned again; the kept
// commits are then copied from the set-aside clone, those that can be read
// whole (salvage.go).
//
// Seed turns a folder of files into a new Git repository; `make run` uses it
// on the bundled examples.
package gitstore
