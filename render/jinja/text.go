package jinja

import (
	"html"
	"strings"
	"unicode"
	"unicode/utf8"
)

// textWrap is Python's textwrap.wrap(text, width, expand_tabs=False,
// replace_whitespace=False, break_long_words, break_on_hyphens), as the
// wordwrap filter uses it.
func textWrap(text string, width int, breakLong, breakHyphens bool) []string {
	chunks := wrapChunks(text, breakHyphens)
	// Reverse so that the next chunk is at the end.
	for i, j := 0, len(chunks)-1; i < j; i, j = i+1, j-1 {
		chunks[i], chunks[j] = chunks[j], chunks[i]
	}
	var lines []string
	for len(chunks) > 0 {
		var cur []string
		curLen := 0
		if strings.TrimFunc(chunks[len(chunks)-1], isWrapSpace) == "" && len(lines) > 0 {
			chunks = chunks[:len(chunks)-1]
		}
		for len(chunks) > 0 {
			l := utf8.RuneCountInString(chunks[len(chunks)-1])
			if curLen+l > width {
				break
			}
			cur = append(cur, chunks[len(chunks)-1])
			chunks = chunks[:len(chunks)-1]
			curLen += l
		}
		if len(chunks) > 0 && utf8.RuneCountInString(chunks[len(chunks)-1]) > width {
			// _handle_long_word
			spaceLeft := max(width-curLen, 1)
			chunk := []rune(chunks[len(chunks)-1])
			switch {
			case breakLong:
				end := spaceLeft
				if breakHyphens && len(chunk) > spaceLeft {
					hyphen := -1
					for k := spaceLeft - 1; k > 0; k-- {
						if chunk[k] == '-' {
							hyphen = k
							break
						}
					}
					if hyphen > 0 && strings.Trim(string(chunk[:hyphen]), "-") != "" {
						end = hyphen + 1
					}
				}
				cur = append(cur, string(chunk[:end]))
				chunks[len(chunks)-1] = string(chunk[end:])
			case len(cur) == 0:
				cur = append(cur, chunks[len(chunks)-1])
				chunks = chunks[:len(chunks)-1]
			}
		}
		if len(cur) > 0 && strings.TrimFunc(cur[len(cur)-1], isWrapSpace) == "" {
			cur = cur[:len(cur)-1]
		}
		if len(cur) > 0 {
			lines = append(lines, strings.Join(cur, ""))
		}
	}
	return lines
}

// isWrapSpace is textwrap's whitespace: ASCII only.
func isWrapSpace(c rune) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// wrapChunks splits text into words and runs of whitespace; with
// breakHyphens, hyphenated words are split after their hyphens
// (textwrap's wordsep_re, for the common cases).
func wrapChunks(text string, breakHyphens bool) []string {
	var chunks []string
	for text != "" {
		i := strings.IndexFunc(text, func(c rune) bool { return !isWrapSpace(c) })
		if i != 0 {
			if i < 0 {
				i = len(text)
			}
			chunks = append(chunks, text[:i])
			text = text[i:]
			continue
		}
		j := strings.IndexFunc(text, isWrapSpace)
		if j < 0 {
			j = len(text)
		}
		word := text[:j]
		text = text[j:]
		if breakHyphens {
			chunks = append(chunks, splitHyphens(word)...)
		} else {
			chunks = append(chunks, word)
		}
	}
	return chunks
}

// splitHyphens splits "well-known" into "well-", "known": after a hyphen
// preceded by two letters (or letter-letter-) and followed by a letter.
func splitHyphens(word string) []string {
	runes := []rune(word)
	var out []string
	start := 0
	isLetter := func(k int) bool { return k >= 0 && k < len(runes) && unicode.IsLetter(runes[k]) }
	for k := 1; k < len(runes)-1; k++ {
		if runes[k] != '-' {
			continue
		}
		before := (isLetter(k-1) && isLetter(k-2)) || (isLetter(k-1) && k >= 3 && runes[k-2] == '-' && isLetter(k-3))
		after := isLetter(k+1) && (isLetter(k+2) || (k+3 < len(runes) && runes[k+2] == '-' && isLetter(k+3)))
		if before && after && k+1-start > 1 {
			out = append(out, string(runes[start:k+1]))
			start = k + 1
		}
	}
	return append(out, string(runes[start:]))
}

// htmlUnescape resolves HTML entities, as markupsafe's unescape does.
func htmlUnescape(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	return html.UnescapeString(s)
}

var specUrlize = newSpec("urlize", "trim_url_limit", nil, "nofollow", false, "target", nil, "rel", nil, "extra_schemes", nil)

// filterUrlize is Jinja2's urlize for http(s) and www. URLs and e-mail
// addresses.
func filterUrlize(r *renderer, v any, args []any, kw []kwarg) (any, error) {
	a, err := specUrlize.bind(args, kw)
	if err != nil {
		return nil, err
	}
	s, err := r.toStr(v)
	if err != nil {
		return nil, err
	}
	limit, err := argOptInt("urlize", a[0], -1)
	if err != nil {
		return nil, err
	}
	rel := "noopener"
	if truthy(a[1]) {
		rel = "nofollow noopener"
	}
	if a[3] != nil {
		rel = str(a[3])
	}
	target := ""
	if a[2] != nil {
		target = ` target="` + htmlEscape(str(a[2])) + `"`
	}
	var b strings.Builder
	for i, word := range splitKeep(s) {
		_ = i
		if strings.TrimFunc(word, unicode.IsSpace) == "" {
			b.WriteString(htmlEscape(word))
			continue
		}
		head, middle, tail := trimPunct(word)
		href := ""
		switch {
		case strings.HasPrefix(middle, "http://") || strings.HasPrefix(middle, "https://"):
			href = middle
		case strings.HasPrefix(middle, "www.") || (strings.Contains(middle, ".") && !strings.Contains(middle, "@") &&
			(strings.HasSuffix(middle, ".org") || strings.HasSuffix(middle, ".net") || strings.HasSuffix(middle, ".com"))):
			href = "https://" + middle
		case strings.Count(middle, "@") == 1 && !strings.Contains(middle, ":") && strings.Contains(middle[strings.IndexByte(middle, '@'):], "."):
			b.WriteString(htmlEscape(head) + `<a href="mailto:` + htmlEscape(middle) + `">` + htmlEscape(middle) + "</a>" + htmlEscape(tail))
			continue
		}
		if href == "" {
			b.WriteString(htmlEscape(word))
			continue
		}
		text := middle
		if limit >= 0 && int64(utf8.RuneCountInString(text)) > limit {
			text = truncateRunes(text, int(limit))
			if limit >= 3 {
				text += "..."
			}
		}
		b.WriteString(htmlEscape(head) + `<a href="` + htmlEscape(href) + `" rel="` + htmlEscape(rel) + `"` + target + ">" +
			htmlEscape(text) + "</a>" + htmlEscape(tail))
	}
	return Markup(b.String()), nil
}

// splitKeep splits s into words and runs of whitespace.
func splitKeep(s string) []string {
	var out []string
	for s != "" {
		sp := unicode.IsSpace(firstRune(s))
		i := strings.IndexFunc(s, func(c rune) bool { return unicode.IsSpace(c) != sp })
		if i < 0 {
			i = len(s)
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	return out
}

func firstRune(s string) rune {
	c, _ := utf8.DecodeRuneInString(s)
	return c
}

// trimPunct separates leading "(<" and trailing ".,:;!)>" punctuation.
func trimPunct(w string) (head, middle, tail string) {
	middle = strings.TrimLeft(w, "(<&")
	head = w[:len(w)-len(middle)]
	trimmed := strings.TrimRight(middle, ".,:;!)>\"'")
	tail = middle[len(trimmed):]
	return head, trimmed, tail
}
