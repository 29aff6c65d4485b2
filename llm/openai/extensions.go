package openai

import (
	"net/url"
	"strings"
)

// noExtensionHosts are API hosts known to reject vLLM's extensions to the
// chat completions request (top_k and other extra sampling fields,
// continue_final_message, add_generation_prompt) with a 400 answer.
var noExtensionHosts = []string{"api.openai.com", ".openai.azure.com"}

// TakesExtensions says whether the server at endpoint may take vLLM's
// extra request fields: false for the hosted APIs known to reject them
// (OpenAI's and Azure OpenAI's), true otherwise (vLLM, SGLang and other
// servers built on them). Stages use it to reject, at load time, settings
// such a server cannot take.
func TakesExtensions(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return true
	}
	host := strings.ToLower(u.Hostname())
	for _, h := range noExtensionHosts {
		if host == h || strings.HasPrefix(h, ".") && strings.HasSuffix(host, h) {
			return false
		}
	}
	return true
}
