package jinja

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// lex runs gonja's lexer, repairs the tokens it gets wrong in expressions
// (see repairTokens) and checks what the parser would not: lexer errors
// (gonja's parser treats an error token like the end of input) and nesting.
func lex(name, src string, cfg *config.Config) ([]*tokens.Token, error) {
	toks, input, inserted := lexChains(src, cfg)
	var lines []int // of the source as written, computed when first needed
	at := func(pos int) (int, int) {
		if lines == nil {
			lines = tokens.PrecomputeLineOffsets(normalizeInput(src, cfg))
		}
		return tokens.ReadablePositionFromOffsets(unshift(pos, inserted), lines)
	}
	toks, err := repairTokens(toks, input, at)
	if err != nil {
		var se *SyntaxError
		if errors.As(err, &se) {
			se.Name = name
		}
		return nil, err
	}
	if len(inserted) > 0 {
		for _, tok := range toks {
			if tok.Pos > inserted[0] {
				tok.Line, tok.Col = at(tok.Pos)
				tok.Pos = unshift(tok.Pos, inserted)
			}
		}
	}
	depth := 0
	blockDepth := 0
	afterBegin := false // the previous token opened a tag
	setTag, setAssign := false, false
	for _, tok := range toks {
		begin := false
		switch tok.Type {
		case tokens.Error:
			line, col := tok.Line, tok.Col
			if line == 0 {
				line, col = at(tok.Pos)
			}
			return nil, &SyntaxError{Name: name, Line: line, Col: col, Msg: tok.Val}
		case tokens.LeftParenthesis, tokens.LeftBracket, tokens.LeftBrace:
			depth++
			if depth > MaxNesting {
				return nil, &SyntaxError{Name: name, Line: tok.Line, Col: tok.Col, Msg: "expression nested too deeply"}
			}
		case tokens.RightParenthesis, tokens.RightBracket, tokens.RightBrace:
			depth--
		case tokens.Assign:
			setAssign = true
		case tokens.BlockBegin:
			begin = true
		case tokens.BlockEnd:
			if setTag && !setAssign {
				blockDepth++ // {% set x %}...{% endset %}
			}
			setTag = false
		case tokens.Name:
			if afterBegin {
				switch {
				case tok.Val == "set":
					setTag, setAssign = true, false
				case blockOpeners[tok.Val]:
					blockDepth++
				case strings.HasPrefix(tok.Val, "end") && blockDepth > 0:
					blockDepth--
				}
			}
		}
		if blockDepth > MaxNesting {
			return nil, &SyntaxError{Name: name, Line: tok.Line, Col: tok.Col, Msg: "tags nested too deeply"}
		}
		afterBegin = begin
	}
	return toks, nil
}

var blockOpeners = map[string]bool{
	"if": true, "for": true, "macro": true, "call": true, "filter": true, "with": true,
	"block": true, "autoescape": true, "raw": true,
}

// maxRelex bounds how often one template is lexed again to split a chain
// of numeric attributes; each pass splits one chain of up to four levels.
const maxRelex = 8

// lexChains lexes src with gonja's lexer. gonja reads "x.0.1.2" as x, a
// dot, then the malformed number "0.1.2", and stops; Jinja2 never starts a
// number right after a dot. Each time, the text is lexed again with a space
// before the dot that stopped it (x.0.1 .2 means the same). It returns the
// tokens, the text they were lexed from (normalized as gonja does) and the
// offsets in it where a space was added, ascending.
func lexChains(src string, cfg *config.Config) ([]*tokens.Token, string, []int) {
	input := normalizeInput(src, cfg)
	c := *cfg
	c.KeepTrailingNewline = true // input is normalized already
	var inserted []int
	for pass := 0; ; pass++ {
		toks := collectTokens(tokens.LexAll(input, &c))
		if len(toks) == 0 || pass == maxRelex {
			return toks, input, inserted
		}
		at, ok := numericChainBreak(input, toks[len(toks)-1])
		if !ok {
			return toks, input, inserted
		}
		input = input[:at] + " " + input[at:]
		inserted = append(inserted, at)
	}
}

// normalizeInput is what gonja's lexer does to a template before lexing it;
// token positions are offsets in its result.
func normalizeInput(src string, cfg *config.Config) string {
	src = strings.ReplaceAll(src, "\r\n", "\n")
	src = strings.ReplaceAll(src, "\r", "\n")
	if !cfg.KeepTrailingNewline {
		src = strings.TrimSuffix(src, "\n")
	}
	return src
}

// collectTokens returns the tokens of stream, whitespace left out, up to
// and including the EOF or error token.
func collectTokens(stream *tokens.Stream) []*tokens.Token {
	var toks []*tokens.Token
	for tok := stream.Current(); tok != nil; tok = stream.Current() {
		toks = append(toks, tok)
		if stream.End() {
			break
		}
		stream.Next()
	}
	return toks
}

// numericChainBreak reports where to split a "two dots in numeric token"
// error that is a chain of numeric attributes: the error is at the third
// dot of ".0.1.2".
func numericChainBreak(input string, errTok *tokens.Token) (int, bool) {
	at := errTok.Pos
	if errTok.Type != tokens.Error || errTok.Val != "two dots in numeric token" || at >= len(input) || input[at] != '.' {
		return 0, false
	}
	i := skipDigitsBack(input, at)
	if i == at || i == 0 || input[i-1] != '.' {
		return 0, false
	}
	j := skipDigitsBack(input, i-1)
	if j == i-1 || j == 0 || input[j-1] != '.' {
		return 0, false
	}
	return at, true
}

// skipDigitsBack returns the start of the run of digits and underscores
// that ends at i.
func skipDigitsBack(s string, i int) int {
	for i > 0 && (s[i-1] >= '0' && s[i-1] <= '9' || s[i-1] == '_') {
		i--
	}
	return i
}

// unshift maps an offset in the text with spaces inserted back to the text
// as written.
func unshift(pos int, inserted []int) int {
	n := 0
	for _, at := range inserted {
		if at < pos {
			n++
		}
	}
	return pos - n
}

// keywordTokens are the operators gonja lexes as names when something other
// than a space follows them ("x in\nxs", "a and(b)").
var keywordTokens = map[string]tokens.Type{
	"in": tokens.In, "is": tokens.Is, "and": tokens.And, "or": tokens.Or, "not": tokens.Not,
}

// repairTokens fixes what gonja's lexer gets wrong inside {{ }} and {% %}:
//
//   - A character the lexer does not know is skipped and glued to the front
//     of the next token: a newline or another space ("{{ a +\nb }}" reads
//     the name "\nb"), but also "?", ";", "$" or an emoji ("{{ a😀 }}"
//     prints a). Spaces are cut off again; anything else is a syntax error,
//     as in Jinja2.
//   - A name starting with a digit ("1a", a number followed by letters) is
//     a syntax error, not a variable; after skipped characters, 0x1F, 0o17
//     and 0b11 are such names, and are made integers again.
//   - The operators in, is, and, or and not come out as names when
//     something other than a space follows them; they are made operators.
//     After a dot they are attribute names (d.in).
//   - Right after a dot, "0.1" is two integer attributes, not a float
//     (Jinja2 never starts a number after a dot): x.0.1 is x[0][1].
//   - A newline right after "{%" leaves an empty tag name, which is dropped.
//
// input is the text the tokens were lexed from; at converts an offset in it
// to a line and column.
func repairTokens(toks []*tokens.Token, input string, at func(int) (int, int)) ([]*tokens.Token, error) {
	out := toks[:0] // filtered in place until a split needs room
	inPlace := true
	inTag := false
	prevEnd := 0 // where the previous token of the tag ends in input
	var prev *tokens.Token
	for i, t := range toks {
		switch {
		case t.Type == tokens.VariableBegin || t.Type == tokens.BlockBegin:
			inTag, prevEnd, prev = true, t.Pos+len(t.Val), t
			out = append(out, t)
			continue
		case !inTag || t.Type == tokens.EOF || t.Type == tokens.Error:
			out = append(out, t)
			continue
		case t.Type == tokens.Name && t.Val == "":
			if i+1 < len(toks) && toks[i+1].Type == tokens.Name {
				continue // "{%\nif": the name follows
			}
			out = append(out, t)
			continue
		}
		prefixStart, start := t.Pos, t.Pos
		for start < len(input) {
			r, size := utf8.DecodeRuneInString(input[start:])
			if !skippedByLexer(r) {
				break
			}
			start += size
		}
		for pos := prevEnd; pos < start; {
			r, size := utf8.DecodeRuneInString(input[pos:])
			if !unicode.IsSpace(r) {
				line, col := at(pos)
				return nil, &SyntaxError{Line: line, Col: col, Msg: fmt.Sprintf("unexpected char %q", r)}
			}
			pos += size
		}
		if cut := start - t.Pos; cut > 0 && cut <= len(t.Val) {
			// For a string the value is unquoted, but the spaces cut are
			// still its first bytes.
			t.Val = t.Val[cut:]
			t.Pos = start
			t.Line, t.Col = at(start)
		}
		afterDot := prev != nil && prev.Type == tokens.Dot
		switch t.Type {
		case tokens.In, tokens.Is, tokens.And, tokens.Or, tokens.Not:
			if afterDot {
				t.Type = tokens.Name // an attribute: d.in
			}
		case tokens.Name:
			if start > prefixStart && isPrefixedInteger(t.Val) {
				// gonja recognizes 0x, 0o and 0b only at the start of a
				// token, which the skipped characters were.
				t.Type = tokens.Integer
				break
			}
			if r, _ := utf8.DecodeRuneInString(t.Val); unicode.IsDigit(r) {
				return nil, &SyntaxError{Line: t.Line, Col: t.Col, Msg: fmt.Sprintf("invalid name %q: a name cannot start with a digit", t.Val)}
			}
			// At the end of a tag ("{{ a is }}") the name stays: gonja's
			// parser reports it, where it fails on the operator.
			if typ, ok := keywordTokens[t.Val]; ok && !afterDot && i+1 < len(toks) && !endsTag(toks[i+1].Type) {
				t.Type = typ
			}
		case tokens.Float:
			if afterDot && prev.Pos+len(prev.Val) == t.Pos {
				if split := splitAttributes(t); split != nil {
					if inPlace {
						out = append(make([]*tokens.Token, 0, len(toks)+len(split)), out...)
						inPlace = false
					}
					out = append(out, split...)
					prev, prevEnd = split[len(split)-1], t.Pos+len(t.Val)
					continue
				}
			}
		case tokens.VariableEnd, tokens.BlockEnd:
			inTag = false
		}
		out = append(out, t)
		prev, prevEnd = t, tokenEnd(t, input)
	}
	return out, nil
}

// endsTag reports whether a token of type t ends a tag or the template.
func endsTag(t tokens.Type) bool {
	return t == tokens.VariableEnd || t == tokens.BlockEnd || t == tokens.EOF || t == tokens.Error
}

// isPrefixedInteger reports whether s is a hexadecimal, octal or binary
// integer literal (0x1F, 0o17, 0b1_0).
func isPrefixedInteger(s string) bool {
	if len(s) < 3 || s[0] != '0' {
		return false
	}
	var digit func(byte) bool
	switch s[1] {
	case 'x', 'X':
		digit = func(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
	case 'o', 'O':
		digit = func(c byte) bool { return c >= '0' && c <= '7' }
	case 'b', 'B':
		digit = func(c byte) bool { return c == '0' || c == '1' }
	default:
		return false
	}
	for i := 2; i < len(s); i++ {
		if !digit(s[i]) && (s[i] != '_' || i == len(s)-1 || s[i+1] == '_') {
			return false
		}
	}
	return true
}

// skippedByLexer reports whether gonja's expression lexer passes over r
// without making a token of it.
func skippedByLexer(r rune) bool {
	switch {
	case r == ' ' || r == '\t' || r == '"' || r == '\'' || r == '_':
		return false
	case strings.ContainsRune(",|+-~:.%/<>*!=()[]{}", r):
		return false
	}
	return !unicode.IsLetter(r) && !unicode.IsDigit(r)
}

// tokenEnd is the offset in input just after the source of t.
func tokenEnd(t *tokens.Token, input string) int {
	if t.Type != tokens.String {
		return t.Pos + len(t.Val)
	}
	// The value of a string is unquoted: find its closing quote as gonja's
	// lexer does (a quote after a backslash does not close it).
	quote, size := utf8.DecodeRuneInString(input[t.Pos:])
	var prev rune
	for i := t.Pos + size; i < len(input); {
		r, size := utf8.DecodeRuneInString(input[i:])
		i += size
		if r == quote && prev != '\\' {
			return i
		}
		prev = r
	}
	return len(input)
}

// splitAttributes splits the float "0.1" that follows a dot into the
// integers 0 and 1 with a dot between them ("0." into 0 and a dot); nil if
// t is not of that form.
func splitAttributes(t *tokens.Token) []*tokens.Token {
	dot := strings.IndexByte(t.Val, '.')
	if dot <= 0 || !allDigits(t.Val[:dot]) || !allDigits(t.Val[dot+1:]) {
		return nil
	}
	part := func(typ tokens.Type, from, to int) *tokens.Token {
		return &tokens.Token{Type: typ, Val: t.Val[from:to], Pos: t.Pos + from, Line: t.Line, Col: t.Col + from}
	}
	out := []*tokens.Token{part(tokens.Integer, 0, dot), part(tokens.Dot, dot, dot+1)}
	if dot+1 < len(t.Val) {
		out = append(out, part(tokens.Integer, dot+1, len(t.Val)))
	}
	return out
}

func allDigits(s string) bool {
	for _, r := range s {
		if !unicode.IsDigit(r) && r != '_' {
			return false
		}
	}
	return true
}
