package transformer

import (
	"math"

	"github.com/refeval/refeval/llm/checkpoint"
)

// InvFreq returns RoPE's inverse frequencies for cfg, head_dim/2 of them,
// with Llama-3 scaling applied when configured (transformers'
// _compute_llama3_parameters).
func InvFreq(cfg checkpoint.Config) []float64 {
	d := cfg.HeadDim
	inv := make([]float64, d/2)
	for i := range inv {
		inv[i] = 1 / math.Pow(cfg.RopeTheta, float64(2*i)/float64(d))
	}
	r := cfg.RopeScaling
	if r == nil {
		return inv
	}
	if r.Type == "linear" {
		for i := range inv {
			inv[i] /= r.Factor
		}
		return inv
	}
	old := float64(r.OriginalMaxPositionEmbeddings)
	lowWavelen := old / r.LowFreqFactor
	highWavelen := old / r.HighFreqFactor
	for i, f := range inv {
		wavelen := 2 * math.Pi / f
		switch {
		case wavelen < highWavelen:
			// High frequencies are kept.
		case wavelen > lowWavelen:
			inv[i] = f / r.Factor
		default:
			smooth := (old/wavelen - r.LowFreqFactor) / (r.HighFreqFactor - r.LowFreqFactor)
			inv[i] = (1-smooth)*f/r.Factor + smooth*f
		}
	}
	return inv
}

// InvFreqLocal returns the inverse frequencies of sliding-window layers when
// they have their own base (Gemma 3's rope_local_base_freq, unscaled).
func InvFreqLocal(cfg checkpoint.Config) []float64 {
	c := cfg
	c.RopeTheta, c.RopeScaling = cfg.RopeLocalTheta, nil
	return InvFreq(c)
}
