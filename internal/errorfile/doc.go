// Package errorfile checks the diagnostics of a pipeline file against the
// "# ERROR: <Summary>" comments written on its bad lines, for the
// error-file tests of engine and stages (terraform's
// TestParserLoadConfigFileError).
package errorfile
