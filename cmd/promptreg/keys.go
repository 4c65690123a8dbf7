package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/promptreg/promptreg/keys"
	"github.com/promptreg/promptreg/registry"
	"github.com/promptreg/promptreg/sqlite"
)

const keysUsage = `usage: promptreg keys create --name NAME --scopes S1,S2 [--expires 720h] [--cidr NET]… (--data DIR | --url URL)
       promptreg keys list (--data DIR | --url URL) [--json]
       promptreg keys revoke ID (--data DIR | --url URL)

--data works on a data directory's database (the server may be stopped or running: a
running one sees the change within 10 s); --url asks a running server, with the admin key
(--admin-key or PROMPTREG_ADMIN_KEY). Scopes: ` + "prompts:read, prompts:write, prompts:execute, executions:read,\nexecutions:write, environments:promote, admin, *" + `

Exit status: 0 done, 1 failed, 2 usage error.
`

// keysClient is where the keys command works: a database, or a server.
type keysClient interface {
	create(ctx context.Context, req keys.CreateRequest) (string, registry.APIKey, error)
	list(ctx context.Context) ([]registry.APIKey, error)
	revoke(ctx context.Context, id string) error
	close()
}

// runKeys is the keys command.
func runKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "create" && args[0] != "list" && args[0] != "revoke") {
		fmt.Fprint(stderr, keysUsage)
		return exitUsage
	}
	sub := args[0]
	fl := flag.NewFlagSet("keys "+sub, flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() { fmt.Fprint(stderr, keysUsage) }
	var data, url, adminKey, name, scopes string
	var expires time.Duration
	var cidrs multiFlag
	var asJSON bool
	fl.StringVar(&data, "data", "", "data directory of the server")
	fl.StringVar(&url, "url", "", "URL of a running server")
	fl.StringVar(&adminKey, "admin-key", "", "admin key of the server (with --url; prefer PROMPTREG_ADMIN_KEY)")
	fl.StringVar(&name, "name", "", "name of the key (create)")
	fl.StringVar(&scopes, "scopes", "", "comma-separated scopes (create)")
	fl.DurationVar(&expires, "expires", 0, "validity of the key, e.g. 720h (create; default: no expiry)")
	fl.Var(&cidrs, "cidr", "network the key may be used from; repeat for more (create; default: any)")
	fl.BoolVar(&asJSON, "json", false, "print JSON")
	// Flags may come after the id (keys revoke ID --url …): parse what
	// follows each argument too.
	var rest []string
	for left := args[1:]; ; {
		if err := parseFlags(fl, left, getenv); err != nil {
			return usageError(stderr, err)
		}
		if left = fl.Args(); len(left) == 0 {
			break
		}
		rest, left = append(rest, left[0]), left[1:]
	}
	if (data == "") == (url == "") {
		fmt.Fprintln(stderr, "promptreg keys: give one of --data and --url")
		return exitUsage
	}
	if (sub == "revoke") != (len(rest) == 1) || len(rest) > 1 {
		fmt.Fprint(stderr, keysUsage)
		return exitUsage
	}
	var c keysClient
	if data != "" {
		db, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(data, "promptreg.db")})
		if err != nil {
			fmt.Fprintf(stderr, "promptreg keys: %v\n", err)
			return exitProblems
		}
		c = &localKeys{db: db}
	} else {
		if adminKey == "" {
			adminKey = getenv("PROMPTREG_ADMIN_KEY")
		}
		c = &remoteKeys{url: strings.TrimRight(url, "/"), key: adminKey, http: &http.Client{Timeout: 30 * time.Second}}
	}
	defer c.close()

	var err error
	switch sub {
	case "create":
		req := keys.CreateRequest{Name: name, AllowedCIDRs: cidrs}
		if scopes != "" {
			req.Scopes = strings.Split(scopes, ",")
		}
		if expires < 0 {
			fmt.Fprintln(stderr, "promptreg keys: --expires must be positive")
			return exitUsage
		}
		if expires > 0 {
			t := time.Now().Add(expires)
			req.ExpiresAt = &t
		}
		var raw string
		var k registry.APIKey
		if raw, k, err = c.create(ctx, req); err == nil {
			if asJSON {
				json.NewEncoder(stdout).Encode(map[string]any{"key": raw, "id": k.ID, "name": k.Name, "scopes": k.Scopes, "expires_at": k.ExpiresAt})
			} else {
				fmt.Fprintln(stdout, raw)
				fmt.Fprintf(stderr, "key %s (%s) with %s: shown once, store it now\n", k.ID, k.Name, strings.Join(k.Scopes, ", "))
			}
		}
	case "list":
		var ks []registry.APIKey
		if ks, err = c.list(ctx); err == nil {
			if asJSON {
				if ks == nil {
					ks = []registry.APIKey{}
				}
				json.NewEncoder(stdout).Encode(ks)
			} else {
				tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tNAME\tSCOPES\tEXPIRES\tLAST USED")
				for _, k := range ks {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, strings.Join(k.Scopes, ","), timeOr(k.ExpiresAt, "never"), timeOr(k.LastUsedAt, "never"))
				}
				tw.Flush()
			}
		}
	case "revoke":
		if err = c.revoke(ctx, rest[0]); err == nil {
			fmt.Fprintf(stderr, "key %s revoked\n", rest[0])
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "promptreg keys %s: %s\n", sub, registry.ErrorMessage(err))
		return exitProblems
	}
	return exitOK
}

func timeOr(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.UTC().Format(time.RFC3339)
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// localKeys works on a database.
type localKeys struct{ db *sqlite.Store }

func (l *localKeys) create(ctx context.Context, req keys.CreateRequest) (string, registry.APIKey, error) {
	return keys.Create(ctx, l.db, req, time.Now())
}
func (l *localKeys) list(ctx context.Context) ([]registry.APIKey, error) { return l.db.Keys(ctx) }
func (l *localKeys) revoke(ctx context.Context, id string) error         { return l.db.DeleteKey(ctx, id) }
func (l *localKeys) close()                                              { l.db.Close() }

// remoteKeys asks a running server.
type remoteKeys struct {
	url, key string
	http     *http.Client
}

func (r *remoteKeys) close() {}

// do sends a request with the admin key and decodes a 2xx answer into out,
// or returns the server's error.
func (r *remoteKeys) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.url+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+r.key)
	req.Header.Set("Content-Type", "application/json")
	res, err := r.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode >= 300 {
		var e struct {
			Error struct{ Code, Message string }
		}
		if json.Unmarshal(data, &e) == nil && e.Error.Message != "" {
			return registry.Errorf(e.Error.Code, "%s", e.Error.Message)
		}
		return fmt.Errorf("%s %s: %s", method, path, res.Status)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

func (r *remoteKeys) create(ctx context.Context, req keys.CreateRequest) (string, registry.APIKey, error) {
	var out struct {
		registry.APIKey
		Key string `json:"key"`
	}
	body := map[string]any{"name": req.Name, "scopes": req.Scopes, "expires_at": req.ExpiresAt, "allowed_cidrs": req.AllowedCIDRs}
	err := r.do(ctx, http.MethodPost, "/v1/admin/keys", body, &out)
	return out.Key, out.APIKey, err
}

func (r *remoteKeys) list(ctx context.Context) ([]registry.APIKey, error) {
	var out struct{ Keys []registry.APIKey }
	err := r.do(ctx, http.MethodGet, "/v1/admin/keys", nil, &out)
	return out.Keys, err
}

func (r *remoteKeys) revoke(ctx context.Context, id string) error {
	return r.do(ctx, http.MethodDelete, "/v1/admin/keys/"+id, nil, nil)
}
