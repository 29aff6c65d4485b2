//go:build !linux && !darwin

package engine

import "os"

// termWidth returns 0: the width is unknown here, and the console assumes
// 80 columns.
func termWidth(f *os.File) int { return 0 }
