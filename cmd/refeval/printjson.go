package main

import (
	"encoding/json"
	"fmt"
	"os"
)

// printJSON prints v to standard output as indented JSON and a newline:
// the --json form of plan and cache ls.
func printJSON(v any) error {
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(os.Stdout, "%s\n", out)
	return err
}
