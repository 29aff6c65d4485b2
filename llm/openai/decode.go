package openai

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
)

// ConfigSchema lists the attributes of a model block that names an
// OpenAI-compatible endpoint. A model block with an endpoint attribute is
// remote; the engine routes it here.
var ConfigSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "endpoint", Required: true},
		{Name: "name", Required: true},
		{Name: "api_key_env"},
		{Name: "max_concurrency"},
		{Name: "timeout"},
		{Name: "max_retries"},
	},
}

// attrKinds describes each attribute's type for diagnostics.
var attrKinds = map[string]string{
	"endpoint":        `a string such as "http://vllm-host:8000/v1"`,
	"name":            "a string",
	"api_key_env":     `the name of an environment variable, such as "OPENAI_API_KEY"`,
	"max_concurrency": "a whole number",
	"timeout":         `a duration string such as "90s"`,
	"max_retries":     "a whole number",
}

// envName is what a POSIX shell accepts as a variable name.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// DecodeConfig decodes a model block's endpoint attributes, evaluated in
// ectx, and returns the rest of the body for the caller. Absent attributes
// get the defaults; max_retries = 0 means no retries. Diagnostics never
// quote api_key_env's value when it looks like a key rather than a name.
func DecodeConfig(body hcl.Body, ectx *hcl.EvalContext) (Config, hcl.Body, hcl.Diagnostics) {
	var cfg Config
	content, remain, diags := body.PartialContent(ConfigSchema)
	attr := func(name string, target any) *hcl.Attribute {
		a := content.Attributes[name]
		if a == nil {
			return nil
		}
		d := gohcl.DecodeExpression(a.Expr, ectx, target)
		for _, diag := range d {
			if diag.Severity == hcl.DiagError && diag.Summary == "Unsuitable value type" {
				diag.Detail = fmt.Sprintf("%s must be %s; %s.", name, attrKinds[name],
					strings.TrimSuffix(strings.TrimPrefix(diag.Detail, "Unsuitable value: "), "."))
			}
		}
		diags = append(diags, d...)
		if d.HasErrors() {
			return nil
		}
		return a
	}
	bad := func(a *hcl.Attribute, summary, detail string) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  summary,
			Detail:   detail,
			Subject:  a.Expr.Range().Ptr(),
		})
	}

	if a := attr("endpoint", &cfg.Endpoint); a != nil {
		if _, err := parseEndpoint(cfg.Endpoint); err != nil {
			bad(a, "Invalid endpoint", fmt.Sprintf("%s.", trimPrefix(err.Error())))
		}
	}
	if a := attr("name", &cfg.Name); a != nil && cfg.Name == "" {
		bad(a, "Empty model name", "Set name to the model the server serves, as its /v1/models lists it.")
	}
	if a := attr("api_key_env", &cfg.APIKeyEnv); a != nil && !envName.MatchString(cfg.APIKeyEnv) {
		bad(a, "Invalid api_key_env", "api_key_env names the environment variable that holds the key, such as OPENAI_API_KEY; it must not hold the key itself. If you pasted a key here, remove it from the file and revoke it.")
		cfg.APIKeyEnv = ""
	}
	cfg.MaxConcurrency = DefaultMaxConcurrency
	if a := attr("max_concurrency", &cfg.MaxConcurrency); a != nil && cfg.MaxConcurrency < 1 {
		bad(a, "Invalid max_concurrency", "max_concurrency is the number of requests in flight at most; it must be at least 1.")
	}
	cfg.Timeout = DefaultTimeout
	var timeout string
	if a := attr("timeout", &timeout); a != nil {
		d, err := time.ParseDuration(timeout)
		switch {
		case err != nil:
			bad(a, "Invalid timeout", fmt.Sprintf("timeout is a duration such as \"90s\" or \"10m\", not %q.", timeout))
		case d <= 0:
			bad(a, "Invalid timeout", "timeout limits one request; it must be positive.")
		default:
			cfg.Timeout = d
		}
	}
	cfg.MaxRetries = DefaultMaxRetries
	if a := attr("max_retries", &cfg.MaxRetries); a != nil {
		switch {
		case cfg.MaxRetries < 0:
			bad(a, "Invalid max_retries", "max_retries counts retries after the first attempt; it must be 0 or more.")
		case cfg.MaxRetries == 0:
			cfg.MaxRetries = -1 // Config's way to say none
		}
	}
	return cfg, remain, diags
}

// trimPrefix drops the package prefix from an error message for use in a
// diagnostic's detail.
func trimPrefix(s string) string {
	const p = "openai: "
	if len(s) > len(p) && s[:len(p)] == p {
		s = s[len(p):]
	}
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s
}
