package transformer

import (
	"fmt"
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/refeval/refeval/llm/checkpoint"
)

// maskedScore replaces attention scores of masked keys. It is finite so
// that a query with every key masked (a padding row) gives a uniform
// softmax instead of NaN; exp(maskedScore - max) is exactly 0 otherwise.
const maskedScore = -1e30

// Transformer builds decoder graphs (Qwen2, Qwen3, Llama, Mistral, Gemma 3)
// for one configuration.
type Transformer struct {
	cfg          checkpoint.Config
	invFreq      []float32
	invFreqLocal []float32 // sliding-window layers' frequencies; nil: the same as invFreq
}

// New returns the graph builder for cfg.
func New(cfg checkpoint.Config) *Transformer {
	f32 := func(inv []float64) []float32 {
		f := make([]float32, len(inv))
		for i, v := range inv {
			f[i] = float32(v)
		}
		return f
	}
	t := &Transformer{cfg: cfg, invFreq: f32(InvFreq(cfg))}
	if cfg.RopeLocalTheta > 0 {
		t.invFreqLocal = f32(InvFreqLocal(cfg))
	}
	return t
}

// ropes holds the cos and sin of the global and the local (sliding-window)
// layers.
type ropes struct {
	cos, sin, cosLocal, sinLocal *Node
}

// ropesAt returns the rotations for positions [batch, seq] (Int32).
func (t *Transformer) ropesAt(positions *Node) ropes {
	var r ropes
	r.cos, r.sin = t.rope(positions, t.invFreq)
	r.cosLocal, r.sinLocal = r.cos, r.sin
	if t.invFreqLocal != nil {
		r.cosLocal, r.sinLocal = t.rope(positions, t.invFreqLocal)
	}
	return r
}

// embed looks up token ids (with a trailing axis of 1) in the embedding,
// scaled by √hidden for Gemma (in float32, as its embed_scale).
func (t *Transformer) embed(w Weights, g *Graph, idx *Node) *Node {
	x := Gather(w(g, "model.embed_tokens.weight"), idx)
	if t.cfg.Gemma {
		x = MulScalar(x, float64(float32(math.Sqrt(float64(t.cfg.HiddenSize)))))
	}
	return x
}

// window returns, for query positions qpos [b, sq] and key positions kpos
// [b, sk] (or [sk]), where the sliding window lets a query see a key:
// [b, 1, 1, sq, sk] (Bool), qpos − kpos < window.
func (t *Transformer) window(qpos, kpos *Node) *Node {
	b, sq := qpos.Shape().Dimensions[0], qpos.Shape().Dimensions[1]
	if kpos.Rank() == 1 {
		kpos = BroadcastToDims(InsertAxes(kpos, 0), b, kpos.Shape().Dimensions[0])
	}
	sk := kpos.Shape().Dimensions[1]
	diff := Sub(BroadcastToDims(InsertAxes(qpos, -1), b, sq, sk), BroadcastToDims(InsertAxes(kpos, 1), b, sq, sk))
	return Reshape(LessThan(diff, Scalar(qpos.Graph(), dtypes.Int32, t.cfg.SlidingWindow)), b, 1, 1, sq, sk)
}

// anySliding reports whether some layer uses the sliding window.
func (t *Transformer) anySliding() bool {
	for l := range t.cfg.NumHiddenLayers {
		if t.cfg.Sliding(l) {
			return true
		}
	}
	return false
}

// layer runs decoder layer l on x [b, s, hidden]. attend returns the
// attention output (after o_proj) for the layer's q, k, v, given whether
// the layer is a sliding-window one; it is where callers add a cache.
func (t *Transformer) layer(w Weights, l int, x *Node, r ropes, attend func(p string, q, k, v *Node, local bool) *Node) *Node {
	g := x.Graph()
	p := fmt.Sprintf("model.layers.%d.", l)
	local := t.cfg.Sliding(l)
	cos, sin := r.cos, r.sin
	if local {
		cos, sin = r.cosLocal, r.sinLocal
	}
	hn := t.rmsNorm(x, w(g, p+"input_layernorm.weight"))
	q, k, v := t.qkv(w, p, hn, cos, sin)
	a := attend(p, q, k, v, local)
	if !t.cfg.Gemma {
		x = Add(x, a)
		return Add(x, t.mlp(w, p, t.rmsNorm(x, w(g, p+"post_attention_layernorm.weight"))))
	}
	x = Add(x, t.rmsNorm(a, w(g, p+"post_attention_layernorm.weight")))
	m := t.mlp(w, p, t.rmsNorm(x, w(g, p+"pre_feedforward_layernorm.weight")))
	return Add(x, t.rmsNorm(m, w(g, p+"post_feedforward_layernorm.weight")))
}

// Config returns the configuration the builder was made for.
func (t *Transformer) Config() checkpoint.Config { return t.cfg }

// Positions returns each token's position from a padding mask [batch, seq]
// (Bool, true for real tokens): the number of real tokens before it, so
// left- and right-padded rows get the positions they would have alone.
func Positions(mask *Node) *Node {
	m := ConvertDType(mask, dtypes.Int32)
	pos := Sub(CumSum(m, 1), m)
	return pos
}

// Logits runs the decoder over tokens [batch, seq] (Int32) with mask
// [batch, seq] (Bool, true for real tokens; padding may sit left or right)
// and returns the logits [batch, seq, vocab] (Float32). Padding positions
// give meaningless logits; real positions never attend to padding.
func (t *Transformer) Logits(w Weights, tokens, mask *Node) *Node {
	return t.LMHead(w, t.Hidden(w, tokens, mask))
}

// Hidden returns the final normalized hidden states [batch, seq, hidden].
func (t *Transformer) Hidden(w Weights, tokens, mask *Node) *Node {
	h, _ := t.forward(w, tokens, mask, 0)
	return h
}

// LMHead projects hidden states [..., hidden] to logits [..., vocab].
func (t *Transformer) LMHead(w Weights, hidden *Node) *Node {
	name := "lm_head.weight"
	if t.cfg.TieWordEmbeddings {
		name = "model.embed_tokens.weight"
	}
	return linear(hidden, w(hidden.Graph(), name), nil)
}

// Cache holds the keys and values of every layer, each [batch,
// kv_heads, cache_len, head_dim].
type Cache struct {
	K, V []*Node
}

// Nodes returns the cache as one list: K of every layer, then V.
func (c Cache) Nodes() []*Node { return append(append([]*Node{}, c.K...), c.V...) }

// CacheFromNodes is the inverse of Cache.Nodes.
func CacheFromNodes(nodes []*Node) Cache {
	n := len(nodes) / 2
	return Cache{K: nodes[:n], V: nodes[n:]}
}

// Prefill runs the decoder over right-padded prompts tokens [batch, seq]
// with mask [batch, seq] and returns the final hidden state at each row's
// last real token [batch, hidden] and a cache of cacheLen >= seq
// positions holding the prompt's keys and values at positions 0..seq-1.
func (t *Transformer) Prefill(w Weights, tokens, mask *Node, cacheLen int) (*Node, Cache) {
	seq := tokens.Shape().Dimensions[1]
	if cacheLen < seq {
		panic(fmt.Sprintf("transformer: cache length %d shorter than the prompt bucket %d", cacheLen, seq))
	}
	h, cache := t.forward(w, tokens, mask, cacheLen)
	return LastHidden(h, mask), cache
}

// LastHidden picks from h [batch, seq, hidden] each row's state at its
// last real token of a right-padded mask [batch, seq]: [batch, hidden].
func LastHidden(h, mask *Node) *Node {
	lengths := ReduceSum(ConvertDType(mask, dtypes.Int32), 1)
	last := Equal(Iota(mask.Graph(), shapes.Make(dtypes.Int32, mask.Shape().Dimensions...), 1), InsertAxes(AddScalar(lengths, -1), -1))
	return ReduceSum(Where(last, h, ZerosLike(h)), 1)
}

// DecodeStep runs one token per row, tokens [batch] (Int32) at positions
// pos [batch] (Int32, each < cache length), writing its key and value into
// the cache at pos (with Where over an Iota, since the pure-Go backend lacks
// DynamicUpdateSlice) and attending to cache positions <= pos. It returns
// the final hidden states [batch, hidden] and the updated cache.
func (t *Transformer) DecodeStep(w Weights, tokens, pos *Node, cache Cache) (*Node, Cache) {
	cfg := t.cfg
	g := tokens.Graph()
	b := tokens.Shape().Dimensions[0]
	cacheLen := cache.K[0].Shape().Dimensions[2]
	x := t.embed(w, g, InsertAxes(tokens, -1, -1)) // [b, 1, hidden]
	positions := InsertAxes(pos, -1)               // [b, 1]
	r := t.ropesAt(positions)
	iota := Iota(g, shapes.Make(dtypes.Int32, b, 1, cacheLen, 1), 2)
	write := Equal(iota, Reshape(pos, b, 1, 1, 1))                                      // [b, 1, T, 1]
	keyOK := LessOrEqual(Iota(g, shapes.Make(dtypes.Int32, b, cacheLen), 1), positions) // [b, T]
	allowed := Reshape(keyOK, b, 1, 1, 1, cacheLen)                                     // [b, kv, group, q, T]
	allowedLocal := allowed
	if t.anySliding() {
		allowedLocal = LogicalAnd(allowed, t.window(positions, Iota(g, shapes.Make(dtypes.Int32, cacheLen), 0)))
	}
	out := Cache{K: make([]*Node, cfg.NumHiddenLayers), V: make([]*Node, cfg.NumHiddenLayers)}
	for l := 0; l < cfg.NumHiddenLayers; l++ {
		x = t.layer(w, l, x, r, func(p string, q, k, v *Node, local bool) *Node {
			// q [b, heads, 1, d]; k, v [b, kv, 1, d]
			kw := BroadcastToDims(k, b, cfg.NumKeyValueHeads, cacheLen, cfg.HeadDim)
			vw := BroadcastToDims(v, b, cfg.NumKeyValueHeads, cacheLen, cfg.HeadDim)
			wr := BroadcastToDims(write, b, cfg.NumKeyValueHeads, cacheLen, cfg.HeadDim)
			out.K[l] = Where(wr, kw, cache.K[l])
			out.V[l] = Where(wr, vw, cache.V[l])
			if local {
				return t.attention(w, p, q, out.K[l], out.V[l], allowedLocal)
			}
			return t.attention(w, p, q, out.K[l], out.V[l], allowed)
		})
	}
	x = t.rmsNorm(x, w(g, "model.norm.weight"))
	return Reshape(x, b, cfg.HiddenSize), out
}

// forward runs the full decoder; with cacheLen > 0 it also returns the keys
// and values padded to cacheLen positions.
func (t *Transformer) forward(w Weights, tokens, mask *Node, cacheLen int) (*Node, Cache) {
	cfg := t.cfg
	g := tokens.Graph()
	b, s := tokens.Shape().Dimensions[0], tokens.Shape().Dimensions[1]
	x := t.embed(w, g, InsertAxes(tokens, -1)) // [b, s, hidden]
	positions := Positions(mask)
	r := t.ropesAt(positions)
	qi := Iota(g, shapes.Make(dtypes.Int32, s, s), 0)
	ki := Iota(g, shapes.Make(dtypes.Int32, s, s), 1)
	causal := Reshape(LessOrEqual(ki, qi), 1, 1, 1, s, s)
	keyOK := Reshape(mask, b, 1, 1, 1, s)
	allowed := LogicalAnd(BroadcastToDims(causal, b, 1, 1, s, s), BroadcastToDims(keyOK, b, 1, 1, s, s))
	allowedLocal := allowed
	if t.anySliding() {
		allowedLocal = LogicalAnd(allowed, t.window(positions, positions))
	}
	var cache Cache
	for l := 0; l < cfg.NumHiddenLayers; l++ {
		x = t.layer(w, l, x, r, func(p string, q, k, v *Node, local bool) *Node {
			if cacheLen > 0 {
				pad := Zeros(g, shapes.Make(dtypes.Float32, b, cfg.NumKeyValueHeads, cacheLen-s, cfg.HeadDim))
				if cacheLen == s {
					cache.K, cache.V = append(cache.K, k), append(cache.V, v)
				} else {
					cache.K = append(cache.K, Concatenate([]*Node{k, pad}, 2))
					cache.V = append(cache.V, Concatenate([]*Node{v, pad}, 2))
				}
			}
			if local {
				return t.attention(w, p, q, k, v, allowedLocal)
			}
			return t.attention(w, p, q, k, v, allowed)
		})
	}
	return t.rmsNorm(x, w(g, "model.norm.weight")), cache
}

// linear applies x·weightᵀ (+ bias) with weight in [out, in] layout,
// contracting its axis 1 so that no transposed copy is made.
func linear(x, weight, bias *Node) *Node {
	y := DotGeneral(x, []int{x.Rank() - 1}, nil, weight, []int{1}, nil)
	if bias != nil {
		y = Add(y, ExpandLeftToRank(bias, y.Rank()))
	}
	return y
}

// rmsNorm is Hugging Face's Qwen2RMSNorm/LlamaRMSNorm in float32, or
// Gemma3RMSNorm, which scales by 1 + weight. It divides by Sqrt rather than
// multiplying by Rsqrt so gradients exist on every backend.
func (t *Transformer) rmsNorm(x, weight *Node) *Node {
	variance := ReduceMean(Square(x), -1)
	denom := Sqrt(AddScalar(InsertAxes(variance, -1), t.cfg.RMSNormEps))
	if t.cfg.Gemma {
		weight = AddScalar(weight, 1)
	}
	return Mul(ExpandLeftToRank(weight, x.Rank()), Div(x, denom))
}

// rope returns cos and sin [batch, seq, 1, head_dim] for positions
// [batch, seq] (Int32) and inverse frequencies invFreq, duplicated over
// both halves as Hugging Face does.
func (t *Transformer) rope(positions *Node, invFreq []float32) (cos, sin *Node) {
	g := positions.Graph()
	inv := Const(g, invFreq)                                                                         // [d/2]
	angles := Mul(InsertAxes(ConvertDType(positions, dtypes.Float32), -1), ExpandLeftToRank(inv, 3)) // [b, s, d/2]
	angles = Concatenate([]*Node{angles, angles}, -1)
	return InsertAxes(Cos(angles), 2), InsertAxes(Sin(angles), 2)
}

// applyRope rotates x [batch, seq, heads, head_dim] (rotate-half).
func applyRope(x, cos, sin *Node) *Node {
	d := x.Shape().Dimensions[3]
	x1 := SliceAxis(x, 3, AxisRange(0, d/2))
	x2 := SliceAxis(x, 3, AxisRange(d/2, d))
	rot := Concatenate([]*Node{Neg(x2), x1}, 3)
	return Add(Mul(x, cos), Mul(rot, sin))
}

// qkv projects hn [batch, seq, hidden] to rotated queries [batch, heads,
// seq, d] and rotated keys and values [batch, kv_heads, seq, d].
func (t *Transformer) qkv(w Weights, p string, hn, cos, sin *Node) (q, k, v *Node) {
	cfg := t.cfg
	g := hn.Graph()
	b, s := hn.Shape().Dimensions[0], hn.Shape().Dimensions[1]
	bias := func(name string) *Node {
		if !cfg.AttentionBias {
			return nil
		}
		return w(g, p+name)
	}
	q = linear(hn, w(g, p+"self_attn.q_proj.weight"), bias("self_attn.q_proj.bias"))
	k = linear(hn, w(g, p+"self_attn.k_proj.weight"), bias("self_attn.k_proj.bias"))
	v = linear(hn, w(g, p+"self_attn.v_proj.weight"), bias("self_attn.v_proj.bias"))
	q = Reshape(q, b, s, cfg.NumAttentionHeads, cfg.HeadDim)
	k = Reshape(k, b, s, cfg.NumKeyValueHeads, cfg.HeadDim)
	if cfg.QKNorm { // per head, before RoPE (Qwen3, Gemma 3)
		q = t.rmsNorm(q, w(g, p+"self_attn.q_norm.weight"))
		k = t.rmsNorm(k, w(g, p+"self_attn.k_norm.weight"))
	}
	q = applyRope(q, cos, sin)
	k = applyRope(k, cos, sin)
	v = Reshape(v, b, s, cfg.NumKeyValueHeads, cfg.HeadDim)
	return Transpose(q, 1, 2), Transpose(k, 1, 2), Transpose(v, 1, 2)
}

// attention computes grouped-query attention of q [batch, heads, sq, d]
// over k, v [batch, kv_heads, sk, d] where allowed [batch, 1, 1, sq, sk]
// (Bool) and applies o_proj; it returns [batch, sq, hidden].
func (t *Transformer) attention(w Weights, p string, q, k, v, allowed *Node) *Node {
	cfg := t.cfg
	g := q.Graph()
	b, sq, sk := q.Shape().Dimensions[0], q.Shape().Dimensions[2], k.Shape().Dimensions[2]
	kvh, group, d := cfg.NumKeyValueHeads, cfg.NumAttentionHeads/cfg.NumKeyValueHeads, cfg.HeadDim
	qg := Reshape(q, b, kvh, group*sq, d)
	scores := DotGeneral(qg, []int{3}, []int{0, 1}, k, []int{3}, []int{0, 1}) // [b, kv, group*sq, sk]
	scale := float64(d)
	if cfg.QueryPreAttnScalar > 0 {
		scale = cfg.QueryPreAttnScalar
	}
	scores = MulScalar(Reshape(scores, b, kvh, group, sq, sk), 1/math.Sqrt(scale))
	scores = Where(BroadcastToDims(allowed, b, kvh, group, sq, sk), scores, Scalar(g, dtypes.Float32, maskedScore))
	probs := Softmax(scores, -1)
	ctx := DotGeneral(Reshape(probs, b, kvh, group*sq, sk), []int{3}, []int{0, 1}, v, []int{2}, []int{0, 1}) // [b, kv, group*sq, d]
	ctx = Transpose(Reshape(ctx, b, cfg.NumAttentionHeads, sq, d), 1, 2)                                     // [b, sq, heads, d]
	ctx = Reshape(ctx, b, sq, cfg.NumAttentionHeads*d)
	var bias *Node
	if cfg.OutputBias() {
		bias = w(g, p+"self_attn.o_proj.bias")
	}
	return linear(ctx, w(g, p+"self_attn.o_proj.weight"), bias)
}

// mlp is SwiGLU, down(silu(gate(x)) * up(x)), or for Gemma GeGLU with
// the tanh approximation of GELU.
func (t *Transformer) mlp(w Weights, p string, x *Node) *Node {
	g := x.Graph()
	gate := linear(x, w(g, p+"mlp.gate_proj.weight"), nil)
	up := linear(x, w(g, p+"mlp.up_proj.weight"), nil)
	if t.cfg.HiddenAct == "gelu_pytorch_tanh" {
		gate = geluTanh(gate)
	} else {
		gate = silu(gate)
	}
	return linear(Mul(gate, up), w(g, p+"mlp.down_proj.weight"), nil)
}

// geluTanh is PyTorch's gelu(approximate="tanh"):
// x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³))).
func geluTanh(x *Node) *Node {
	inner := MulScalar(Add(x, MulScalar(Mul(x, Square(x)), 0.044715)), math.Sqrt(2/math.Pi))
	return Mul(MulScalar(x, 0.5), AddScalar(Tanh(inner), 1))
}

// silu is x·sigmoid(x), with sigmoid(x) = (1 + tanh(x/2))/2: the same
// function, but the pure-Go backend's Tanh is vectorized while its Logistic
// calls float64 math.Exp per element (4× slower end to end, measured on
// [128, 192]).
func silu(x *Node) *Node {
	return Mul(x, AddScalar(MulScalar(Tanh(MulScalar(x, 0.5)), 0.5), 0.5))
}
