package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
)

// jsonLines reads r line by line and calls each with the line's number
// (from 1) and text; each returns the value to print as one JSON line on w.
// It stops at the end of r, at the first error (which each should prefix
// with "stdin:LINE:"), or when ctx is cancelled. The tokenize and template
// commands are built on it.
func jsonLines(ctx context.Context, r io.Reader, w io.Writer, each func(line int, text []byte) (any, error)) error {
	in := bufio.NewReader(r)
	out := bufio.NewWriter(w)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for line := 1; ; line++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		text, err := in.ReadBytes('\n')
		if len(text) == 0 && err == io.EOF {
			return nil
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("reading standard input: %w", err)
		}
		v, err := each(line, text)
		if err != nil {
			return err
		}
		if err := enc.Encode(v); err != nil {
			return err
		}
	}
}
