package registry

import "fmt"

// Problem is something wrong with one file of the prompt repository: bad
// YAML, a Jinja syntax error, a name claimed twice, a missing partial. Lint
// prints problems; the server lists them in /v1/status and keeps serving the
// last good version of the prompts they affect.
type Problem struct {
	Path    string `json:"path"`
	Line    int    `json:"line,omitempty"`
	Col     int    `json:"col,omitempty"`
	Name    string `json:"name,omitempty"` // the prompt the problem affects, when known
	Message string `json:"message"`
}

// Error formats the problem as "path:line:col: message", the form editors and
// CI annotators read.
func (p *Problem) Error() string {
	switch {
	case p.Line > 0 && p.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", p.Path, p.Line, p.Col, p.Message)
	case p.Line > 0:
		return fmt.Sprintf("%s:%d: %s", p.Path, p.Line, p.Message)
	default:
		return fmt.Sprintf("%s: %s", p.Path, p.Message)
	}
}

// ErrorCode reports EINVALID: a problem is always a property of the content.
func (p *Problem) ErrorCode() string { return EINVALID }
