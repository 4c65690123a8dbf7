package registry

import (
	"encoding/json"
	"strings"
	"time"
)

// Prompt formats.
const (
	FormatText = "text" // the body renders to one string
	FormatChat = "chat" // the body has role markers and renders to messages
)

// Roles a chat prompt's sections may have.
var Roles = []string{"system", "user", "assistant"}

// Commit describes a Git commit.
type Commit struct {
	SHA     string    `json:"sha"`
	Author  string    `json:"author"`
	Email   string    `json:"email"`
	Time    time.Time `json:"time"`
	Message string    `json:"message"`
}

// Message is one section of a chat prompt: a role and its (unrendered)
// template, or after rendering, its text.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Include is a partial a prompt includes or imports, directly or through
// other partials, and the checksum of the partial's content.
type Include struct {
	Name     string `json:"name"`
	Checksum string `json:"checksum"`
}

// Prompt is one version of a prompt: the parsed content of one file. Its JSON
// encoding is the body of GET /v1/prompts/{name}; it depends only on the
// version (the file bytes, its number, the commit that introduced it and the
// partials it includes), never on the request or the moment.
type Prompt struct {
	Name     string `json:"name"`
	Version  int    `json:"version,omitempty"` // 0 until the history index numbers it
	Checksum string `json:"checksum"`          // hex sha256 of the file bytes
	// Path is where the version's file was when it first appeared (the
	// body is a function of the version); File is where it is in the
	// commit being served. They differ after a rename that kept the bytes.
	Path   string  `json:"path"`
	File   string  `json:"-"`
	Commit *Commit `json:"commit,omitempty"` // the commit that introduced these bytes, when known
	// Mode says how the version came to be: ModeGit, ModeFull or
	// ModeTracking (see ModeOf).
	Mode string `json:"mode"`

	Format    string    `json:"format"`
	Template  string    `json:"template"`           // the body: everything after the front matter
	Messages  []Message `json:"messages,omitempty"` // chat prompts: the body split by role
	Variables []string  `json:"variables"`          // top-level variables read, partials included
	Includes  []Include `json:"includes"`           // partials, transitively, sorted by name

	Description  string          `json:"description,omitempty"`
	Tags         []string        `json:"tags"`
	Metadata     map[string]any  `json:"metadata,omitempty"`
	Model        map[string]any  `json:"model,omitempty"`
	Params       map[string]any  `json:"params,omitempty"`
	InputSchema  json.RawMessage `json:"input_schema,omitempty"`
	OutputSchema json.RawMessage `json:"output_schema,omitempty"`
	// Undefined is how missing variables render: "strict" (the default: an
	// error listing them) or "lenient" (as empty).
	Undefined string `json:"undefined,omitempty"`
	// Extra holds the front matter keys promptreg does not know, kept as
	// written so nothing is silently dropped.
	Extra map[string]any `json:"extra,omitempty"`

	// References are the names of the partials the template includes or
	// imports directly, as the parser found them; the snapshot resolves
	// them into Includes.
	References []string `json:"-"`
	// BodyLine is the 1-based line of the file where the body starts.
	BodyLine int `json:"-"`
	// Raw is the file's bytes.
	Raw []byte `json:"-"`
}

// HasTag reports whether p carries tag.
func (p *Prompt) HasTag(tag string) bool {
	for _, t := range p.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

// RepoConfig is the optional promptreg.yaml at the root of a prompt
// repository.
type RepoConfig struct {
	// Root is the folder prompt files live under, relative to the
	// repository root; "" is the repository root.
	Root string `json:"root"`
	// Extensions are the file extensions of prompt files, with the dot.
	Extensions []string `json:"extensions"`
	// Environments maps an environment name to the Git ref it serves,
	// e.g. production: refs/tags/production.
	Environments map[string]string `json:"environments,omitempty"`
	// DefaultEnvironment is what requests without env, ref or version
	// serve; "" serves the tracked branch head.
	DefaultEnvironment string `json:"default_environment,omitempty"`
	// Tracking is the folder, relative to Root, where POST
	// /v1/prompts/register-code saves the templates applications register
	// (tracking mode); default "tracked".
	Tracking string `json:"tracking_dir"`
}

// MaxFileSize bounds a prompt file; a larger file is a problem, not read.
const MaxFileSize = 1 << 20

// MaxIncludeDepth bounds how deeply partials may include partials.
const MaxIncludeDepth = 8

// DefaultTracking is the folder tracking-mode templates are saved under.
const DefaultTracking = "tracked"

// ConfigFile is the path of the repository configuration file.
const ConfigFile = "promptreg.yaml"

// DefaultExtensions are the prompt file extensions when promptreg.yaml does
// not set them.
var DefaultExtensions = []string{".prompt", ".jinja", ".j2"}

// DefaultConfig returns the configuration of a repository without
// promptreg.yaml.
func DefaultConfig() RepoConfig {
	return RepoConfig{Extensions: append([]string(nil), DefaultExtensions...), Tracking: DefaultTracking}
}

// Prompt modes: how a prompt's content reaches the repository.
const (
	ModeGit      = "git"      // pushed with Git
	ModeFull     = "full"     // saved through the API (PUT /v1/prompts/{name})
	ModeTracking = "tracking" // registered by an application (register-code)
)

// WriteTrailer is the commit trailer that marks a commit made by an API
// write; its value names the write (save, revert, register…).
const WriteTrailer = "Promptreg-Write"

// RenameTrailer is the commit trailer that carries a prompt's version
// history over to its new name: "Promptreg-Renamed: old/name -> new/name".
// The API's rename writes it; a `git mv` pushed by hand may carry it too.
const RenameTrailer = "Promptreg-Renamed"

// Renames returns the renames a commit message's RenameTrailer lines name,
// new name → old name. Lines that do not hold two valid names are ignored.
func Renames(message string) map[string]string {
	var out map[string]string
	for _, line := range strings.Split(message, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(k) != RenameTrailer {
			continue
		}
		from, to, ok := strings.Cut(v, "->")
		from, to = strings.TrimSpace(from), strings.TrimSpace(to)
		if !ok || from == to || ValidateName(from) != nil || ValidateName(to) != nil {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[to] = from
	}
	return out
}

// ModeOf derives a prompt version's mode from the repository alone, so
// every replica agrees: tracking when its file lies under the configured
// tracking folder, full when the commit that introduced it was made by an
// API write, else git.
func ModeOf(cfg RepoConfig, path string, introduced *Commit) string {
	if strings.HasPrefix(path, TrackingDir(cfg)+"/") {
		return ModeTracking
	}
	if introduced != nil && hasTrailer(introduced.Message, WriteTrailer) {
		return ModeFull
	}
	return ModeGit
}

// TrackingDir is the tracking folder's path in the repository.
func TrackingDir(cfg RepoConfig) string {
	dir := cfg.Tracking
	if dir == "" {
		dir = DefaultTracking
	}
	if cfg.Root != "" {
		dir = cfg.Root + "/" + dir
	}
	return dir
}

// hasTrailer reports whether message has a "key: value" trailer line.
func hasTrailer(message, key string) bool {
	for _, line := range strings.Split(message, "\n") {
		if k, _, ok := strings.Cut(line, ":"); ok && k == key {
			return true
		}
	}
	return false
}
