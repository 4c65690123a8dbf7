package gitstore

import (
	"fmt"
	"net"
	"strconv"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"

	"github.com/promptreg/promptreg/registry"
)

// authMethod builds the credentials Fetch presents to the remote at ep:
// nothing for file and git URLs, HTTP basic auth with the token for http(s)
// (nil without a token: a public repository, or credentials in the URL), a
// key with host-key checking for ssh. It reads the key and known_hosts
// files, so a mistake in them is an EINVALID from Open, not an
// EUNAVAILABLE from every Fetch.
func authMethod(opts Options, ep *transport.Endpoint) (transport.AuthMethod, error) {
	switch ep.Protocol {
	case "https", "http":
		if opts.Token == "" {
			return nil, nil
		}
		return &githttp.BasicAuth{Username: opts.TokenUser, Password: opts.Token}, nil
	case "ssh":
		return sshAuth(opts, ep)
	}
	if opts.Token != "" || opts.SSHKeyPath != "" {
		return nil, registry.Errorf(registry.EINVALID, "open repository: a token or ssh key needs an https or ssh URL, not %s", ep.Protocol)
	}
	return nil, nil
}

func sshAuth(opts Options, ep *transport.Endpoint) (transport.AuthMethod, error) {
	if opts.SSHKeyPath == "" {
		return nil, registry.Errorf(registry.EINVALID, "open repository: an ssh URL needs an ssh key file (PROMPTREG_GIT_SSH_KEY)")
	}
	user := ep.User
	if user == "" {
		user = "git"
	}
	auth, err := gitssh.NewPublicKeysFromFile(user, opts.SSHKeyPath, "")
	if err != nil {
		return nil, &registry.Error{Code: registry.EINVALID, Message: fmt.Sprintf("open repository: read ssh key %s", opts.SSHKeyPath), Err: err}
	}
	if opts.SSHInsecureIgnoreHostKey {
		auth.HostKeyCallback = ssh.InsecureIgnoreHostKey()
		return auth, nil
	}
	var files []string // none: $SSH_KNOWN_HOSTS or the ssh default files
	if opts.SSHKnownHosts != "" {
		files = []string{opts.SSHKnownHosts}
	}
	db, err := gitssh.NewKnownHostsDb(files...)
	if err != nil {
		return nil, &registry.Error{Code: registry.EINVALID, Message: "open repository: an ssh URL needs a known_hosts file (PROMPTREG_GIT_KNOWN_HOSTS)", Err: err}
	}
	auth.HostKeyCallback = db.HostKeyCallback()
	// Offer only the host key algorithms known_hosts has keys of, or the
	// server may present another type of key and fail the check.
	port := ep.Port
	if port == 0 {
		port = 22
	}
	auth.HostKeyAlgorithms = db.HostKeyAlgorithms(net.JoinHostPort(ep.Host, strconv.Itoa(port)))
	return auth, nil
}
