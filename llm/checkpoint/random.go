package checkpoint

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// InitStd is the standard deviation of Hugging Face's initializer_range for
// Qwen2 and Llama: weights are drawn from N(0, 0.02²), norms are 1, biases 0.
const InitStd = 0.02

// Random returns deterministic random weights for cfg, initialized as
// transformers' _init_weights does (Gemma's norms, which scale by 1+w, are 0). Each tensor has its own PCG stream
// seeded from (seed, tensor name), so the values of a tensor do not depend
// on which other tensors exist.
func Random(cfg Config, seed uint64) map[string]*Tensor {
	out := map[string]*Tensor{}
	for name, shape := range Shapes(cfg) {
		t := &Tensor{Shape: append([]int{}, shape...)}
		t.Data = make([]float32, t.Len())
		switch {
		case strings.HasSuffix(name, "norm.weight"):
			if !cfg.Gemma {
				for i := range t.Data {
					t.Data[i] = 1
				}
			}
		case strings.HasSuffix(name, ".bias"):
		default:
			r := rand.New(rand.NewPCG(seed, nameHash(name)))
			for i := range t.Data {
				t.Data[i] = float32(r.NormFloat64() * InitStd)
			}
		}
		out[name] = t
	}
	return out
}

// Perturb replaces norms and biases with random values around their
// initial ones (norms 1±0.2·N(0,1), biases 0.1·N(0,1)), so tests exercise
// them; weights initialized by Random leave them constant.
func Perturb(tensors map[string]*Tensor, seed uint64) {
	for name, t := range tensors {
		norm := strings.HasSuffix(name, "norm.weight")
		if !norm && !strings.HasSuffix(name, ".bias") {
			continue
		}
		r := rand.New(rand.NewPCG(seed^0x9e3779b97f4a7c15, nameHash(name)))
		for i := range t.Data {
			if norm {
				t.Data[i] = float32(1 + 0.2*r.NormFloat64())
			} else {
				t.Data[i] = float32(0.1 * r.NormFloat64())
			}
		}
	}
}

func nameHash(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

// SizedConfig returns the configuration of a model of arch ("qwen2",
// "qwen3", "llama", "mistral" or "gemma3") with vocabSize tokens and the given size: "tiny" (hidden 64,
// 2 layers, 4 heads, 2 key/value heads), "small" (about 25M parameters) or
// a parameter count such as "100000000", "25M" or "1.5B". Embeddings are
// tied, as in Qwen2.5-0.5B and Llama-3.2-1B.
func SizedConfig(arch string, size string, vocabSize int) (Config, error) {
	var cfg Config
	switch arch {
	case "qwen2":
		cfg = Config{Architecture: ArchQwen2, ModelType: "qwen2", AttentionBias: true, RopeTheta: 1000000, RMSNormEps: 1e-6}
	case "qwen3":
		// Qwen3-0.6B: no biases, q/k norms, rope_theta 1e6, tied.
		cfg = Config{Architecture: ArchQwen3, ModelType: "qwen3", QKNorm: true, RopeTheta: 1000000, RMSNormEps: 1e-6}
	case "llama":
		cfg = Config{Architecture: ArchLlama, ModelType: "llama", RopeTheta: 500000, RMSNormEps: 1e-5,
			RopeScaling: &RopeScaling{Type: "llama3", Factor: 32, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 8192}}
	case "mistral":
		// Mistral-7B-v0.1: rope_theta 1e4, sliding window 4096, untied (tied here, as every size refeval makes).
		cfg = Config{Architecture: ArchMistral, ModelType: "mistral", RopeTheta: 10000, RMSNormEps: 1e-5, SlidingWindow: 4096}
	case "gemma3":
		// Gemma-3-1B: q/k norms, GeGLU, local layers with a 512-token window and rope base 1e4,
		// every sixth layer global with base 1e6.
		cfg = Config{Architecture: ArchGemma3, ModelType: "gemma3_text", QKNorm: true, Gemma: true, HiddenAct: "gelu_pytorch_tanh",
			RopeTheta: 1000000, RopeLocalTheta: 10000, RMSNormEps: 1e-6, SlidingWindow: 512}
	default:
		return Config{}, fmt.Errorf("unknown architecture %q (want qwen2, qwen3, llama, mistral or gemma3)", arch)
	}
	if cfg.HiddenAct == "" {
		cfg.HiddenAct = "silu"
	}
	if vocabSize <= 0 {
		return Config{}, fmt.Errorf("vocabulary size must be positive, got %d", vocabSize)
	}
	cfg.VocabSize = vocabSize
	cfg.TieWordEmbeddings = true
	cfg.MaxPositionEmbeddings = 32768
	cfg.BOSTokenID = -1
	cfg.TorchDType = "float32"
	if size == "tiny" {
		shape(&cfg, 64, 2)
		return cfg, cfg.Validate()
	}
	target, err := sizeCount(size)
	if err != nil {
		return Config{}, err
	}
	// Widths step by 64; depth is 2 to hidden/16 layers
	// (Qwen2.5-0.5B: 896 wide, 24 deep). Pick the closest to the target.
	best, bestErr := Config{}, int64(-1)
	for h := 64; h <= 8192; h += 64 {
		for l := 2; l <= max(2, h/16) && l <= 128; l++ {
			c := cfg
			shape(&c, h, l)
			if c.Validate() != nil {
				continue
			}
			d := NumParams(c) - target
			if d < 0 {
				d = -d
			}
			if bestErr < 0 || d < bestErr {
				best, bestErr = c, d
			}
		}
	}
	return best, best.Validate()
}

// shape sets the widths of a model hidden wide and layers deep.
func shape(c *Config, hidden, layers int) {
	c.HiddenSize = hidden
	c.NumHiddenLayers = layers
	c.NumAttentionHeads = max(4, hidden/64)
	c.HeadDim = hidden / c.NumAttentionHeads
	// Grouped-query attention with two query heads per key/value head;
	// an odd head count (hidden 448 → 7 heads) keeps one per query head.
	c.NumKeyValueHeads = c.NumAttentionHeads
	if c.NumAttentionHeads%2 == 0 {
		c.NumKeyValueHeads = c.NumAttentionHeads / 2
	}
	c.IntermediateSize = (hidden*8/3 + 31) / 32 * 32
	if c.Gemma {
		c.QueryPreAttnScalar = float64(c.HeadDim)
		c.SlidingLayers = make([]bool, layers)
		for l := range c.SlidingLayers {
			c.SlidingLayers[l] = (l+1)%6 != 0 // Gemma 3's pattern: five local layers, then a global one
		}
	}
}

// MaxParams is the largest parameter count SizedConfig accepts: its widest,
// deepest shape (hidden 8192, 128 layers) has about 103B parameters, so a
// larger count would silently get a smaller model.
const MaxParams = 100_000_000_000

// CheckSize reports a size SizedConfig would reject: not "tiny", "small" or
// a positive parameter count of at most MaxParams. Pipelines check it at
// load time, before upstream stages run.
func CheckSize(size string) error {
	if size == "tiny" {
		return nil
	}
	_, err := sizeCount(size)
	return err
}

// sizeCount returns the parameter count a size other than "tiny" asks for,
// or why SizedConfig cannot shape it.
func sizeCount(size string) (int64, error) {
	n, err := parseCount(size)
	if err != nil {
		return 0, err
	}
	if n > MaxParams {
		return 0, fmt.Errorf("model size %q is above the largest this tool shapes (%dB parameters): give %dB or less", size, MaxParams/1_000_000_000, MaxParams/1_000_000_000)
	}
	return n, nil
}

// parseCount parses "25M", "1.5B", "300k" or a plain integer.
func parseCount(s string) (int64, error) {
	mult := 1.0
	t := strings.ToUpper(strings.TrimSpace(s))
	switch {
	case strings.HasSuffix(t, "K"):
		mult, t = 1e3, t[:len(t)-1]
	case strings.HasSuffix(t, "M"):
		mult, t = 1e6, t[:len(t)-1]
	case strings.HasSuffix(t, "B"):
		mult, t = 1e9, t[:len(t)-1]
	}
	if s == "small" {
		return 25_000_000, nil
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || !(f >= 1/mult) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("model size %q is not tiny, small or a parameter count such as 25M", s)
	}
	return int64(f * mult), nil
}
