package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/refeval/refeval/engine"
)

var cmdSweep = &Command{
	UsageLine: "sweep [--var name=v1,v2,...]... [--csv] [--all] [-j N] [-k] [--gpus N] [--cache DIR] [--no-wait] FILE [TARGET...]",
	Short:     "build a pipeline for every combination of variable values",
	Long: `
Sweep builds FILE once for every point of the grid that its --var flags
span: --var beta=0.01,0.02 --var prompt=base,refeval builds four variants.
Stages that a swept variable does not reach have the same ActionID in every
variant and run once.

At the end it prints a table with one row per grid point: the variable values
and the final values of every metrics.json (or last line of metrics.jsonl)
that the point's stages wrote, in columns named <stage address>:<metric>.
The --csv flag prints the table as CSV on stdout. The text table leaves out
the metric columns whose value is the same at every grid point (a line on
stderr says how many); --all keeps them, and --csv always has every column.
`,
}

var (
	sweepFlags commonFlags
	sweepCSV   bool
	sweepAll   bool
)

func init() {
	cmdSweep.Run = runSweep
	addBuildFlags(&cmdSweep.Flag, &sweepFlags)
	cmdSweep.Flag.BoolVar(&sweepCSV, "csv", false, "print the table as CSV (every column)")
	cmdSweep.Flag.BoolVar(&sweepAll, "all", false, "keep the metric columns that are the same at every grid point")
	register(cmdSweep)
}

// An axis is one swept variable and its values.
type axis struct {
	name   string
	values []string
}

// grid returns every combination of the axes' values, the first axis
// varying slowest.
func grid(axes []axis) []map[string]string {
	points := []map[string]string{{}}
	for _, ax := range axes {
		var next []map[string]string
		for _, p := range points {
			for _, v := range ax.values {
				q := map[string]string{ax.name: v}
				for k, pv := range p {
					q[k] = pv
				}
				next = append(next, q)
			}
		}
		points = next
	}
	return points
}

func runSweep(ctx context.Context, cmd *Command, args []string) error {
	if len(args) < 1 {
		return usageErrorf("missing pipeline FILE")
	}
	f := &sweepFlags
	var axes []axis
	seen := map[string]int{}
	for _, s := range f.vars {
		name, val, _ := strings.Cut(s, "=")
		if i, ok := seen[name]; ok {
			axes[i].values = strings.Split(val, ",")
			continue
		}
		seen[name] = len(axes)
		axes = append(axes, axis{name: name, values: strings.Split(val, ",")})
	}
	points := grid(axes)
	var sels []engine.Selection
	var all []*engine.Instance
	for _, pt := range points {
		p, err := loadPipeline(ctx, args[0], pt)
		if err != nil {
			return err
		}
		sel, err := p.Select(args[1:])
		if err != nil {
			return err
		}
		var label []string
		for _, ax := range axes {
			label = append(label, ax.name+"="+pt[ax.name])
		}
		sels = append(sels, engine.Selection{Pipeline: p, Stages: sel, Label: strings.Join(label, " ")})
		all = append(all, sel...)
	}
	var selStages [][]*engine.Instance
	for _, s := range sels {
		selStages = append(selStages, s.Stages)
	}
	if err := setupExecutors(f, sels[0].Pipeline, selStages); err != nil {
		return err
	}
	devs := devicesFor(f, localStages(f, all))
	for _, s := range sels {
		if err := printDiags(s.Pipeline, engine.CheckDevices(localStages(f, s.Stages), len(devs))); err != nil {
			return err
		}
	}
	c, err := openCache(ctx, f, cacheDir(f, sels[0].Pipeline))
	if err != nil {
		return err
	}
	defer c.Close()
	rep := build(ctx, c, f, devs, sels)

	// One row per grid point: its variables, then its stages' metrics.
	byPipeline := map[*engine.Pipeline][]*engine.Result{}
	for _, r := range rep.Results {
		byPipeline[r.Pipeline] = append(byPipeline[r.Pipeline], r)
	}
	cols := map[string]bool{}
	rows := make([]map[string]string, len(points))
	for i, sel := range sels {
		rows[i] = map[string]string{}
		for _, r := range byPipeline[sel.Pipeline] {
			if r.Status != engine.StatusRan && r.Status != engine.StatusCached && r.Status != engine.StatusRemote {
				continue
			}
			for k, v := range readMetrics(r.Out) {
				col := strings.TrimPrefix(r.Instance.Addr, "stage.") + ":" + k
				cols[col] = true
				rows[i][col] = v
			}
		}
	}
	header := make([]string, 0, len(axes)+len(cols))
	for _, ax := range axes {
		header = append(header, ax.name)
	}
	metricCols := make([]string, 0, len(cols))
	for c := range cols {
		metricCols = append(metricCols, c)
	}
	sort.Strings(metricCols)
	if !sweepCSV && !sweepAll && len(points) > 1 {
		varying := metricCols[:0]
		for _, c := range metricCols {
			if !constantColumn(rows, c) {
				varying = append(varying, c)
			}
		}
		if n := len(metricCols) - len(varying); n > 0 {
			fmt.Fprintf(os.Stderr, "refeval: %d metric columns have the same value at every grid point and are left out (--all or --csv shows them)\n", n)
		}
		metricCols = varying
	}
	header = append(header, metricCols...)
	table := [][]string{header}
	for i, pt := range points {
		row := make([]string, 0, len(header))
		for _, ax := range axes {
			row = append(row, pt[ax.name])
		}
		for _, c := range metricCols {
			v, ok := rows[i][c]
			if !ok {
				v = "-"
			}
			row = append(row, v)
		}
		table = append(table, row)
	}
	err = finishBuild(ctx, rep, f)
	printTable(table)
	return err
}

// constantColumn reports whether column c has the same value (or is
// missing) in every row.
func constantColumn(rows []map[string]string, c string) bool {
	for _, r := range rows[1:] {
		if r[c] != rows[0][c] {
			return false
		}
	}
	return true
}

func printTable(table [][]string) {
	if sweepCSV {
		w := csv.NewWriter(os.Stdout)
		w.WriteAll(table)
		return
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	for _, row := range table {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
}

// readMetrics returns the final values in an output folder's metrics.json
// (an object; for array values, the last element) and the last line of its
// metrics.jsonl. Nested objects become dotted keys.
func readMetrics(dir string) map[string]string {
	out := map[string]string{}
	if data, err := os.ReadFile(filepath.Join(dir, "metrics.json")); err == nil {
		var m map[string]any
		if json.Unmarshal(data, &m) == nil {
			flatten("", m, out)
		}
	}
	if data, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl")); err == nil {
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		var m map[string]any
		if json.Unmarshal([]byte(lines[len(lines)-1]), &m) == nil {
			flatten("", m, out)
		}
	}
	return out
}

func flatten(prefix string, m map[string]any, out map[string]string) {
	for k, v := range m {
		key := prefix + k
		if arr, ok := v.([]any); ok && len(arr) > 0 {
			v = arr[len(arr)-1]
		}
		switch v := v.(type) {
		case map[string]any:
			flatten(key+".", v, out)
		case float64:
			out[key] = strconv.FormatFloat(v, 'g', 6, 64)
		case string:
			out[key] = v
		case bool:
			out[key] = strconv.FormatBool(v)
		}
	}
}
