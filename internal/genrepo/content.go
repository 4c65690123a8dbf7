package genrepo

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// This file makes and edits the bytes of prompt files. Everything works on
// the file's text, line by line, so that the whole state of a prompt is its
// current content: an edit is a small, realistic change to a few lines, and a
// revert is an earlier string, byte for byte.

var (
	topics = []string{
		"support", "billing", "onboarding", "sales", "search", "legal", "hr",
		"marketing", "extraction", "analytics", "security", "shipping", "returns",
		"catalog", "feedback", "compliance", "finance", "product", "docs", "community",
	}
	actions = []string{
		"welcome", "followup", "summarize", "classify", "extract", "translate",
		"answer", "escalate", "reply", "triage", "review", "rewrite", "score",
		"route", "qualify", "explain", "compare", "draft", "check", "outline",
	}
	partialNames = []string{
		"safety", "tone", "format-json", "citations", "brand-voice", "pii",
		"escalation", "locale",
	}
	tagBank = []string{
		"support", "billing", "email", "chat", "rag", "classification", "extraction",
		"summarization", "translation", "internal", "customer-facing", "beta",
		"structured-output", "finance", "legal", "sales", "onboarding", "search",
	}
	models = []string{
		"{provider: openai, name: gpt-4o-mini}",
		"{provider: openai, name: gpt-4o}",
		"{provider: openai, name: gpt-4o-mini, fallback: {provider: anthropic, name: claude-3-5-haiku-latest}}",
		"{provider: anthropic, name: claude-3-5-haiku-latest}",
		"{provider: anthropic, name: claude-3-5-sonnet-latest}",
		"{provider: gemini, name: gemini-1.5-flash}",
	}
	temperatures = []string{"0", "0.1", "0.2", "0.3", "0.5", "0.7", "0.9", "1"}
	maxTokens    = []int{128, 256, 300, 400, 512, 600, 800, 1024, 2048}
	verbs        = []string{
		"Drafts", "Writes", "Summarizes", "Classifies", "Extracts", "Answers",
		"Rewrites", "Scores", "Routes", "Explains", "Checks", "Translates",
	}
	objects = []string{
		"a reply to a customer message", "the key facts of a support ticket",
		"an invoice into structured fields", "a follow-up email after a call",
		"a question from the knowledge base", "a product description",
		"a refund request", "a contract clause", "a bug report",
		"the sentiment of a review", "a meeting transcript", "a shipping delay notice",
	}
	audiences = []string{
		"customers", "the support team", "account managers", "new users",
		"the finance team", "executives", "partners", "internal reviewers",
	}
	adjectives = []string{
		"friendly", "neutral", "professional", "warm", "concise", "calm",
		"confident", "empathetic", "direct", "plain",
	}
	nouns = []string{
		"policies", "prices", "dates", "order numbers", "features", "names",
		"figures", "legal terms", "product names", "deadlines",
	}
	risks = []string{
		"fraud", "a legal threat", "a security incident", "self-harm",
		"a chargeback", "personal data", "a data breach", "harassment",
	}
	labels = []string{
		"billing, technical, account, other", "positive, neutral, negative",
		"urgent, normal, low", "bug, feature request, question",
		"spam, ham", "refund, exchange, repair",
	}
)

// variable is a template variable the generator uses, with the JSON Schema
// type an input_schema gives it and the default a template falls back to.
type variable struct {
	name, schema, fallback string
}

var variables = []variable{
	{"customer_name", "{type: string, minLength: 1}", `"there"`},
	{"tier", "{type: string, enum: [free, standard, premium], default: standard}", `"standard"`},
	{"question", "{type: string, minLength: 3}", `""`},
	{"text", "{type: string, maxLength: 50000}", `""`},
	{"order_id", "{type: string, pattern: \"^[A-Z0-9-]+$\"}", `"n/a"`},
	{"locale", "{type: string, default: en-US}", `"en-US"`},
	{"product", "{type: string}", `"our product"`},
	{"tone", "{type: string, enum: [friendly, formal, playful], default: friendly}", `"friendly"`},
	{"ticket_text", "{type: string}", `""`},
	{"language", "{type: string, default: English}", `"English"`},
	{"max_words", "{type: integer, minimum: 20, maximum: 500, default: 120}", `120`},
	{"company", "{type: string, default: ACME}", `"ACME"`},
}

func lookupVariable(name string) variable {
	for _, v := range variables {
		if v.name == name {
			return v
		}
	}
	return variable{name, "{type: string}", `""`}
}

// writer makes prompt content from a random source.
type writer struct{ r *rand.Rand }

func (w writer) pick(s []string) string { return s[w.r.IntN(len(s))] }
func (w writer) chance(p float64) bool  { return w.r.Float64() < p }

// ref renders a variable reference, sometimes with its default filter.
func (w writer) ref(name string) string {
	v := lookupVariable(name)
	switch w.r.IntN(4) {
	case 0:
		return "{{ " + name + " }}"
	case 1:
		if v.fallback != `""` {
			return "{{ " + name + " | default(" + v.fallback + ") }}"
		}
		return "{{ " + name + " | trim }}"
	default:
		return "{{ " + name + " | default(" + v.fallback + ") }}"
	}
}

// sentence returns one line of instructions. vars are the variables the
// prompt already reads; a sentence may reference one of them.
func (w writer) sentence(topic string, vars []string) string {
	v := "question"
	if len(vars) > 0 {
		v = vars[w.r.IntN(len(vars))]
	}
	n := func(lo, hi int) string { return strconv.Itoa(lo + w.r.IntN(hi-lo+1)) }
	switch w.r.IntN(22) {
	case 0:
		return "Answer in at most " + n(3, 40) + "0 words."
	case 1:
		return "Keep a " + w.pick(adjectives) + " tone and avoid jargon."
	case 2:
		return "Refer to " + w.ref(v) + " only when it helps the reader."
	case 3:
		return "If the request is about " + w.pick(topics) + ", link the matching help-center article."
	case 4:
		return "Never promise a delivery date; say it usually takes " + n(2, 9) + " business days."
	case 5:
		return "Write in " + w.ref("locale") + "."
	case 6:
		return "Summarize the key facts in " + n(2, 7) + " bullet points."
	case 7:
		return "Ask one clarifying question when " + w.ref(v) + " is ambiguous."
	case 8:
		return "Return plain text without markdown headings."
	case 9:
		return "Prefer short sentences; most readers are on a phone (" + n(60, 95) + "% of traffic)."
	case 10:
		return "Quote order numbers exactly as written, for example " + w.ref("order_id") + "."
	case 11:
		return "Do not invent " + w.pick(nouns) + "; say you are not sure instead."
	case 12:
		return "Thank the user for their patience when " + w.ref(v) + " mentions a delay."
	case 13:
		return "Flag anything that looks like " + w.pick(risks) + " for human review."
	case 14:
		return "End with a single next step the user can take today."
	case 15:
		return "Classify the message into one of: " + w.pick(labels) + "."
	case 16:
		return "Rate the " + w.pick(nouns) + " from 1 to " + n(3, 10) + " and explain the score in one sentence."
	case 17:
		return "You work for the " + topic + " team of " + w.ref("company") + "."
	case 18:
		return "Use the " + w.pick(adjectives) + " voice of the " + topic + " guidelines (revision " + n(2, 99) + ")."
	case 19:
		return "Mention " + w.ref("product") + " by name at most " + n(1, 3) + " times."
	case 20:
		return "When " + w.ref(v) + " is empty, reply with a short apology and stop."
	default:
		return "Escalate to a human after " + n(2, 5) + " unsuccessful attempts."
	}
}

// promptSpec says what kind of prompt file newContent makes.
type promptSpec struct {
	name         string // the prompt's name, for the explicit name line
	topic        string
	explicitName bool // write `name:` in the front matter
	frontMatter  bool
	chat         bool
	partials     []string // names of partial prompts that exist
}

// newContent returns the content of a new prompt file.
func (w writer) newContent(s promptSpec) string {
	var b strings.Builder
	nvars := 1 + w.r.IntN(3)
	var vars []string
	for _, i := range w.r.Perm(len(variables) - 1)[:nvars] { // never "company" as a main variable
		vars = append(vars, variables[i].name)
	}
	if s.frontMatter {
		b.WriteString("---\n")
		if s.explicitName {
			b.WriteString("name: " + s.name + "\n")
		}
		b.WriteString(w.descriptionLine() + "\n")
		b.WriteString(w.tagsLine(s.topic) + "\n")
		fmt.Fprintf(&b, "metadata: {owner_team: %s, reviewed: %t}\n", s.topic, w.chance(0.5))
		b.WriteString("model: " + w.pick(models) + "\n")
		b.WriteString(w.paramsLine() + "\n")
		if w.chance(0.45) {
			b.WriteString("input_schema:\n  type: object\n")
			b.WriteString("  required: [" + vars[0] + "]\n  properties:\n")
			for _, v := range vars {
				b.WriteString("    " + v + ": " + lookupVariable(v).schema + "\n")
			}
		}
		b.WriteString("---\n")
	}
	lines := func(k int) {
		for range k {
			b.WriteString(w.sentence(s.topic, vars) + "\n")
		}
	}
	include := func() {
		if len(s.partials) > 0 && w.chance(0.35) {
			b.WriteString(`{% include "` + w.pick(s.partials) + `" %}` + "\n")
		}
	}
	premium := func() {
		if w.chance(0.3) {
			b.WriteString("{% if tier == \"premium\" %}\n")
			b.WriteString("This customer is on the premium plan: mention the dedicated account manager.\n")
			b.WriteString("{% endif %}\n")
		}
	}
	if s.chat {
		b.WriteString("system:\n")
		b.WriteString("You are the " + s.topic + " assistant of " + w.ref("company") + ".\n")
		lines(2 + w.r.IntN(5))
		include()
		premium()
		b.WriteString("\nuser:\n")
		for _, v := range vars {
			b.WriteString(strings.ReplaceAll(v, "_", " ") + ": " + w.ref(v) + "\n")
		}
		return b.String()
	}
	lines(2 + w.r.IntN(5))
	include()
	premium()
	b.WriteString("\nInput:\n" + w.ref(vars[0]) + "\n")
	return b.String()
}

// newPartial returns the content of a partial prompt, one that others include.
func (w writer) newPartial(name string) string {
	var b strings.Builder
	b.WriteString("---\n")
	b.WriteString("description: Shared " + strings.ReplaceAll(name, "-", " ") + " rules (include it, do not copy it)\n")
	b.WriteString("tags: [partial, " + name + "]\n")
	b.WriteString("metadata: {owner_team: platform}\n")
	b.WriteString("---\n")
	for range 3 + w.r.IntN(3) {
		b.WriteString("- " + w.sentence("platform", nil) + "\n")
	}
	return b.String()
}

func (w writer) descriptionLine() string {
	return "description: " + w.pick(verbs) + " " + w.pick(objects) + " for " + w.pick(audiences)
}

func (w writer) tagsLine(topic string) string {
	tags := []string{topic}
	for range w.r.IntN(3) {
		t := w.pick(tagBank)
		if !contains(tags, t) {
			tags = append(tags, t)
		}
	}
	return "tags: [" + strings.Join(tags, ", ") + "]"
}

func (w writer) paramsLine() string {
	s := "params: {temperature: " + w.pick(temperatures) + ", max_tokens: " + strconv.Itoa(maxTokens[w.r.IntN(len(maxTokens))])
	if w.chance(0.25) {
		s += ", top_p: 0." + strconv.Itoa(5+w.r.IntN(5))
	}
	return s + "}"
}

// file is a prompt file's content split into its front matter lines (nil
// when it has none) and its body lines.
type file struct {
	fm   []string
	body []string
}

func splitFile(content string) file {
	lines := strings.Split(strings.TrimSuffix(content, "\n"), "\n")
	if len(lines) > 0 && lines[0] == "---" {
		for i := 1; i < len(lines); i++ {
			if lines[i] == "---" {
				return file{fm: lines[1:i:i], body: lines[i+1:]}
			}
		}
	}
	return file{body: lines}
}

func (f file) String() string {
	var b strings.Builder
	if f.fm != nil {
		b.WriteString("---\n")
		for _, l := range f.fm {
			b.WriteString(l + "\n")
		}
		b.WriteString("---\n")
	}
	for _, l := range f.body {
		b.WriteString(l + "\n")
	}
	return b.String()
}

// fmIndex returns the index of the front matter line starting with key+": ",
// or -1.
func (f file) fmIndex(key string) int {
	for i, l := range f.fm {
		if strings.HasPrefix(l, key+": ") {
			return i
		}
	}
	return -1
}

// textLines returns the indexes of the body lines an edit may rewrite:
// instructions, not role markers, tags, blank lines or variable lines.
func (f file) textLines() []int {
	var out []int
	for i, l := range f.body {
		if isTextLine(l) {
			out = append(out, i)
		}
	}
	return out
}

func isTextLine(l string) bool {
	switch {
	case l == "", l == "system:", l == "user:", l == "assistant:", l == "Input:":
		return false
	case strings.HasPrefix(l, "{%"), strings.HasPrefix(l, "{{"):
		return false
	case strings.Contains(l, ": {{"): // "customer name: {{ customer_name }}"
		return false
	}
	return true
}

// nameLine returns the value of the front matter's name line, or "".
func nameLine(content string) string {
	f := splitFile(content)
	if i := f.fmIndex("name"); i >= 0 {
		return strings.TrimPrefix(f.fm[i], "name: ")
	}
	return ""
}

// withName returns content with `name: name` as the first front matter line
// (adding a front matter if the file has none).
func withName(content, name string) string {
	f := splitFile(content)
	if i := f.fmIndex("name"); i >= 0 {
		f.fm[i] = "name: " + name
		return f.String()
	}
	f.fm = append([]string{"name: " + name}, f.fm...)
	return f.String()
}

// templateVars returns the variables content reads in {{ … }}, in order of
// first use.
func templateVars(content string) []string {
	var out []string
	for rest := content; ; {
		i := strings.Index(rest, "{{ ")
		if i < 0 {
			return out
		}
		rest = rest[i+3:]
		j := 0
		for j < len(rest) && (rest[j] == '_' || rest[j] >= 'a' && rest[j] <= 'z') {
			j++
		}
		if v := rest[:j]; v != "" && v != "company" && !contains(out, v) {
			out = append(out, v)
		}
	}
}

// edit returns content with one small change, never content itself. It
// returns a short description of the change for the commit message.
func (w writer) edit(content, topic string, partials []string, isPartial bool) (string, string) {
	for range 8 {
		out, what := w.edit1(content, topic, partials, isPartial)
		if out != content {
			return out, what
		}
	}
	// Rare: every attempt happened to reproduce the same text. A fresh
	// revision number always changes it.
	f := splitFile(content)
	line := fmt.Sprintf("(Revision %d of the %s guidelines.)", w.r.IntN(1_000_000), topic)
	if text := f.textLines(); len(text) > 0 {
		f.body[text[len(text)-1]] = line
	} else {
		f.body = append(f.body, line)
	}
	return f.String(), "reword instructions"
}

func (w writer) edit1(content, topic string, partials []string, isPartial bool) (string, string) {
	f := splitFile(content)
	vars := templateVars(content)
	text := f.textLines()
	k := w.r.IntN(100)
	if isPartial {
		k = 40 + w.r.IntN(45) // body edits only
	}
	switch {
	case k < 22 && f.fm != nil && f.fmIndex("params") >= 0:
		f.fm[f.fmIndex("params")] = w.paramsLine()
		return f.String(), "tune params"
	case k < 30 && f.fm != nil && f.fmIndex("description") >= 0:
		f.fm[f.fmIndex("description")] = w.descriptionLine()
		return f.String(), "reword description"
	case k < 35 && f.fm != nil && f.fmIndex("tags") >= 0:
		f.fm[f.fmIndex("tags")] = w.tagsLine(topic)
		return f.String(), "retag"
	case k < 40 && f.fm != nil && f.fmIndex("model") >= 0:
		f.fm[f.fmIndex("model")] = "model: " + w.pick(models)
		return f.String(), "switch model"
	case k < 70 && len(text) > 0:
		i := text[w.r.IntN(len(text))]
		f.body[i] = prefix(f.body[i]) + w.sentence(topic, vars)
		return f.String(), "reword instructions"
	}
	// Insertions and deletions keep a prompt between 3 and maxTextLines
	// instruction lines and at most two conditional blocks, so that even the
	// busiest prompt keeps a realistic size after a thousand edits.
	ifs := strings.Count(content, "{% if ")
	grow := len(text) < maxTextLines
	switch {
	case k < 85 && grow && len(text) > 0:
		i := text[w.r.IntN(len(text))]
		f.body = insert(f.body, i+1, prefix(f.body[i])+w.sentence(topic, vars))
		return f.String(), "add an instruction"
	case k < 92 && len(text) > 3:
		i := text[w.r.IntN(len(text))]
		f.body = dropEmptyBlocks(append(f.body[:i:i], f.body[i+1:]...))
		return f.String(), "drop an instruction"
	case k < 96 && len(partials) > 0 && len(text) > 0 && !strings.Contains(content, "{% include"):
		i := text[len(text)-1]
		f.body = insert(f.body, i+1, `{% include "`+w.pick(partials)+`" %}`)
		return f.String(), "include a partial"
	case k < 96:
	case ifs < 2 && grow && !isPartial:
		var top []int // text lines outside any block
		depth := 0
		for i, l := range f.body {
			switch {
			case strings.HasPrefix(l, "{% if "):
				depth++
			case strings.HasPrefix(l, "{% endif"):
				depth--
			case depth == 0 && isTextLine(l):
				top = append(top, i)
			}
		}
		if len(top) > 0 {
			i := top[w.r.IntN(len(top))]
			f.body = insert(f.body, i+1,
				"{% if "+w.pick([]string{"tier", "language", "tone"})+" %}",
				w.sentence(topic, vars),
				"{% endif %}")
			return f.String(), "add a conditional instruction"
		}
	case ifs > 0 && len(text) > 4:
		if b, ok := dropBlock(f.body, w.r.IntN(ifs)); ok {
			f.body = b
			return f.String(), "drop a conditional instruction"
		}
	}
	if len(text) > 0 {
		i := text[w.r.IntN(len(text))]
		f.body[i] = prefix(f.body[i]) + w.sentence(topic, vars)
		return f.String(), "reword instructions"
	}
	f.body = append(f.body, w.sentence(topic, vars))
	return f.String(), "add an instruction"
}

// maxTextLines is the most instruction lines an edit grows a prompt to.
const maxTextLines = 14

// prefix returns the list marker of line ("- " in partials), to keep on a
// line that replaces it or follows it.
func prefix(line string) string {
	if strings.HasPrefix(line, "- ") {
		return "- "
	}
	return ""
}

// dropEmptyBlocks removes {% if %} {% endif %} pairs with nothing between
// them.
func dropEmptyBlocks(body []string) []string {
	for i := 0; i+1 < len(body); i++ {
		if strings.HasPrefix(body[i], "{% if ") && strings.HasPrefix(body[i+1], "{% endif") {
			body = append(body[:i:i], body[i+2:]...)
			i = max(-1, i-2)
		}
	}
	return body
}

// dropBlock removes the n-th {% if %} … {% endif %} block (counting
// opening tags from the top), nested blocks included. It reports false if
// the block has no end.
func dropBlock(body []string, n int) ([]string, bool) {
	seen := 0
	for i, l := range body {
		if !strings.HasPrefix(l, "{% if ") {
			continue
		}
		if seen < n {
			seen++
			continue
		}
		depth := 0
		for j := i; j < len(body); j++ {
			switch {
			case strings.HasPrefix(body[j], "{% if "):
				depth++
			case strings.HasPrefix(body[j], "{% endif"):
				depth--
			}
			if depth == 0 {
				return append(body[:i:i], body[j+1:]...), true
			}
		}
		return body, false
	}
	return body, false
}

// breakContent returns content made invalid on purpose: invalid YAML in
// the front matter, or an {% if %} without its {% endif %}. kind says which.
func (w writer) breakContent(content string) (string, string) {
	f := splitFile(content)
	if f.fm != nil && w.chance(0.6) {
		if i := f.fmIndex("tags"); i >= 0 && w.chance(0.5) {
			f.fm[i] = strings.TrimSuffix(f.fm[i], "]") // unclosed flow sequence
			return f.String(), "yaml"
		}
		if i := f.fmIndex("description"); i >= 0 {
			// "a: b: c" — a mapping value where YAML allows none.
			f.fm[i] = "description: Note: " + strings.TrimPrefix(f.fm[i], "description: ")
			return f.String(), "yaml"
		}
	}
	text := f.textLines()
	at := len(f.body)
	if len(text) > 0 {
		at = text[0] + 1
	}
	f.body = insert(f.body, at, `{% if tier == "premium" %}`, "Offer the premium hotline.")
	return f.String(), "jinja"
}

func insert(s []string, i int, v ...string) []string {
	out := make([]string, 0, len(s)+len(v))
	out = append(out, s[:i]...)
	out = append(out, v...)
	return append(out, s[i:]...)
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
