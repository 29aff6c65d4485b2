package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// DefaultSeed is the seed of the committed demo data.
const DefaultSeed = 20260227

// perTask is how many items each task contributes (fewer when its pool is
// smaller), and testEvery puts one item in testEvery into the test split.
const (
	perTask   = 42
	testEvery = 6
)

// An item is one instruction with its reference answer.
type item struct {
	task      string
	key       string // what the item is about; no two items of a task share one
	prompt    string
	reference string
}

// rng is splitmix64: tiny, and fixed here so that the data never changes
// with the Go release.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a number in [0, n); the modulo bias is irrelevant here.
func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// between returns a number in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

func (r *rng) pick(phrasings ...string) string { return phrasings[r.intn(len(phrasings))] }

func shuffle[T any](r *rng, s []T) {
	for i := len(s) - 1; i > 0; i-- {
		j := r.intn(i + 1)
		s[i], s[j] = s[j], s[i]
	}
}

// A task makes a pool of items; it may draw from r for numbers and phrasing.
type task struct {
	name string
	make func(r *rng) []item
}

var tasks = []task{
	{"addition", addition},
	{"subtraction", subtraction},
	{"multiplication", multiplication},
	{"units", units},
	{"capitals", capitalItems},
	{"antonyms", antonymItems},
	{"plurals", pluralItems},
	{"reversal", reversal},
	{"definitions", definitionItems},
	{"sorting", sorting},
	{"rewriting", rewriting},
	{"letters", letters},
	{"yes-no", yesNo},
	{"number-words", numberWords},
	{"calendar", calendar},
}

// Split makes the train and test items for seed: for each task, up to
// perTask items of its pool, one in testEvery of them for testing.
func Split(seed uint64) (train, test []item) {
	r := &rng{s: seed}
	for _, t := range tasks {
		pool := dedupe(t.make(r))
		shuffle(r, pool)
		if len(pool) > perTask {
			pool = pool[:perTask]
		}
		for i, it := range pool {
			it.task = t.name
			if i%testEvery == testEvery-1 {
				test = append(test, it)
			} else {
				train = append(train, it)
			}
		}
	}
	shuffle(r, train)
	shuffle(r, test)
	return train, test
}

// dedupe keeps the first item of each key, so that no fact appears twice
// (and never in both splits) under two phrasings.
func dedupe(items []item) []item {
	seen := map[string]bool{}
	var out []item
	for _, it := range items {
		if !seen[it.key] {
			seen[it.key] = true
			out = append(out, it)
		}
	}
	return out
}

// Generate returns the demo files for seed, by name.
func Generate(seed uint64) map[string][]byte {
	train, test := Split(seed)
	files := map[string][]byte{}
	for split, items := range map[string][]item{"train": train, "test": test} {
		var prompts, refs bytes.Buffer
		for _, it := range items {
			writeLine(&prompts, map[string]string{"prompt": it.prompt})
			writeLine(&refs, map[string]string{"text": it.reference})
		}
		files[split+".prompts.jsonl"] = prompts.Bytes()
		files[split+".references.jsonl"] = refs.Bytes()
	}
	var corpus bytes.Buffer
	for _, it := range train {
		corpus.WriteString(it.prompt + "\n" + it.reference + "\n")
	}
	files["corpus.txt"] = corpus.Bytes()
	return files
}

func writeLine(b *bytes.Buffer, v map[string]string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // a map of strings always encodes
	}
}

func addition(r *rng) []item {
	var out []item
	for range 120 {
		a, b := r.between(2, 60), r.between(2, 60)
		p := fmt.Sprintf(r.pick("What is %d plus %d?", "Add %d and %d.", "Compute %d + %d.", "What is the sum of %d and %d?"), a, b)
		out = append(out, item{key: fmt.Sprint(a, "+", b), prompt: p, reference: fmt.Sprintf("%d plus %d is %d.", a, b, a+b)})
	}
	return out
}

func subtraction(r *rng) []item {
	var out []item
	for range 120 {
		a := r.between(10, 90)
		b := r.between(1, a-1)
		var p string
		switch r.intn(3) {
		case 0:
			p = fmt.Sprintf("What is %d minus %d?", a, b)
		case 1:
			p = fmt.Sprintf("Subtract %d from %d.", b, a)
		default:
			p = fmt.Sprintf("Compute %d - %d.", a, b)
		}
		out = append(out, item{key: fmt.Sprint(a, "-", b), prompt: p, reference: fmt.Sprintf("%d minus %d is %d.", a, b, a-b)})
	}
	return out
}

func multiplication(r *rng) []item {
	var out []item
	for range 120 {
		a, b := r.between(2, 12), r.between(2, 12)
		p := fmt.Sprintf(r.pick("What is %d times %d?", "Multiply %d by %d.", "Compute %d x %d.", "What is the product of %d and %d?"), a, b)
		out = append(out, item{key: fmt.Sprint(a, "*", b), prompt: p, reference: fmt.Sprintf("%d times %d is %d.", a, b, a*b)})
	}
	return out
}

// unitPairs are exact conversions: one of the first unit is factor of the second.
var unitPairs = []struct {
	from, fromPl, to, toPl string
	factor                 int
}{
	{"kilometer", "kilometers", "meter", "meters", 1000},
	{"meter", "meters", "centimeter", "centimeters", 100},
	{"centimeter", "centimeters", "millimeter", "millimeters", 10},
	{"kilogram", "kilograms", "gram", "grams", 1000},
	{"liter", "liters", "milliliter", "milliliters", 1000},
	{"hour", "hours", "minute", "minutes", 60},
	{"minute", "minutes", "second", "seconds", 60},
	{"day", "days", "hour", "hours", 24},
	{"week", "weeks", "day", "days", 7},
	{"year", "years", "month", "months", 12},
	{"dozen", "dozen", "item", "items", 12},
}

func units(r *rng) []item {
	var out []item
	for range 120 {
		u := unitPairs[r.intn(len(unitPairs))]
		x := r.between(1, 9)
		from := u.fromPl
		if x == 1 {
			from = u.from
		}
		var p string
		if u.from == "dozen" {
			p = fmt.Sprintf("How many items are in %d dozen?", x)
		} else {
			p = fmt.Sprintf(r.pick("How many %[3]s are in %[1]d %[2]s?", "Convert %[1]d %[2]s to %[3]s."), x, from, u.toPl)
		}
		ref := fmt.Sprintf("%d %s is %d %s.", x, from, x*u.factor, u.toPl)
		if u.from == "dozen" {
			ref = fmt.Sprintf("%d dozen is %d items.", x, x*u.factor)
		}
		out = append(out, item{key: fmt.Sprint(x, u.from), prompt: p, reference: ref})
	}
	return out
}

func capitalItems(r *rng) []item {
	var out []item
	for _, c := range capitals {
		name := c.country
		if c.the {
			name = "the " + name
		}
		p := fmt.Sprintf(r.pick("What is the capital of %s?", "Name the capital city of %s.", "Which city is the capital of %s?"), name)
		out = append(out, item{key: c.country, prompt: p, reference: fmt.Sprintf("The capital of %s is %s.", name, c.city)})
	}
	return out
}

func antonymItems(r *rng) []item {
	var out []item
	for _, a := range antonyms {
		p := fmt.Sprintf(r.pick("What is the opposite of %q?", "Give an antonym of %q.", "Name a word that means the opposite of %q."), a[0])
		out = append(out, item{key: a[0], prompt: p, reference: fmt.Sprintf("The opposite of %q is %q.", a[0], a[1])})
	}
	return out
}

func pluralItems(r *rng) []item {
	var out []item
	for _, w := range plurals {
		p := fmt.Sprintf(r.pick("What is the plural of %q?", "Write the plural form of %q.", "Give the plural of the noun %q."), w[0])
		out = append(out, item{key: w[0], prompt: p, reference: fmt.Sprintf("The plural of %q is %q.", w[0], w[1])})
	}
	return out
}

func reverse(s string) string {
	b := []byte(s)
	slices.Reverse(b)
	return string(b)
}

func reversal(r *rng) []item {
	var out []item
	for _, w := range words {
		p := fmt.Sprintf(r.pick("Reverse the letters of the word %q.", "Spell %q backwards.", "Write the word %q in reverse order."), w)
		out = append(out, item{key: w, prompt: p, reference: fmt.Sprintf("%q reversed is %q.", w, reverse(w))})
	}
	return out
}

func definitionItems(r *rng) []item {
	var out []item
	for _, d := range definitions {
		p := fmt.Sprintf(r.pick("What does %q mean?", "Define the word %q.", "Give a short definition of %q."), d[0])
		ref := fmt.Sprintf("%s means %s.", capitalize(d[0]), d[1])
		out = append(out, item{key: d[0], prompt: p, reference: ref})
	}
	return out
}

func capitalize(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}

func sorting(r *rng) []item {
	var out []item
	for range 80 {
		n := r.between(3, 5)
		if r.intn(3) == 0 {
			ws := distinct(r, n, func() string { return words[r.intn(len(words))] })
			p := "Put these words in alphabetical order: " + strings.Join(ws, ", ") + "."
			sorted := slices.Clone(ws)
			slices.Sort(sorted)
			out = append(out, item{key: strings.Join(ws, ","), prompt: p, reference: strings.Join(sorted, ", ")})
			continue
		}
		xs := distinct(r, n, func() int { return r.between(1, 99) })
		sorted := slices.Clone(xs)
		slices.Sort(sorted)
		p := "Sort these numbers from smallest to largest: " + joinInts(xs) + "."
		if r.intn(2) == 0 {
			slices.Reverse(sorted)
			p = "Sort these numbers from largest to smallest: " + joinInts(xs) + "."
		}
		out = append(out, item{key: p, prompt: p, reference: joinInts(sorted)})
	}
	return out
}

// distinct draws n different values.
func distinct[T comparable](r *rng, n int, draw func() T) []T {
	var out []T
	for len(out) < n {
		v := draw()
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func rewriting(r *rng) []item {
	var out []item
	for _, s := range pastTense {
		p := r.pick("Rewrite this sentence in the past tense: ", "Change to the past tense: ") + s[0]
		out = append(out, item{key: s[0], prompt: p, reference: s[1]})
	}
	for range 20 {
		a, b := words[r.intn(len(words))], words[r.intn(len(words))]
		phrase := "the " + a + " and the " + b
		p := "Rewrite in capital letters: " + phrase
		out = append(out, item{key: phrase, prompt: p, reference: strings.ToUpper(phrase)})
	}
	return out
}

func letters(r *rng) []item {
	var out []item
	for _, w := range words {
		if r.intn(2) == 0 {
			p := fmt.Sprintf(r.pick("How many letters are in the word %q?", "Count the letters in %q."), w)
			out = append(out, item{key: "len " + w, prompt: p, reference: fmt.Sprintf("The word %q has %d letters.", w, len(w))})
			continue
		}
		l := w[r.intn(len(w))]
		if r.intn(5) == 0 {
			l = "aeiourst"[r.intn(8)] // sometimes a letter that may not be there
		}
		n := strings.Count(w, string(l))
		p := fmt.Sprintf("How many times does the letter %q appear in %q?", string(l), w)
		ref := fmt.Sprintf("The letter %q appears %s in %q.", string(l), times(n), w)
		out = append(out, item{key: "count " + w, prompt: p, reference: ref})
	}
	return out
}

func times(n int) string {
	switch n {
	case 0:
		return "zero times"
	case 1:
		return "once"
	case 2:
		return "twice"
	}
	return fmt.Sprintf("%d times", n)
}

func isPrime(n int) bool {
	if n < 2 {
		return false
	}
	for d := 2; d*d <= n; d++ {
		if n%d == 0 {
			return false
		}
	}
	return true
}

func yesNo(r *rng) []item {
	var out []item
	for _, f := range yesNoFacts {
		out = append(out, item{key: f[0], prompt: f[0], reference: f[1]})
	}
	for range 30 {
		n := r.between(2, 60)
		switch r.intn(3) {
		case 0:
			p := fmt.Sprintf("Is %d an even number?", n)
			ref := fmt.Sprintf("Yes, %d is even.", n)
			if n%2 == 1 {
				ref = fmt.Sprintf("No, %d is odd.", n)
			}
			out = append(out, item{key: p, prompt: p, reference: ref})
		case 1:
			p := fmt.Sprintf("Is %d a prime number?", n)
			ref := fmt.Sprintf("Yes, %d is prime.", n)
			if !isPrime(n) {
				ref = fmt.Sprintf("No, %d is not prime.", n)
			}
			out = append(out, item{key: p, prompt: p, reference: ref})
		default:
			m := r.between(2, 60)
			if m == n {
				continue
			}
			p := fmt.Sprintf("Is %d greater than %d?", n, m)
			ref := fmt.Sprintf("Yes, %d is greater than %d.", n, m)
			if n < m {
				ref = fmt.Sprintf("No, %d is less than %d.", n, m)
			}
			out = append(out, item{key: p, prompt: p, reference: ref})
		}
	}
	return out
}

var (
	ones = []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
		"eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"}
	tens = []string{"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}
)

// spell writes 0 ≤ n < 1000 in English words.
func spell(n int) string {
	switch {
	case n < 20:
		return ones[n]
	case n < 100:
		if n%10 == 0 {
			return tens[n/10]
		}
		return tens[n/10] + "-" + ones[n%10]
	case n%100 == 0:
		return ones[n/100] + " hundred"
	}
	return ones[n/100] + " hundred " + spell(n%100)
}

func numberWords(r *rng) []item {
	var out []item
	for range 80 {
		n := r.between(0, 999)
		if r.intn(2) == 0 {
			n = r.between(0, 99)
		}
		p := fmt.Sprintf(r.pick("Write the number %d in words.", "Spell out the number %d."), n)
		out = append(out, item{key: strconv.Itoa(n), prompt: p, reference: fmt.Sprintf("%d is %s.", n, spell(n))})
	}
	return out
}

var (
	weekdays = []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}
	months   = []string{"January", "February", "March", "April", "May", "June", "July",
		"August", "September", "October", "November", "December"}
)

func calendar(r *rng) []item {
	var out []item
	for i, d := range weekdays {
		next, prev := weekdays[(i+1)%7], weekdays[(i+6)%7]
		out = append(out,
			item{key: "after " + d, prompt: fmt.Sprintf("What day comes after %s?", d), reference: fmt.Sprintf("%s comes after %s.", next, d)},
			item{key: "before " + d, prompt: fmt.Sprintf("What day comes before %s?", d), reference: fmt.Sprintf("%s comes before %s.", prev, d)})
	}
	for i, m := range months {
		next, prev := months[(i+1)%12], months[(i+11)%12]
		out = append(out,
			item{key: "after " + m, prompt: fmt.Sprintf(r.pick("What month comes after %s?", "Which month follows %s?"), m), reference: fmt.Sprintf("%s comes after %s.", next, m)},
			item{key: "before " + m, prompt: fmt.Sprintf("What month comes before %s?", m), reference: fmt.Sprintf("%s comes before %s.", prev, m)},
			item{key: "number " + m, prompt: fmt.Sprintf("Which month of the year is %s?", m), reference: fmt.Sprintf("%s is month number %d.", m, i+1)})
	}
	return out
}
