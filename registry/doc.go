// Package registry is promptreg's domain: prompts, versions, refs, immutable
// snapshots, the error codes every layer speaks, and the Registry that keeps
// the snapshot of each served ref up to date.
//
// It imports only the standard library. The adapters (gitstore, render,
// sqlite, llm, httpapi, client) implement the interfaces declared here and
// exchange only the types declared here; cmd/promptreg wires them together.
package registry
