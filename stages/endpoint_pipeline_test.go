package stages

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refeval/refeval/cache"
	"github.com/refeval/refeval/engine"
	"github.com/refeval/refeval/llm/openai"
)

// testSecret is the API key of the pipeline test: the fake server echoes it
// in its 500 bodies, and it must appear in no error, log, console line or
// cache file.
const testSecret = "sk-refeval-test-SECRET-7f3a9c"

// pipelineServer is a fake vLLM for a whole pipeline. Answers are
// "answer I: <prompt>"; the judge prefers the candidate with the lower I,
// with top log-probs, except when output (a) is candidate 0: then it
// answers "Output (a)" with no log-probs (the text fallback). After
// failAfter judge answers (0: never) it answers every request with a 500
// whose body echoes the Authorization header.
type pipelineServer struct {
	srv       *httptest.Server
	failAfter atomic.Int64
	admitted  atomic.Int64 // judge requests let through while failAfter > 0
	sampled   atomic.Int64 // sampling answers given
	judged    atomic.Int64 // judge answers given
	failed    atomic.Int64 // 500s sent

	mu   sync.Mutex
	seen map[[32]byte]int // judge request body → times answered
}

var judgeIndexRe = regexp.MustCompile(`Output \(a\): answer (\d+):[\s\S]*Output \(b\): answer (\d+):`)

func newPipelineServer(t *testing.T) *pipelineServer {
	ps := &pipelineServer{seen: map[[32]byte]int{}}
	ps.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		var req struct {
			Messages []openai.Message `json:"messages"`
			N        int              `json:"n"`
			Logprobs bool             `json:"logprobs"`
			Continue bool             `json:"continue_final_message"`
		}
		if err := json.Unmarshal(body, &req); err != nil || len(req.Messages) == 0 {
			http.Error(w, fmt.Sprintf("bad request: %v", err), 400)
			return
		}
		if k := ps.failAfter.Load(); k > 0 && req.Logprobs && ps.admitted.Add(1) > k {
			ps.failed.Add(1)
			http.Error(w, "internal error; request headers: Authorization: "+r.Header.Get("Authorization"), 500)
			return
		}
		var choices []map[string]any
		if req.Logprobs {
			var text string
			for _, m := range req.Messages {
				text += m.Content + "\n"
			}
			m := judgeIndexRe.FindStringSubmatch(text)
			if m == nil {
				http.Error(w, "judge prompt without two outputs", 400)
				return
			}
			c := map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": "Output (b)"}}
			la, lb := -1.8, -0.2
			if m[1] < m[2] {
				la, lb = lb, la
				c["message"] = map[string]any{"role": "assistant", "content": "Output (a)"}
			}
			if m[1] != "0" {
				tok := func(s string, lp float64, top ...map[string]any) map[string]any {
					return map[string]any{"token": s, "logprob": lp, "top_logprobs": top}
				}
				alt := func(s string, lp float64) map[string]any { return map[string]any{"token": s, "logprob": lp} }
				label := "a"
				if la < lb {
					label = "b"
				}
				c["logprobs"] = map[string]any{"content": []any{
					tok("Output", -0.01, alt("Output", -0.01)),
					tok(" (", -0.01, alt(" (", -0.01)),
					tok(label, max(la, lb), alt("a", la), alt("b", lb)),
					tok(")", -0.01, alt(")", -0.01)),
				}}
				if req.Continue {
					// The answer continues the prefilled "Output (": the label only.
					c["logprobs"] = map[string]any{"content": []any{tok(label, max(la, lb), alt("a", la), alt("b", lb))}}
				}
			}
			if req.Continue {
				content := c["message"].(map[string]any)["content"].(string)
				c["message"] = map[string]any{"role": "assistant", "content": strings.TrimPrefix(content, "Output (")[:1]}
			}
			choices = append(choices, c)
			ps.mu.Lock()
			ps.seen[sha256.Sum256(body)]++
			ps.mu.Unlock()
			ps.judged.Add(1)
		} else {
			for i := range max(1, req.N) {
				choices = append(choices, map[string]any{"index": i, "finish_reason": "stop",
					"message": map[string]any{"role": "assistant", "content": fmt.Sprintf("answer %d: %s", i, req.Messages[len(req.Messages)-1].Content)}})
			}
			ps.sampled.Add(1)
		}
		json.NewEncoder(w).Encode(map[string]any{"id": "x", "model": "teacher", "choices": choices,
			"usage": map[string]any{"prompt_tokens": 3, "completion_tokens": 4}})
	}))
	t.Cleanup(ps.srv.Close)
	return ps
}

// repeats returns how many judge requests were answered more than once.
func (ps *pipelineServer) repeats() int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	n := 0
	for _, c := range ps.seen {
		if c > 1 {
			n++
		}
	}
	return n
}

// buildAll loads the pipeline file and builds every stage with the cache
// folder cacheDir; it returns the report and the console output.
func buildAll(t *testing.T, file, cacheDir string) (*engine.Report, string) {
	t.Helper()
	p, diags := engine.Load(file, engine.LoadOptions{Lookup: Lookup, Kinds: Names, Blocks: Blocks()})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	sel, err := p.Select(nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cache.Open(cacheDir, cache.Options{NoWait: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var con bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep := engine.Build(ctx, []engine.Selection{{Pipeline: p, Stages: sel}}, engine.BuildOptions{Cache: c, Jobs: 2, Console: &con})
	return rep, con.String()
}

// statuses maps each stage address of a report to its status.
func statuses(rep *engine.Report) map[string]engine.Status {
	m := map[string]engine.Status{}
	for _, r := range rep.Results {
		m[r.Instance.Addr] = r.Status
	}
	return m
}

// result returns the report's result for addr.
func result(t *testing.T, rep *engine.Report, addr string) *engine.Result {
	t.Helper()
	for _, r := range rep.Results {
		if r.Instance.Addr == addr {
			return r
		}
	}
	t.Fatalf("no result for %s", addr)
	return nil
}

// grepTree returns the files under dir whose bytes contain s.
func grepTree(t *testing.T, dir, s string) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(s)) {
			hits = append(hits, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

const endpointPipeline = `
model "server" {
  endpoint    = "%s/v1"
  name        = "teacher"
  api_key_env = "REFEVAL_TEST_API_KEY"
  max_retries = 1
  timeout     = "10s"
}

stage "sample" "train" {
  model   = model.server
  prompts = "train.prompts.jsonl"
  n       = 3
}

stage "score" "train" {
  judge      = model.server
  samples    = stage.sample.train
  references = "train.references.jsonl"
  template   = "judge.txt"
  batch      = 100
}

stage "pairs" "train" {
  scores    = stage.score.train.out
  tokenizer = "tok"
}
`

// TestEndpointPipeline builds sample → score → pairs through the engine
// with the sampler and the judge on one fake server: usage in the metrics,
// the text fallback reported, a second build running nothing, a server
// dying mid-score (nothing committed, the next build asking only for the
// missing verdicts), and the API key kept out of every output.
func TestEndpointPipeline(t *testing.T) {
	const prompts, n = 4, 3
	const judgeRequests = prompts * n * (n - 1)
	// Verdicts whose output (a) is candidate 0 come without log-probs.
	const fromText = prompts * (n - 1)
	t.Setenv("REFEVAL_TEST_API_KEY", testSecret)
	ps := newPipelineServer(t)

	tests := []struct {
		name      string
		failAfter int64
	}{
		{"healthy", 0},
		{"server dies during score", 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDemo(t, prompts)
			writeByteTokenizer(t, filepath.Join(d.dir, "tok"))
			file := filepath.Join(d.dir, "pipeline.hcl")
			if err := os.WriteFile(file, []byte(fmt.Sprintf(endpointPipeline, ps.srv.URL)), 0o666); err != nil {
				t.Fatal(err)
			}
			cacheDir := t.TempDir()
			ps.sampled.Store(0)
			ps.judged.Store(0)
			ps.failed.Store(0)
			ps.admitted.Store(0)
			ps.mu.Lock()
			clear(ps.seen)
			ps.mu.Unlock()
			var console strings.Builder

			if tt.failAfter > 0 {
				ps.failAfter.Store(tt.failAfter)
				rep, con := buildAll(t, file, cacheDir)
				console.WriteString(con)
				st := statuses(rep)
				want := map[string]engine.Status{"stage.sample.train": engine.StatusRan, "stage.score.train": engine.StatusFailed, "stage.pairs.train": engine.StatusSkipped}
				if fmt.Sprint(st) != fmt.Sprint(want) {
					t.Fatalf("wrong statuses of the build with a dying server\ngot:  %v\nwant: %v\nconsole:\n%s", st, want, con)
				}
				res := result(t, rep, "stage.score.train")
				if res.Out != "" || res.OutputID != (cache.ID{}) {
					t.Errorf("a failed score stage has an output: %s", res.Out)
				}
				msg := res.Err.Error() + "\n" + rep.Err().Error()
				if strings.Contains(msg, testSecret) || strings.Contains(con, testSecret) {
					t.Errorf("the API key leaked into an error or the console:\n%s\n%s", msg, con)
				}
				if !strings.Contains(msg, "[redacted]") {
					t.Errorf("the error does not show the server's redacted answer:\n%s", msg)
				}
				if got := ps.judged.Load(); got != tt.failAfter {
					t.Errorf("wrong number of judge answers before the server died\ngot:  %d\nwant: %d", got, tt.failAfter)
				}
				if ps.failed.Load() == 0 {
					t.Errorf("the server never failed")
				}
				ps.failAfter.Store(0)
				ps.judged.Store(0)
			}

			rep, con := buildAll(t, file, cacheDir)
			console.WriteString(con)
			if err := rep.Err(); err != nil {
				t.Fatalf("build: %v\nconsole:\n%s", err, con)
			}
			st := statuses(rep)
			want := map[string]engine.Status{"stage.sample.train": engine.StatusRan, "stage.score.train": engine.StatusRan, "stage.pairs.train": engine.StatusRan}
			if tt.failAfter > 0 {
				want["stage.sample.train"] = engine.StatusCached
			}
			if fmt.Sprint(st) != fmt.Sprint(want) {
				t.Errorf("wrong statuses\ngot:  %v\nwant: %v", st, want)
			}
			if got, want := ps.judged.Load(), judgeRequests-tt.failAfter; got != want {
				t.Errorf("wrong number of judge requests answered by the build\ngot:  %d\nwant: %d (%d pairs, %d answered before)", got, want, judgeRequests, tt.failAfter)
			}
			if got := ps.repeats(); got != 0 {
				t.Errorf("%d judge requests were answered twice", got)
			}
			if got := ps.sampled.Load(); got != prompts {
				t.Errorf("wrong number of sampling requests over all builds\ngot:  %d\nwant: %d", got, prompts)
			}

			var sm GenMetrics
			readJSON(t, filepath.Join(result(t, rep, "stage.sample.train").Out, MetricsFile), &sm)
			if tt.failAfter == 0 {
				wantU := EndpointUsage{PromptTokens: 3 * prompts, CompletionTokens: 4 * prompts, Requests: prompts}
				if sm.Prompts != prompts || sm.N != n || sm.Usage == nil || *sm.Usage != wantU {
					t.Errorf("wrong sample metrics\ngot:  %+v %+v\nwant: usage %+v", sm, sm.Usage, wantU)
				}
			}
			var scm ScoreMetrics
			readJSON(t, filepath.Join(result(t, rep, "stage.score.train").Out, MetricsFile), &scm)
			asked := int64(judgeRequests) - tt.failAfter
			wantU := EndpointUsage{PromptTokens: 3 * asked, CompletionTokens: 4 * asked, Requests: asked, MemoHits: tt.failAfter}
			if scm.Pairs != judgeRequests || scm.FromText != fromText || scm.Usage == nil || *scm.Usage != wantU {
				t.Errorf("wrong score metrics\ngot:  %+v usage %+v\nwant: %d pairs, %d from text, usage %+v", scm, scm.Usage, judgeRequests, fromText, wantU)
			}
			pairs, err := ReadJSONL[Pair](filepath.Join(result(t, rep, "stage.pairs.train").Out, PairsFile))
			if err != nil {
				t.Fatal(err)
			}
			if len(pairs) == 0 {
				t.Errorf("pairs.jsonl is empty")
			}
			for _, p := range pairs {
				if last := p.Chosen[len(p.Chosen)-1].Content; !strings.HasPrefix(last, "answer 0:") {
					t.Errorf("wrong chosen answer (the judge prefers candidate 0)\ngot:  %q", last)
				}
			}

			// The stage log says how many verdicts came from the text.
			if got := grepTree(t, filepath.Join(cacheDir), fmt.Sprintf("%d of %d verdicts were read from the answer text", fromText, judgeRequests)); len(got) == 0 {
				t.Errorf("no stage log reports the verdicts read from the text")
			}

			// Built again: nothing runs, no request.
			before := ps.judged.Load() + ps.sampled.Load()
			rep, con = buildAll(t, file, cacheDir)
			console.WriteString(con)
			for addr, s := range statuses(rep) {
				if s != engine.StatusCached {
					t.Errorf("second build: %s %s; want cached", addr, s)
				}
			}
			if got := ps.judged.Load() + ps.sampled.Load() - before; got != 0 {
				t.Errorf("second build sent %d requests; want 0", got)
			}

			if hits := grepTree(t, cacheDir, testSecret); len(hits) > 0 {
				t.Errorf("the API key is in cache files: %v", hits)
			}
			if strings.Contains(console.String(), testSecret) {
				t.Errorf("the API key is on the console:\n%s", console.String())
			}
		})
	}
}

// TestEndpointMetrics checks the usage the reference and eval kinds write
// into metrics.json: every client of the stage summed (eval: policy and
// judge), and a rerun from the memo costing no tokens.
func TestEndpointMetrics(t *testing.T) {
	d := newDemo(t, 4)
	srv, _ := fakeEndpoint(t)
	model := fmt.Sprintf(`{ endpoint = "%s/v1", name = "teacher" }`, srv.URL)
	usage := func(requests, hits int64) EndpointUsage {
		return EndpointUsage{PromptTokens: 3 * requests, CompletionTokens: 4 * requests, Requests: requests, MemoHits: hits}
	}
	tests := []struct {
		name, kind, src string
		want            EndpointUsage
	}{
		{"reference", "reference", `model = ` + model + `
prompts = "train.prompts.jsonl"`, usage(4, 0)},
		{"reference again", "reference", `model = ` + model + `
prompts = "train.prompts.jsonl"`, usage(0, 0)}, // the stage memo answers first
		{"eval", "eval", `policy = ` + model + `
prompts = "train.prompts.jsonl"
references = "train.references.jsonl"
judge = ` + model + `
template = "judge.txt"`, usage(8, 4)}, // 8 judge requests; the policy's greedy answers are the reference requests again, from the (shared) memo
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := d.run(tt.kind, strings.ReplaceAll(tt.name, " ", "-"), tt.src)
			var m struct {
				Usage *EndpointUsage `json:"usage"`
			}
			readJSON(t, filepath.Join(out, MetricsFile), &m)
			if m.Usage == nil || *m.Usage != tt.want {
				t.Errorf("wrong usage in metrics.json\ngot:  %+v\nwant: %+v", m.Usage, tt.want)
			}
		})
	}
}

// TestEndpointMaxRetries checks that max_retries = 0 in a model block means
// no retries, as the model block decoder reads it, not the client's default.
func TestEndpointMaxRetries(t *testing.T) {
	tests := []struct {
		src  string
		want int
	}{
		{`{ endpoint = "http://h/v1", name = "m" }`, 0},
		{`{ endpoint = "http://h/v1", name = "m", max_retries = 0 }`, -1},
		{`{ endpoint = "http://h/v1", name = "m", max_retries = 2 }`, 2},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			r, diags := decodeModelAttr(t, tt.src, false)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if r.Endpoint == nil || r.Endpoint.MaxRetries != tt.want {
				t.Errorf("wrong MaxRetries\ngot:  %#v\nwant: %d", r.Endpoint, tt.want)
			}
		})
	}
	if _, diags := decodeModelAttr(t, `{ endpoint = "http://h/v1", name = "m", max_retries = -1 }`, false); !diags.HasErrors() {
		t.Errorf("max_retries = -1 was accepted")
	}
}
