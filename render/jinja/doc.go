// Package jinja is promptreg's template engine: Jinja2 templates parsed by
// gonja v2 and rendered with Python Jinja2's semantics under hard limits.
//
// It owns:
//   - compiling a template (Parse) into an immutable, goroutine-safe
//     *Template, with its variables and references computed from the AST;
//   - rendering (Template.Render) with wall-time, output-size, range and
//     recursion limits, typed errors, and no panic escaping;
//   - the variable representation (DecodeJSON keeps integers as integers and
//     objects in key order) and Jinja2's filters, tests, globals and string
//     methods.
//
// gonja provides the lexer, the expression parser and the AST (package
// nodes). The package repairs the tokens where gonja departs from Jinja2's
// syntax (lex.go, rewrite.go), registers its own control structures with
// gonja's parser and evaluates the AST itself: gonja's executor cannot be
// cancelled, treats None and undefined alike, applies Go arithmetic, sorts
// dict keys and materialises range() in full, none of which can be changed
// from outside.
// Nothing here reads files: includes and imports resolve through a Loader
// supplied by the caller.
//
// Differences from Jinja2 that remain are listed in FIDELITY.md.
package jinja
