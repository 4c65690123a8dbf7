// Package httpapi is promptreg's HTTP API: routes, authentication, entity
// tags and conditional requests, webhooks, and the one table that maps
// registry error codes to HTTP statuses. It hides echo from the rest of the
// program: cmd/promptreg sees only Server.
package httpapi
