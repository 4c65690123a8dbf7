package registry

// VersionEntry is a version of a prompt as the versions endpoint lists it.
type VersionEntry struct {
	Version
	// Current is whether the default selection serves this version.
	Current bool `json:"current"`
	// Environments are the configured environments serving it now.
	Environments []string `json:"environments"`
	// Pinned names the selections whose pin (promptreg.pins.yaml) names
	// this version: "default" and environments.
	Pinned []string `json:"pinned"`
	// CurrentAt lists the ranges of the tracked branch's commits at which
	// the version was current: from the commit that made it current up
	// to the one that replaced it ("" while it is current at the head).
	CurrentAt []CommitRange `json:"current_at"`
	// EnvironmentHistory says when the version entered and left each
	// environment, from the promotion ledger.
	EnvironmentHistory []EnvironmentStay `json:"environment_history"`
}

// CommitRange is a range of indexed commits.
type CommitRange struct {
	From  string `json:"from"`
	Until string `json:"until,omitempty"`
}

// EnvironmentStay is a period during which an environment served a version.
type EnvironmentStay struct {
	Environment string  `json:"environment"`
	Entered     string  `json:"entered"`        // RFC 3339 time of the move that brought it
	Left        *string `json:"left,omitempty"` // time of the move that replaced it
}

// Environment describes a configured environment.
type Environment struct {
	Name   string `json:"name"`
	Ref    string `json:"ref"`
	Commit string `json:"commit,omitempty"`
	// MovedAt is when the ledger last saw the ref move; nil if never.
	MovedAt *string `json:"moved_at"`
	// Differs counts the prompts whose content differs from the tracked
	// branch head (changed, or present on one side only).
	Differs int    `json:"differs_from_head"`
	Prompts int    `json:"prompts"`
	Error   string `json:"error,omitempty"`
}
