// Package llm is promptreg's LLM adapter: the clients of the OpenAI-compatible, Anthropic and
// Gemini HTTP APIs behind registry.LLM, and the model catalogue that prices their usage.
package llm
