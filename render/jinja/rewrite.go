package jinja

import (
	"fmt"
	"slices"

	"github.com/nikolalohinski/gonja/v2/tokens"
)

// Token rewrites for Jinja2 syntax that gonja's parser does not accept or
// gets wrong, applied between lexing and parsing:
//
//   - "not not x" becomes "not (not x)" (gonja takes one "not");
//   - "a if b else c" inside brackets, e.g. f(a if b else c) or
//     [a if b], becomes a call of the internal condFunc, which the
//     evaluator runs lazily (gonja parses it only at the top of {{ }});
//   - chained comparisons "a < b < c" become a call of the internal
//     chainFunc(a, "<", b, "<", c), evaluated as Python reads the chain
//     (gonja reads "(a < b) < c");
//   - a call of a filter's result, "x|f(a)(b)", becomes a filter of the
//     internal callFunc, "x|f(a)|callFunc(b)" (gonja allows no call after a
//     filter);
//   - a trailing comma in a dict literal or in call arguments, "{1: 2,}"
//     or "f(a,)", is dropped (gonja accepts it only in lists and tuples);
//   - a tuple without parentheses in {{ }}, "{{ a, b }}", gets them.
//
// Rewrites work on one tag at a time; a tag may hold at most MaxTagTokens
// tokens, which bounds their cost.

// Internal function and filter names; no template can spell them.
const (
	condFunc  = "\x00if"
	chainFunc = "\x00cmp"
	callFunc  = "\x00call"
)

// MaxTagTokens is the most tokens a single {{ }} or {% %} tag may hold.
const MaxTagTokens = 4096

// maxRewrittenNesting bounds the nesting the rewrites may create (a chain
// of "not" or of "else … if").
const maxRewrittenNesting = 4 * MaxNesting

func rewriteTokens(toks []*tokens.Token) ([]*tokens.Token, error) {
	out := make([]*tokens.Token, 0, len(toks)+len(toks)/8)
	for i := 0; i < len(toks); {
		t := toks[i]
		if t.Type != tokens.VariableBegin && t.Type != tokens.BlockBegin {
			out = append(out, t)
			i++
			continue
		}
		j := i + 1
		for j < len(toks) && toks[j].Type != tokens.VariableEnd && toks[j].Type != tokens.BlockEnd &&
			toks[j].Type != tokens.EOF && toks[j].Type != tokens.Error {
			j++
		}
		if j-i > MaxTagTokens {
			return nil, &SyntaxError{Line: t.Line, Col: t.Col, Msg: fmt.Sprintf("tag longer than %d tokens", MaxTagTokens)}
		}
		tag := append([]*tokens.Token(nil), toks[i+1:j]...)
		if t.Type == tokens.VariableBegin {
			tag = wrapBareTuple(tag)
		}
		tag = dropTrailingCommas(tag, t.Type == tokens.BlockBegin)
		tag = rewriteFilterCalls(tag)
		tag = wrapDoubleNot(tag)
		tag = rewriteCondExprs(tag)
		tag = rewriteChainedComparisons(tag)
		depth, deepest := 0, 0
		for _, tok := range tag {
			if isOpen(tok.Type) {
				depth++
				deepest = max(deepest, depth)
			} else if isClose(tok.Type) {
				depth--
			}
		}
		if deepest > maxRewrittenNesting {
			return nil, &SyntaxError{Line: t.Line, Col: t.Col, Msg: "expression nested too deeply"}
		}
		out = append(append(out, t), tag...)
		i = j
	}
	return out, nil
}

func synth(at *tokens.Token, typ tokens.Type, val string) *tokens.Token {
	return &tokens.Token{Type: typ, Val: val, Pos: at.Pos, Line: at.Line, Col: at.Col}
}

// wrapDoubleNot rewrites "not not x" into "not (not x)": a run of k nots
// gets k-1 parentheses, closed where the operand of the last one ends.
func wrapDoubleNot(toks []*tokens.Token) []*tokens.Token {
	var openAfter []bool         // a parenthesis opens after this "not"
	closeBefore := map[int]int{} // token index → parentheses closing before it
	for i := 0; i+1 < len(toks); i++ {
		if toks[i].Type != tokens.Not || toks[i+1].Type != tokens.Not {
			continue
		}
		k := i
		for k+1 < len(toks) && toks[k+1].Type == tokens.Not {
			k++
		}
		if openAfter == nil {
			openAfter = make([]bool, len(toks))
		}
		closeBefore[operandEnd(toks, k+1)] += k - i
		for n := i; n < k; n++ {
			openAfter[n] = true
		}
		i = k
	}
	if openAfter == nil {
		return toks
	}
	out := make([]*tokens.Token, 0, len(toks)+2*len(closeBefore))
	for i, t := range toks {
		for range closeBefore[i] {
			out = append(out, synth(t, tokens.RightParenthesis, ")"))
		}
		out = append(out, t)
		if openAfter[i] {
			out = append(out, synth(t, tokens.LeftParenthesis, "("))
		}
	}
	for range closeBefore[len(toks)] {
		out = append(out, synth(toks[len(toks)-1], tokens.RightParenthesis, ")"))
	}
	return out
}

// scanForward returns the index of the token that ends the run starting at
// i: a closing bracket at bracket depth 0, or the first other token j for
// which stop(j, depth) holds (depth counts the brackets opened since i);
// len(toks) if there is none.
func scanForward(toks []*tokens.Token, i int, stop func(j, depth int) bool) int {
	depth := 0
	for j := i; j < len(toks); j++ {
		switch t := toks[j].Type; {
		case isOpen(t):
			depth++
		case isClose(t):
			if depth == 0 {
				return j
			}
			depth--
		case stop(j, depth):
			return j
		}
	}
	return len(toks)
}

// scanBack is scanForward leftwards from i-1: it returns the first token
// of the run that ends before i, the one after an opening bracket at depth
// 0 or after the token j for which stop(j, depth) holds; 0 if there is none.
func scanBack(toks []*tokens.Token, i int, stop func(j, depth int) bool) int {
	depth := 0
	for j := i - 1; j >= 0; j-- {
		switch t := toks[j].Type; {
		case isClose(t):
			depth++
		case isOpen(t):
			if depth == 0 {
				return j + 1
			}
			depth--
		case stop(j, depth):
			return j + 1
		}
	}
	return 0
}

// operandEnd returns the index of the token ending the operand of "not"
// that starts at i: the next and/or, comma, closing bracket or tag end at
// bracket depth 0.
func operandEnd(toks []*tokens.Token, i int) int {
	return scanForward(toks, i, func(j, depth int) bool {
		if depth > 0 {
			return false
		}
		switch t := toks[j]; t.Type {
		case tokens.And, tokens.Or, tokens.Comma, tokens.Colon, tokens.VariableEnd, tokens.BlockEnd,
			tokens.EOF, tokens.Error:
			return true
		case tokens.Name:
			return t.Val == "if" || t.Val == "elif" || t.Val == "else" || t.Val == "recursive"
		}
		return false
	})
}

func isOpen(t tokens.Type) bool {
	return t == tokens.LeftParenthesis || t == tokens.LeftBracket || t == tokens.LeftBrace
}

func isClose(t tokens.Type) bool {
	return t == tokens.RightParenthesis || t == tokens.RightBracket || t == tokens.RightBrace
}

func isTagEdge(t tokens.Type) bool {
	switch t {
	case tokens.VariableBegin, tokens.VariableEnd, tokens.BlockBegin, tokens.BlockEnd, tokens.EOF, tokens.Error, tokens.Data:
		return true
	}
	return false
}

// elementStart returns the first token of the bracketed element that
// contains i: the token after the opening bracket, comma, colon or "=".
func elementStart(toks []*tokens.Token, i int) int {
	return scanBack(toks, i, func(j, depth int) bool {
		t := toks[j].Type
		return depth == 0 && (t == tokens.Comma || t == tokens.Colon || t == tokens.Assign) || isTagEdge(t)
	})
}

// elementEnd returns the index of the comma, colon or closing bracket that
// ends the element containing i; with stopAtElse, an "else" at the same
// depth ends it too.
func elementEnd(toks []*tokens.Token, i int, stopAtElse bool) int {
	return scanForward(toks, i, func(j, depth int) bool {
		t := toks[j]
		switch {
		case depth == 0 && (t.Type == tokens.Comma || t.Type == tokens.Colon):
			return true
		case depth == 0 && stopAtElse && t.Type == tokens.Name && t.Val == "else":
			return true
		}
		return isTagEdge(t.Type)
	})
}

// rewriteCondExprs turns "a if b else c" inside brackets into
// condFunc(a, b, c).
func rewriteCondExprs(toks []*tokens.Token) []*tokens.Token {
	depth := 0
	for at := 0; at < len(toks); at++ {
		t := toks[at]
		switch {
		case isOpen(t.Type):
			depth++
			continue
		case isClose(t.Type):
			depth--
			continue
		case depth <= 0 || t.Type != tokens.Name || t.Val != "if":
			continue
		}
		start := elementStart(toks, at)
		elseAt := elementEnd(toks, at+1, true)
		hasElse := elseAt < len(toks) && toks[elseAt].Type == tokens.Name && toks[elseAt].Val == "else"
		end := elseAt
		if hasElse {
			end = elementEnd(toks, elseAt+1, false)
		}
		if start >= at || (hasElse && end <= elseAt+1) || elseAt <= at+1 {
			return toks // malformed: let the parser report it
		}
		ifTok := t
		repl := []*tokens.Token{synth(ifTok, tokens.Name, condFunc), synth(ifTok, tokens.LeftParenthesis, "(")}
		repl = append(repl, toks[start:at]...)
		repl = append(repl, synth(ifTok, tokens.Comma, ","))
		repl = append(repl, toks[at+1:elseAt]...)
		if hasElse {
			repl = append(repl, synth(ifTok, tokens.Comma, ","))
			repl = append(repl, toks[elseAt+1:end]...)
		}
		repl = append(repl, synth(ifTok, tokens.RightParenthesis, ")"))
		toks = slices.Replace(toks, start, end, repl...)
		at = start // continue inside the rewritten element, at the same depth
	}
	return toks
}

var comparisonSymbol = map[tokens.Type]string{
	tokens.Equals: "==", tokens.Ne: "!=", tokens.LowerThan: "<", tokens.LowerThanOrEqual: "<=",
	tokens.GreaterThan: ">", tokens.GreaterThanOrEqual: ">=",
}

func isComparison(t tokens.Type) bool {
	switch t {
	case tokens.Equals, tokens.Ne, tokens.LowerThan, tokens.LowerThanOrEqual, tokens.GreaterThan, tokens.GreaterThanOrEqual:
		return true
	}
	return false
}

// comparandBoundary reports whether a token ends a comparison chain.
func comparandBoundary(t *tokens.Token) bool {
	switch t.Type {
	case tokens.And, tokens.Or, tokens.Not, tokens.Comma, tokens.Colon, tokens.Assign, tokens.Is, tokens.In:
		return true
	case tokens.Name:
		return t.Val == "if" || t.Val == "elif" || t.Val == "else" || t.Val == "recursive"
	}
	return isTagEdge(t.Type)
}

// rewriteChainedComparisons turns "a < b < c" into
// chainFunc(a, "<", b, "<", c).
func rewriteChainedComparisons(toks []*tokens.Token) []*tokens.Token {
	for i := 0; i < len(toks); i++ {
		if !isComparison(toks[i].Type) {
			continue
		}
		ops := []int{i}
		end := scanForward(toks, i+1, func(j, depth int) bool {
			if depth > 0 {
				return false
			}
			if isComparison(toks[j].Type) {
				ops = append(ops, j)
				return false
			}
			return comparandBoundary(toks[j])
		})
		if len(ops) < 2 {
			continue
		}
		start := chainStart(toks, i)
		at := toks[i]
		repl := []*tokens.Token{synth(at, tokens.Name, chainFunc), synth(at, tokens.LeftParenthesis, "(")}
		prev := start
		for _, op := range ops {
			repl = append(repl, toks[prev:op]...)
			repl = append(repl, synth(at, tokens.Comma, ","), synth(toks[op], tokens.String, comparisonSymbol[toks[op].Type]), synth(at, tokens.Comma, ","))
			prev = op + 1
		}
		repl = append(repl, toks[prev:end]...)
		repl = append(repl, synth(at, tokens.RightParenthesis, ")"))
		toks = slices.Replace(toks, start, end, repl...)
		i = start + 1 // operands may hold chains of their own
	}
	return toks
}

// chainStart returns the first token of the left operand of the
// comparison at i.
func chainStart(toks []*tokens.Token, i int) int {
	return scanBack(toks, i, func(j, depth int) bool {
		return depth == 0 && comparandBoundary(toks[j])
	})
}

// matchBrackets returns, for each bracket in toks, the index of the bracket
// that matches it; -1 for other tokens and unmatched brackets.
func matchBrackets(toks []*tokens.Token) []int {
	match := make([]int, len(toks))
	var open []int
	for i, t := range toks {
		match[i] = -1
		switch {
		case isOpen(t.Type):
			open = append(open, i)
		case isClose(t.Type) && len(open) > 0:
			o := open[len(open)-1]
			open = open[:len(open)-1]
			match[i], match[o] = o, i
		}
	}
	return match
}

// keywordNames are the names that end no operand: "if (1,)" is a tuple,
// "f (1,)" a call.
var keywordNames = map[string]bool{"if": true, "elif": true, "else": true, "recursive": true}

// endsOperand reports whether toks[i] can end an operand, so that a
// bracket after it is a call or a subscript rather than a new operand. In a
// {% %} tag (block), the first token is the tag's name, which ends nothing.
func endsOperand(toks []*tokens.Token, i int, block bool) bool {
	if i < 0 || block && i == 0 {
		return false
	}
	switch t := toks[i]; t.Type {
	case tokens.Name:
		return !keywordNames[t.Val]
	case tokens.Integer, tokens.Float, tokens.String:
		return true
	}
	return isClose(toks[i].Type)
}

// wrapBareTuple puts parentheses around the expression of a {{ }} tag that
// is a tuple without them: {{ a, b }} prints (a, b).
func wrapBareTuple(toks []*tokens.Token) []*tokens.Token {
	if len(toks) == 0 {
		return toks
	}
	if end := scanForward(toks, 0, func(j, depth int) bool { return depth == 0 && toks[j].Type == tokens.Comma }); end == len(toks) || toks[end].Type != tokens.Comma {
		return toks
	}
	out := make([]*tokens.Token, 0, len(toks)+2)
	out = append(out, synth(toks[0], tokens.LeftParenthesis, "("))
	out = append(out, toks...)
	return append(out, synth(toks[len(toks)-1], tokens.RightParenthesis, ")"))
}

// dropTrailingCommas removes the comma before the closing brace of a dict
// literal and before the closing parenthesis of a call's arguments. Commas
// after an opening bracket or another comma stay (and fail in the parser),
// as do trailing commas of tuples, where they matter ((1,)), and of macro
// parameters, which Jinja2 rejects.
func dropTrailingCommas(toks []*tokens.Token, block bool) []*tokens.Token {
	signature := -1 // the parenthesis opening a macro's parameters
	if block && len(toks) > 2 && toks[0].Val == "macro" {
		signature = 2
	}
	var match []int
	var out []*tokens.Token // nil until a comma is dropped
	for i, t := range toks {
		drop := false
		if t.Type == tokens.Comma && i >= 1 && i+1 < len(toks) && toks[i-1].Type != tokens.Comma && !isOpen(toks[i-1].Type) {
			switch toks[i+1].Type {
			case tokens.RightBrace:
				drop = true
			case tokens.RightParenthesis:
				if match == nil {
					match = matchBrackets(toks)
				}
				open := match[i+1]
				drop = open >= 0 && open != signature && endsOperand(toks, open-1, block)
			}
		}
		if drop && out == nil {
			out = append(make([]*tokens.Token, 0, len(toks)), toks[:i]...)
		}
		if !drop && out != nil {
			out = append(out, t)
		}
	}
	if out == nil {
		return toks
	}
	return out
}

// rewriteFilterCalls turns "x|f(a)(b)", a call of what a filter returns,
// into "x|f(a)|callFunc(b)": the internal filter callFunc calls its value.
// As in Jinja2, only calls, filters and tests may follow a filter:
// "x|f()().y" stays a syntax error.
func rewriteFilterCalls(toks []*tokens.Token) []*tokens.Token {
	var match []int
	var calls []bool // calls[i]: toks[i] opens the arguments of a rewritten call
	var out []*tokens.Token
	for i, t := range toks {
		if t.Type == tokens.LeftParenthesis && i >= 1 && toks[i-1].Type == tokens.RightParenthesis {
			if match == nil {
				match, calls = matchBrackets(toks), make([]bool, len(toks))
			}
			open, end := match[i-1], match[i]
			afterFilter := open >= 2 && toks[open-1].Type == tokens.Name && toks[open-2].Type == tokens.Pipe ||
				open >= 0 && calls[open]
			followed := end >= 0 && end+1 < len(toks) && (toks[end+1].Type == tokens.Dot || toks[end+1].Type == tokens.LeftBracket)
			if afterFilter && end >= 0 && !followed {
				if out == nil {
					out = append(make([]*tokens.Token, 0, len(toks)+8), toks[:i]...)
				}
				out = append(out, synth(t, tokens.Pipe, "|"), synth(t, tokens.Name, callFunc))
				calls[i] = true
			}
		}
		if out != nil {
			out = append(out, t)
		}
	}
	if out == nil {
		return toks
	}
	return out
}
