package llm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/refeval/refeval/llm/backend"
	"github.com/refeval/refeval/llm/chat"
	"github.com/refeval/refeval/llm/checkpoint"
	"github.com/refeval/refeval/llm/tokenizer"
	"github.com/refeval/refeval/llm/transformer"
)

// DefaultMaxBatch is the number of rows per forward pass when Options
// leaves it 0.
const DefaultMaxBatch = 8

// Options tunes Load.
type Options struct {
	Backend  string // Backend configuration; "" means $GOMLX_BACKEND, else go:ops_sequential (see package backend).
	MaxBatch int    // Rows per forward pass (prompts × samples); 0 means DefaultMaxBatch.
	Device   int    // The backend's device that holds the weights and runs every graph (0: the first); see DeviceError.
}

// Model is a loaded checkpoint ready to run. Its methods may be called from
// several goroutines, and run concurrently; Close waits for those running.
type Model struct {
	dir      string
	cfg      checkpoint.Config
	tok      *tokenizer.Tokenizer
	tmpl     *chat.Template
	backend  compute.Backend
	store    *model.Store
	tr       *transformer.Transformer
	maxBatch int
	device   compute.DeviceNum
	head     []*model.Variable // The lm_head cut in row slices for the pure-Go backend's small kernel (head.go); nil elsewhere.

	passes   int          // Forward passes one call runs at once (maxPasses).
	mu       sync.RWMutex // Read-held by every call that runs the model, held by Close.
	execMu   sync.Mutex
	execs    map[string]*model.Exec // By graph kind and static parameters; under execMu.
	compiles atomic.Int64
}

// Load reads the checkpoint folder dir (config.json, safetensors,
// tokenizer.json, tokenizer_config.json) and puts its weights on the
// backend. A folder without tokenizer_config.json (or without a
// chat_template in it) gets the ChatML template.
func Load(dir string, opt Options) (*Model, error) {
	ck, err := checkpoint.Load(dir)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return nil, fmt.Errorf("loading model %s: %w", dir, err)
	}
	if tok.VocabSize() > ck.Config.VocabSize {
		return nil, fmt.Errorf("loading model %s: tokenizer.json has %d ids but the model only %d embedding rows; the tokenizer does not belong to this model", dir, tok.VocabSize(), ck.Config.VocabSize)
	}
	tmpl, err := chat.LoadTemplate(filepath.Join(dir, "tokenizer_config.json"))
	if errors.Is(err, os.ErrNotExist) {
		tmpl, err = chat.ChatML(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading model %s: %w", dir, err)
	}
	m, err := New(ck.Config, ck.Tensors, opt)
	if err != nil {
		return nil, fmt.Errorf("loading model %s: %w", dir, err)
	}
	m.dir, m.tok, m.tmpl = dir, tok, tmpl
	return m, nil
}

// New makes a Model from a configuration and its weights, without a
// tokenizer or template (Tokenizer and Template return nil). Tests and
// trainers that hold weights in memory use it.
func New(cfg checkpoint.Config, tensors map[string]*checkpoint.Tensor, opt Options) (*Model, error) {
	if err := checkpoint.CheckShapes(cfg, tensors, "model weights"); err != nil {
		return nil, err
	}
	b, err := backend.New(opt.Backend)
	if err != nil {
		return nil, err
	}
	if n := b.NumDevices(); opt.Device < 0 || opt.Device >= n {
		b.Finalize()
		return nil, &DeviceError{Device: opt.Device, Devices: n, Backend: b.Name()}
	}
	// The store holds q, k and v fused (transformer.FuseQKV): every graph
	// of the model reads them through m.tr, made WithFusedQKV.
	fused, err := transformer.FuseQKV(cfg, tensors)
	if err != nil {
		b.Finalize()
		return nil, err
	}
	store := model.NewStore()
	if err := transformer.LoadIntoStore(store, fused); err != nil {
		b.Finalize()
		return nil, err
	}
	if opt.MaxBatch <= 0 {
		opt.MaxBatch = DefaultMaxBatch
	}
	var head []*model.Variable
	passes := 1
	if backend.Class(b) == "go" {
		passes = max(1, min(runtime.GOMAXPROCS(0), maxPasses))
		if head, err = headRows(store, cfg, tensors, opt.MaxBatch); err != nil {
			b.Finalize()
			return nil, err
		}
	}
	return &Model{
		head:     head,
		passes:   passes,
		cfg:      cfg,
		backend:  b,
		store:    store,
		tr:       transformer.New(cfg).WithFusedQKV(),
		maxBatch: opt.MaxBatch,
		device:   compute.DeviceNum(opt.Device),
		execs:    map[string]*model.Exec{},
	}, nil
}

// Dir returns the folder the model was loaded from ("" for New).
func (m *Model) Dir() string { return m.dir }

// Config returns the model's configuration.
func (m *Model) Config() checkpoint.Config { return m.cfg }

// Tokenizer returns the model's tokenizer.
func (m *Model) Tokenizer() *tokenizer.Tokenizer { return m.tok }

// Template returns the model's chat template.
func (m *Model) Template() *chat.Template { return m.tmpl }

// Backend returns the backend's numerics class ("go" or "xla:…"), for cache keys.
func (m *Model) Backend() string { return backend.Class(m.backend) }

// Close releases the weights and the backend.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.execMu.Lock()
	defer m.execMu.Unlock()
	if m.execs == nil {
		return nil
	}
	for _, e := range m.execs {
		e.Finalize()
	}
	m.execs = nil
	m.store.Finalize()
	m.backend.Finalize()
	return nil
}

// ChatPrompt renders msgs with the model's chat template and the
// generation prompt, and encodes the text (special tokens written by the
// template, such as <|im_start|> or Llama-3's <|begin_of_text|>, become
// their ids).
func (m *Model) ChatPrompt(msgs []chat.Message) ([]int, error) {
	if m.tmpl == nil || m.tok == nil {
		return nil, fmt.Errorf("model has no tokenizer or chat template (made with New, not Load)")
	}
	text, err := m.tmpl.Render(msgs, true)
	if err != nil {
		return nil, fmt.Errorf("rendering the chat template of %s: %w", m.dir, err)
	}
	return m.tok.Encode(text), nil
}

// checkTokens reports an id outside the vocabulary (Gather would clamp it silently).
func (m *Model) checkTokens(what string, i int, toks []int) error {
	for _, t := range toks {
		if t < 0 || t >= m.cfg.VocabSize {
			return fmt.Errorf("%s %d: token id %d outside the vocabulary [0, %d)", what, i, t, m.cfg.VocabSize)
		}
	}
	return nil
}
