// Package render owns the prompt file format and rendering: it parses prompt
// files into registry values, validates input schemas and renders versions.
//
// Templates are evaluated by the hardened Jinja engine of render/jinja;
// promptreg.yaml is the repoconfig package's.
package render
