package engine

import (
	"bytes"
	"runtime"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// splitMin is the smallest file splitParse cuts, splitPart the least it
// gives one goroutine (below them a second goroutine costs more than it
// saves) and splitWays the most parts it cuts. Variables so that tests
// can cut small files into many parts.
var (
	splitMin, splitPart = 16 << 10, 8 << 10
	splitWays           = func() int { return runtime.GOMAXPROCS(0) }
)

// splitParse parses a large pipeline file in parts on several goroutines:
// HCL's parser is a third of a no-op build's time at 200 stages, and it
// runs on one core. It cuts src only where a top-level block starts
// (items, from scanDepth: lines starting with a letter outside every
// bracket, quote, template and comment), parses each part with its own
// start position, so that every range is the one a parse of the whole
// file gives, and joins the parts' blocks in order. It returns nil, and
// the caller parses the whole file, when the file is small, when it cannot
// cut it, or when any part has a diagnostic or a top-level attribute: the
// whole file's parse then reports exactly what it always did (a part's
// error may read differently, and attributes are checked for duplicates
// across the file). TestSplitParseSameAsWhole and FuzzSplitParse check
// that a joined file is the whole file's parse.
func splitParse(src []byte, filename string, items []int) *hcl.File {
	parts := min(splitWays(), len(src)/splitPart)
	if len(src) < splitMin || parts < 2 || len(items) == 0 {
		return nil
	}
	// Cut at the item offsets nearest to equal shares of the bytes.
	cuts := []int{0}
	k := 0
	for p := 1; p < parts; p++ {
		want := len(src) * p / parts
		for k < len(items) && items[k] < want {
			k++
		}
		if k == len(items) {
			break
		}
		if items[k] > cuts[len(cuts)-1] {
			cuts = append(cuts, items[k])
		}
	}
	if len(cuts) < 2 {
		return nil
	}
	cuts = append(cuts, len(src))
	bodies := make([]*hclsyntax.Body, len(cuts)-1)
	failed := make([]bool, len(bodies))
	var wg sync.WaitGroup
	for i := range bodies {
		wg.Go(func() {
			start := hcl.Pos{Line: 1 + bytes.Count(src[:cuts[i]], []byte{'\n'}), Column: 1, Byte: cuts[i]}
			f, diags := hclsyntax.ParseConfig(src[cuts[i]:cuts[i+1]], filename, start)
			body, ok := f.Body.(*hclsyntax.Body)
			if len(diags) > 0 || !ok || len(body.Attributes) > 0 {
				failed[i] = true
				return
			}
			bodies[i] = body
		})
	}
	wg.Wait()
	joined := &hclsyntax.Body{Attributes: hclsyntax.Attributes{}}
	for i, b := range bodies {
		if failed[i] {
			return nil
		}
		joined.Blocks = append(joined.Blocks, b.Blocks...)
	}
	first, last := bodies[0], bodies[len(bodies)-1]
	joined.SrcRange = hcl.RangeBetween(first.SrcRange, last.SrcRange)
	joined.EndRange = last.EndRange
	return &hcl.File{Body: joined, Bytes: src}
}
