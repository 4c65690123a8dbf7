package gitstore

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"

	"github.com/promptreg/promptreg/registry"
)

func TestAuthHTTPS(t *testing.T) {
	t.Parallel()
	t.Run("a token is basic auth as x-access-token", func(t *testing.T) {
		s := openAuth(t, Options{URL: "https://github.com/org/prompts.git", Token: "tok"})
		want := &githttp.BasicAuth{Username: "x-access-token", Password: "tok"}
		if got, ok := s.auth.(*githttp.BasicAuth); !ok || *got != *want {
			t.Errorf("auth = %#v, want %#v", s.auth, want)
		}
	})

	t.Run("the token user is configurable", func(t *testing.T) {
		s := openAuth(t, Options{URL: "https://gitlab.example.com/org/prompts.git", Token: "tok", TokenUser: "oauth2"})
		if got, ok := s.auth.(*githttp.BasicAuth); !ok || got.Username != "oauth2" {
			t.Errorf("auth = %#v, want user oauth2", s.auth)
		}
	})

	t.Run("no token is no auth", func(t *testing.T) {
		if s := openAuth(t, Options{URL: "https://github.com/org/prompts.git"}); s.auth != nil {
			t.Errorf("auth = %#v, want nil", s.auth)
		}
	})

	t.Run("a token with a file URL is EINVALID", func(t *testing.T) {
		_, err := Open(Options{URL: "file:///srv/prompts.git", Token: "tok", Dir: t.TempDir()})
		wantCode(t, err, registry.EINVALID)
	})
}

// TestFetchNeverShowsTheToken fetches from a local HTTP server that refuses
// the credentials and echoes them back, and checks that neither the error
// nor the logs hold them.
func TestFetchNeverShowsTheToken(t *testing.T) {
	t.Parallel()
	const token, password = "s3cr3t-t0ken", "url-passw0rd"
	for name, status := range map[string]int{"refused": http.StatusUnauthorized, "server error": http.StatusInternalServerError} {
		t.Run(name+" is EUNAVAILABLE without the secrets", func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				user, pass, _ := r.BasicAuth()
				http.Error(w, "bad credentials "+user+":"+pass+" for "+r.URL.String(), status)
			}))
			defer srv.Close()
			var logs bytes.Buffer
			for _, opts := range []Options{
				{URL: srv.URL + "/org/prompts.git", Token: token},
				{URL: strings.Replace(srv.URL, "://", "://user:"+password+"@", 1) + "/org/prompts.git"},
			} {
				opts.Dir = t.TempDir()
				opts.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
				s, err := Open(opts)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				err = s.Fetch(context.Background())
				wantCode(t, err, registry.EUNAVAILABLE)
				for _, secret := range []string{token, password} {
					if strings.Contains(err.Error(), secret) || strings.Contains(logs.String(), secret) {
						t.Errorf("a secret leaked:\nerror: %v\nlogs: %s", err, logs.String())
					}
				}
			}
		})
	}
}

func TestAuthSSH(t *testing.T) {
	dir := t.TempDir()
	keyFile, pub := writeSSHKey(t, dir)
	knownHosts := filepath.Join(dir, "known_hosts")
	hostKey := newPublicKey(t)
	if err := os.WriteFile(knownHosts, []byte("git.example.com "+string(ssh.MarshalAuthorizedKey(hostKey))), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 22}

	for name, url := range map[string]string{
		"scp-style URL": "git@git.example.com:org/prompts.git",
		"ssh URL":       "ssh://git@git.example.com/org/prompts.git",
	} {
		t.Run(name+" uses the key and checks host keys against known_hosts", func(t *testing.T) {
			s := openAuth(t, Options{URL: url, SSHKeyPath: keyFile, SSHKnownHosts: knownHosts})
			auth, ok := s.auth.(*gitssh.PublicKeys)
			if !ok {
				t.Fatalf("auth = %#v, want *ssh.PublicKeys", s.auth)
			}
			if auth.User != "git" {
				t.Errorf("User = %q, want git", auth.User)
			}
			if got := auth.Signer.PublicKey().Marshal(); !bytes.Equal(got, pub.Marshal()) {
				t.Error("the signer is not the key file's key")
			}
			if err := auth.HostKeyCallback("git.example.com:22", addr, hostKey); err != nil {
				t.Errorf("known host key refused: %v", err)
			}
			if err := auth.HostKeyCallback("git.example.com:22", addr, newPublicKey(t)); err == nil {
				t.Error("an unknown host key was accepted")
			}
			if err := auth.HostKeyCallback("other.example.com:22", addr, hostKey); err == nil {
				t.Error("an unknown host was accepted")
			}
			if !slices.Contains(auth.HostKeyAlgorithms, ssh.KeyAlgoED25519) {
				t.Errorf("HostKeyAlgorithms = %v, want ssh-ed25519 (the known key's type)", auth.HostKeyAlgorithms)
			}
		})
	}

	t.Run("the user name comes from the URL", func(t *testing.T) {
		s := openAuth(t, Options{URL: "ssh://deploy@git.example.com:2222/org/prompts.git", SSHKeyPath: keyFile, SSHKnownHosts: knownHosts})
		if auth := s.auth.(*gitssh.PublicKeys); auth.User != "deploy" {
			t.Errorf("User = %q, want deploy", auth.User)
		}
	})

	t.Run("insecure mode accepts any host key", func(t *testing.T) {
		s := openAuth(t, Options{URL: "git@git.example.com:org/prompts.git", SSHKeyPath: keyFile, SSHInsecureIgnoreHostKey: true})
		if err := s.auth.(*gitssh.PublicKeys).HostKeyCallback("x:22", addr, newPublicKey(t)); err != nil {
			t.Errorf("host key refused: %v", err)
		}
	})

	t.Run("no known_hosts is EINVALID", func(t *testing.T) {
		t.Setenv("SSH_KNOWN_HOSTS", filepath.Join(dir, "missing"))
		for _, kh := range []string{"", filepath.Join(dir, "missing")} {
			_, err := Open(Options{URL: "git@git.example.com:org/prompts.git", SSHKeyPath: keyFile, SSHKnownHosts: kh, Dir: t.TempDir()})
			wantCode(t, err, registry.EINVALID)
		}
	})

	t.Run("no key is EINVALID", func(t *testing.T) {
		_, err := Open(Options{URL: "git@git.example.com:org/prompts.git", SSHKnownHosts: knownHosts, Dir: t.TempDir()})
		wantCode(t, err, registry.EINVALID)
	})

	t.Run("an unreadable key is EINVALID", func(t *testing.T) {
		_, err := Open(Options{URL: "git@git.example.com:org/prompts.git", SSHKeyPath: knownHosts, SSHKnownHosts: knownHosts, Dir: t.TempDir()})
		wantCode(t, err, registry.EINVALID)
	})
}

func openAuth(t *testing.T, opts Options) *Store {
	t.Helper()
	opts.Dir = t.TempDir()
	s, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// writeSSHKey writes a new unencrypted ed25519 private key in OpenSSH
// format to dir and returns its path and public key.
func writeSSHKey(t *testing.T, dir string) (string, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return path, sshPub
}

func newPublicKey(t *testing.T) ssh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
