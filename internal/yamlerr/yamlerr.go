// Package yamlerr turns yaml.v3's errors into what a Problem needs: the line
// they are about and a message without the library's prefix.
package yamlerr

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// lineRe finds "line N" in yaml.v3's error messages.
var lineRe = regexp.MustCompile(`line (\d+)`)

// Split returns the line err is about (0 if it names none) and its message
// without the "yaml: " prefix and the line.
func Split(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	line := 0
	if m := lineRe.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = strings.TrimSpace(strings.Replace(msg, m[0]+":", "", 1))
	}
	return line, msg
}
