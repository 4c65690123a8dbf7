// Package render owns the prompt file format: it parses promptreg.yaml and
// prompt files (YAML front matter, a Jinja body, chat role sections) into
// registry values, validates input schemas, and renders prompt versions with
// the hardened Jinja engine of render/jinja.
package render
