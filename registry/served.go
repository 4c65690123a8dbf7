package registry

// Served is what the server serves at one moment: the snapshots of the
// tracked branch and of the configured environments, and which of them a
// request without a selection gets. A sync builds a new one and publishes it
// at once; it is immutable once published.
type Served struct {
	// Refs are the clone's branches and tags (full ref name → commit).
	Refs map[string]string
	// Head is the snapshot of the tracked branch.
	Head *Snapshot
	// Envs are the snapshots of the configured environments that resolved.
	Envs map[string]*Snapshot
	// EnvRefs maps a configured environment to the full ref name it
	// resolved to.
	EnvRefs map[string]string
	// EnvErrs says why a configured environment is not served (or is
	// served from a previous commit).
	EnvErrs map[string]string
	// Default is what a request without selection gets; nil: nothing (503).
	Default *Snapshot
	// DefaultRef is the ref Default was resolved from.
	DefaultRef string
	// DefaultEnv is the configured default environment, if any.
	DefaultEnv string
	// Pins are the pins in force, read from the head's pins file.
	Pins Pins
	// PinsProblem says why the head's pins file is not used (the pins
	// read before it stay in force); nil when it is.
	PinsProblem *Problem
}

// Environments returns the environments the head's promptreg.yaml
// configures (name → ref as written).
func (s *Served) Environments() map[string]string { return s.Head.Config.Environments }

// Cause says why a sync ran; the promotion ledger records it with each
// environment move the sync observed.
type Cause struct {
	Via      string // start, poll, webhook, api
	Delivery string // the webhook delivery id, if any
	// By names who moved an environment through the API, for the moves
	// this sync observes.
	By string
}
