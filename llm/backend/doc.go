// Package backend creates GoMLX compute backends: the pure-Go backend by
// default, XLA (CPU or a GPU through a PJRT plugin) when GOMLX_BACKEND or
// the caller names it. It never downloads a plugin. Building graphs is left
// to package transformer.
package backend
