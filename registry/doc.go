// Package registry is promptreg's domain: prompts, versions, refs, snapshots,
// the error codes every layer speaks, and the ports the adapters implement.
//
// It imports only the standard library (a test enforces it) and holds no
// machinery: snapshots keeps the served snapshots current, history numbers
// versions, and the adapters (gitstore for Git, render for prompt files and
// templates, sqlite for storage, httpapi for HTTP) implement the interfaces
// declared here and exchange only the types declared here; cmd/promptreg
// wires them together.
package registry
