// Command refeval is a make-like build tool for LLM self-improvement pipelines.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// A Command is one refeval subcommand (cmd/go/internal/base.Command).
type Command struct {
	// Run runs the command with the arguments left after flag parsing.
	Run func(ctx context.Context, cmd *Command, args []string) error
	// UsageLine is the one-line usage message; its first word is the command name.
	UsageLine string
	// Short is a one-line description shown by "refeval help".
	Short string
	// Long is the text shown by "refeval help <command>".
	Long string
	// Flag holds the command's flags.
	Flag flag.FlagSet
}

// Name returns the command's name: the first word of its usage line.
func (c *Command) Name() string {
	name, _, _ := strings.Cut(c.UsageLine, " ")
	return name
}

// Usage prints the usage line and flags to stderr.
func (c *Command) Usage() {
	fmt.Fprintf(os.Stderr, "usage: refeval %s\n", c.UsageLine)
	c.Flag.SetOutput(os.Stderr)
	c.Flag.PrintDefaults()
}

var commands = map[string]*Command{}

// register adds a subcommand; each subcommand's file calls it from init.
func register(c *Command) {
	if _, dup := commands[c.Name()]; dup {
		panic("refeval: duplicate command " + c.Name())
	}
	commands[c.Name()] = c
}

// errUsage marks a usage error: exit status 2.
var errUsage = errors.New("usage error")

// errReported marks an error already printed (for example HCL diagnostics): exit status 1, no second message.
var errReported = errors.New("error already reported")

// usageErrorf returns a usage error with a message.
func usageErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

func main() {
	tuneGC()
	exiting = true
	os.Exit(run(os.Args[1:], os.Stderr))
}

// exiting is true when run's return ends the process (main), not a test
// that calls run again.
var exiting bool

// run runs refeval with args and returns the exit status.
func run(args []string, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				fmt.Fprintf(os.Stdout, "usage: refeval %s\n\n%s\n", c.UsageLine, strings.TrimSpace(c.Long))
				return 0
			}
		}
		printHelp(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "refeval: unknown command %q\nRun 'refeval help' for usage.\n", args[0])
		return 2
	}
	c.Flag.Usage = c.Usage
	if err := c.Flag.Parse(interspersed(&c.Flag, args[1:])); err != nil {
		return 2
	}
	if err := checkFlags(&c.Flag); err != nil {
		fmt.Fprintf(stderr, "refeval %s: %v\nusage: refeval %s\n", c.Name(), err, c.UsageLine)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := c.Run(ctx, c, c.Flag.Args())
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errReported):
		return 1
	case errors.Is(err, errUsage):
		msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), errUsage.Error()), ": ")
		if msg != "" {
			fmt.Fprintf(stderr, "refeval %s: %s\n", c.Name(), msg)
		}
		fmt.Fprintf(stderr, "usage: refeval %s\nRun 'refeval help %s' for details.\n", c.UsageLine, c.Name())
		return 2
	default:
		fmt.Fprintf(stderr, "refeval: %v\n", err)
		return 1
	}
}

// checkFlags returns the first error of a flag whose value is checked
// after parsing (flagChecker), so that the message need not repeat the
// value as flag.Parse's does (a URL may hold a password).
func checkFlags(fs *flag.FlagSet) error {
	var first error
	fs.Visit(func(f *flag.Flag) {
		if fc, ok := f.Value.(flagChecker); ok && first == nil {
			if err := fc.Check(); err != nil {
				first = fmt.Errorf("-%s: %w", f.Name, err)
			}
		}
	})
	return first
}

// A flagChecker is a flag value checked after parsing.
type flagChecker interface{ Check() error }

// interspersed moves flags that follow positional arguments to the front, so
// "refeval build FILE -j 4" works like "refeval build -j 4 FILE". A "--" ends flags.
func interspersed(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue // flag.Parse reports it
		}
		if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	return append(append(flags, "--"), pos...)
}

func printHelp(w io.Writer) {
	fmt.Fprintf(w, "refeval is a make-like build tool for LLM self-improvement pipelines.\n\nUsage:\n\n\trefeval <command> [arguments]\n\nThe commands are:\n\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if commands[n].Short == "" {
			continue // internal, such as run-stage
		}
		fmt.Fprintf(w, "\t%-10s %s\n", n, commands[n].Short)
	}
	fmt.Fprintf(w, "\nUse \"refeval help <command>\" for more information about a command.\n")
}
