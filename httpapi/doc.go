// Package httpapi is promptreg's HTTP API: routes, conditional requests,
// webhooks, and the one table mapping error codes to HTTP statuses.
//
// It hides echo from the rest of the program: cmd/promptreg sees only Server.
package httpapi
