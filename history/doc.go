// Package history numbers prompt versions along the tracked branch's
// first-parent history, records environment moves, and answers history queries.
//
// Index walks new commits (diff first, parse on every core, apply in order)
// and persists versions and spans in a registry.HistoryStore; it answers
// version lookups from memory. Ledger appends the moves of environments'
// refs that syncs observe. Queries answers the read side: a prompt's
// versions, a version's content, environments and their moves. The
// snapshots package drives Index and Ledger from its sync; nothing here
// touches the network.
package history
