// Package snapshots keeps the snapshots promptreg serves current (fetch, index,
// build, swap, on a watch loop) and builds other commits' snapshots on demand.
//
// A Keeper owns the served state (registry.Served) behind an atomic pointer:
// readers load it and never wait. Sync is the one synchronous step — fetch
// the remote, update the history index (package history), build the
// snapshots of the tracked branch and of the configured environments
// (reusing those whose commit did not move and every parse that did not
// change), publish, record environment moves — and Watch runs it at start,
// on a poll timer and on Trigger. Requests that select a commit no served ref
// is at get a snapshot built on demand (single-flighted per commit, cached
// by count and bytes), and refs the clone lacks are looked up on the remote
// (single-flighted per ref, bounded, cached): no request holds a lock across
// network I/O or waits past its own context.
//
// Build builds one commit's snapshot on its own, for lint and offline
// rendering.
package snapshots
