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
	fusedQKV     bool      // Read q, k and v as one weight (WithFusedQKV).
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

// ropes holds the rotations of the global and the local (sliding-window)
// layers.
type ropes struct {
	global, local rotation
}

// rotation is RoPE's cos and sin broadcast to the queries' [batch, seq,
// heads, head_dim] (cosQ, sinQ) and the keys' [batch, seq, kv_heads,
// head_dim] (cosK, sinK), once per graph: every layer then multiplies
// tensors of one shape, where a multiply by [batch, seq, 1, head_dim] goes
// through the pure-Go backend's slow broadcasting iterator, forward and
// backward, in every layer. They are broadcast from rank 3 to rank 4: the
// backend folds a same-rank broadcast back into the multiplies that use it
// (its ImplicitBroadcastFusion pass), which would undo this.
type rotation struct {
	cosQ, sinQ, cosK, sinK *Node
}

// ropesAt returns the rotations for positions [batch, seq] (Int32).
func (t *Transformer) ropesAt(positions *Node) ropes {
	r := ropes{global: t.rotation(positions, t.invFreq)}
	r.local = r.global
	if t.invFreqLocal != nil {
		r.local = t.rotation(positions, t.invFreqLocal)
	}
	return r
}

// rotation returns the rotation at positions [batch, seq] (Int32) for
// inverse frequencies invFreq.
func (t *Transformer) rotation(positions *Node, invFreq []float32) rotation {
	cos, sin := t.rope(positions, invFreq)
	dims := cos.Shape().Dimensions
	heads := func(x *Node, n int) *Node {
		return ExpandAndBroadcast(Reshape(x, dims[0], dims[1], dims[3]), []int{dims[0], dims[1], n, dims[3]}, []int{2})
	}
	r := rotation{cosQ: heads(cos, t.cfg.NumAttentionHeads), sinQ: heads(sin, t.cfg.NumAttentionHeads)}
	r.cosK, r.sinK = r.cosQ, r.sinQ
	if t.cfg.NumKeyValueHeads != t.cfg.NumAttentionHeads {
		r.cosK, r.sinK = heads(cos, t.cfg.NumKeyValueHeads), heads(sin, t.cfg.NumKeyValueHeads)
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

// allowed is where each query may look, [batch, 1, 1, sq, sk] (Bool): in
// the global layers and in the sliding-window ones.
type allowed struct{ global, local *Node }

// allowedAt returns global for the global layers and, for the sliding-window
// ones, global within the window of query positions qpos [b, sq] and key
// positions kpos [b, sk] (or [sk]).
func (t *Transformer) allowedAt(global, qpos, kpos *Node) allowed {
	a := allowed{global: global, local: global}
	if t.anySliding() {
		a.local = LogicalAnd(global, t.window(qpos, kpos))
	}
	return a
}

// causal returns where the tokens of a padding mask [b, s] (Bool) may look
// among themselves: at real keys no later than the query, [b, 1, 1, s, s].
func causal(mask *Node) *Node {
	g := mask.Graph()
	b, s := mask.Shape().Dimensions[0], mask.Shape().Dimensions[1]
	qi := Iota(g, shapes.Make(dtypes.Int32, s, s), 0)
	ki := Iota(g, shapes.Make(dtypes.Int32, s, s), 1)
	order := BroadcastToDims(Reshape(LessOrEqual(ki, qi), 1, 1, 1, s, s), b, 1, 1, s, s)
	return LogicalAnd(order, BroadcastToDims(Reshape(mask, b, 1, 1, 1, s), b, 1, 1, s, s))
}

// kvCache is what a forward pass attends over besides its own tokens:
// given layer l's keys and values of the new tokens [b, kv_heads, s, d],
// it returns the keys and values to attend to [b, kv_heads, sk, d],
// keeping what it must (a prefill's cache, a decode step's written one).
// A nil kvCache attends to the new tokens alone.
type kvCache interface {
	keysValues(l int, k, v *Node) (*Node, *Node)
}

// layer runs decoder layer l on x [b, s, hidden]: the one layer body of
// the full forward, Prefill, DecodeStep, Extend and training, which differ
// only in a and c.
func (t *Transformer) layer(w Weights, l int, x *Node, r ropes, a allowed, c kvCache) *Node {
	g := x.Graph()
	p := fmt.Sprintf("model.layers.%d.", l)
	rot, mask := r.global, a.global
	if t.cfg.Sliding(l) {
		rot, mask = r.local, a.local
	}
	hn := t.rmsNorm(x, w(g, p+"input_layernorm.weight"))
	q, k, v := t.qkv(w, p, hn, rot)
	if c != nil {
		k, v = c.keysValues(l, k, v)
	}
	att := t.attention(w, p, q, k, v, mask)
	if !t.cfg.Gemma {
		x = Add(x, att)
		return Add(x, t.mlp(w, p, t.rmsNorm(x, w(g, p+"post_attention_layernorm.weight"))))
	}
	x = Add(x, t.rmsNorm(att, w(g, p+"post_attention_layernorm.weight")))
	m := t.mlp(w, p, t.rmsNorm(x, w(g, p+"pre_feedforward_layernorm.weight")))
	return Add(x, t.rmsNorm(m, w(g, p+"post_feedforward_layernorm.weight")))
}

// decoder runs every layer over the embedded tokens x [b, s, hidden] at
// positions [b, s] (Int32) and returns the final normalized hidden states.
func (t *Transformer) decoder(w Weights, x, positions *Node, a allowed, c kvCache) *Node {
	r := t.ropesAt(positions)
	for l := range t.cfg.NumHiddenLayers {
		x = t.layer(w, l, x, r, a, c)
	}
	return t.rmsNorm(x, w(x.Graph(), "model.norm.weight"))
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

// HiddenAt picks from h [batch, seq, hidden] each row's states at
// positions pos [batch, r] (Int32): [batch, r, hidden].
func HiddenAt(h, pos *Node) *Node {
	b, r := pos.Shape().Dimensions[0], pos.Shape().Dimensions[1]
	bi := Iota(h.Graph(), shapes.Make(dtypes.Int32, b, r, 1), 0)
	return Gather(h, Concatenate([]*Node{bi, InsertAxes(pos, -1)}, -1))
}

// DecodeStep runs one token per row, tokens [batch] (Int32) at positions
// pos [batch] (Int32, each < cache length), writing its key and value into
// the cache at pos and attending to cache positions <= pos. It returns the
// final hidden states [batch, hidden] and the updated cache. Each write
// touches the new rows alone (two scatters, see decodeCache), so a cache
// donated to the step is updated in place.
func (t *Transformer) DecodeStep(w Weights, tokens, pos *Node, cache Cache) (*Node, Cache) {
	g := tokens.Graph()
	b := tokens.Shape().Dimensions[0]
	cacheLen := cache.K[0].Shape().Dimensions[2]
	kv := t.cfg.NumKeyValueHeads
	x := t.embed(w, g, InsertAxes(tokens, -1, -1))                                      // [b, 1, hidden]
	positions := InsertAxes(pos, -1)                                                    // [b, 1]
	keyOK := LessOrEqual(Iota(g, shapes.Make(dtypes.Int32, b, cacheLen), 1), positions) // [b, T]
	a := t.allowedAt(Reshape(keyOK, b, 1, 1, 1, cacheLen), positions, Iota(g, shapes.Make(dtypes.Int32, cacheLen), 0))
	at := shapes.Make(dtypes.Int32, b, kv, 1)
	rows := Concatenate([]*Node{Iota(g, at, 0), Iota(g, at, 1), BroadcastToDims(Reshape(pos, b, 1, 1), b, kv, 1)}, 2) // [b, kv, 3]: (row, head, pos)
	c := &decodeCache{in: cache, rows: rows}
	h := t.decoder(w, x, positions, a, c)
	return Reshape(h, b, t.cfg.HiddenSize), c.out
}

// decodeCache writes each layer's new key and value [b, kv, 1, d] into the
// cache [b, kv, T, d] at the (row, head, position) triples rows [b, kv, 3]
// and attends over the whole cache. The backends have no scatter that
// replaces, so it writes with ScatterMin then ScatterMax of the same
// values: max(min(old, new), new) = new, exactly. A scatter updates its
// operand in place when the operand is its own (a donated cache), where
// Where over the whole cache read and wrote every position of every layer
// on every step.
type decodeCache struct {
	in, out Cache
	rows    *Node
}

func (c *decodeCache) keysValues(l int, k, v *Node) (*Node, *Node) {
	write := func(cache, x *Node) *Node {
		dims := x.Shape().Dimensions
		x = Reshape(x, dims[0], dims[1], dims[3])
		return ScatterMax(ScatterMin(cache, c.rows, x, true, true), c.rows, x, true, true)
	}
	c.out.K = append(c.out.K, write(c.in.K[l], k))
	c.out.V = append(c.out.V, write(c.in.V[l], v))
	return c.out.K[l], c.out.V[l]
}

// forward runs the full decoder; with cacheLen > 0 it also returns the keys
// and values padded to cacheLen positions.
func (t *Transformer) forward(w Weights, tokens, mask *Node, cacheLen int) (*Node, Cache) {
	x := t.embed(w, tokens.Graph(), InsertAxes(tokens, -1)) // [b, s, hidden]
	positions := Positions(mask)
	a := t.allowedAt(causal(mask), positions, positions)
	if cacheLen == 0 {
		return t.decoder(w, x, positions, a, nil), Cache{}
	}
	c := &prefillCache{cacheLen: cacheLen}
	return t.decoder(w, x, positions, a, c), c.out
}

// prefillCache keeps each layer's keys and values [b, kv, s, d], padded
// with zeros to cacheLen positions, and attends over the new ones alone.
type prefillCache struct {
	cacheLen int
	out      Cache
}

func (c *prefillCache) keysValues(l int, k, v *Node) (*Node, *Node) {
	pad := func(x *Node) *Node {
		dims := x.Shape().Clone().Dimensions
		if dims[2] == c.cacheLen {
			return x
		}
		dims[2] = c.cacheLen - dims[2]
		return Concatenate([]*Node{x, Zeros(x.Graph(), shapes.Make(x.DType(), dims...))}, 2)
	}
	c.out.K, c.out.V = append(c.out.K, pad(k)), append(c.out.V, pad(v))
	return k, v
}

// linear applies x·weightᵀ (+ bias) with weight in [out, in] layout,
// contracting its axis 1 so that no transposed copy is made.
func linear(x, weight, bias *Node) *Node {
	y := DotGeneral(x, []int{x.Rank() - 1}, nil, weight, []int{1}, nil)
	if bias != nil {
		y = Add(y, BroadcastPrefix(bias, y.Shape().Dimensions[:y.Rank()-1]...)) // See rmsNorm.
	}
	return y
}

// rmsNorm is Hugging Face's Qwen2RMSNorm/LlamaRMSNorm in float32, or
// Gemma3RMSNorm, which scales by 1 + weight (see rmsNormalize). The weight
// is broadcast to x's shape first, by prefix axes (a plain copy per row in
// the pure-Go backend, which does not fold a broadcast that adds axes back
// into the multiply), so that the multiply, forward and backward, is one
// of equal shapes and not a pass of the backend's slow broadcasting
// iterator.
func (t *Transformer) rmsNorm(x, weight *Node) *Node {
	if t.cfg.Gemma {
		weight = AddScalar(weight, 1)
	}
	return Mul(BroadcastPrefix(weight, x.Shape().Dimensions[:x.Rank()-1]...), rmsNormalize(x, t.cfg.RMSNormEps))
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

// applyRope rotates x [batch, seq, heads, head_dim] (rotate-half) by cos
// and sin of its shape.
func applyRope(x, cos, sin *Node) *Node {
	d := x.Shape().Dimensions[3]
	x1 := SliceAxis(x, 3, AxisRange(0, d/2))
	x2 := SliceAxis(x, 3, AxisRange(d/2, d))
	rot := Concatenate([]*Node{Neg(x2), x1}, 3)
	return Add(Mul(x, cos), Mul(rot, sin))
}

// qkv projects hn [batch, seq, hidden] to rotated queries [batch, heads,
// seq, d] and rotated keys and values [batch, kv_heads, seq, d].
func (t *Transformer) qkv(w Weights, p string, hn *Node, rot rotation) (q, k, v *Node) {
	cfg := t.cfg
	g := hn.Graph()
	b, s := hn.Shape().Dimensions[0], hn.Shape().Dimensions[1]
	bias := func(name string) *Node {
		if !cfg.AttentionBias {
			return nil
		}
		return w(g, p+name)
	}
	if t.fusedQKV {
		qd, kd := cfg.NumAttentionHeads*cfg.HeadDim, cfg.NumKeyValueHeads*cfg.HeadDim
		y := linear(hn, w(g, p+fusedQKV+"weight"), bias(fusedQKV+"bias"))
		q = SliceAxis(y, -1, AxisRange(0, qd))
		k = SliceAxis(y, -1, AxisRange(qd, qd+kd))
		v = SliceAxis(y, -1, AxisRange(qd+kd, qd+2*kd))
	} else {
		q = linear(hn, w(g, p+"self_attn.q_proj.weight"), bias("self_attn.q_proj.bias"))
		k = linear(hn, w(g, p+"self_attn.k_proj.weight"), bias("self_attn.k_proj.bias"))
		v = linear(hn, w(g, p+"self_attn.v_proj.weight"), bias("self_attn.v_proj.bias"))
	}
	q = Reshape(q, b, s, cfg.NumAttentionHeads, cfg.HeadDim)
	k = Reshape(k, b, s, cfg.NumKeyValueHeads, cfg.HeadDim)
	if cfg.QKNorm { // per head, before RoPE (Qwen3, Gemma 3)
		q = t.rmsNorm(q, w(g, p+"self_attn.q_norm.weight"))
		k = t.rmsNorm(k, w(g, p+"self_attn.k_norm.weight"))
	}
	q = applyRope(q, rot.cosQ, rot.sinQ)
	k = applyRope(k, rot.cosK, rot.sinK)
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
	var scores *Node // [b, kv, group*sq, sk]
	if sq > 1 {
		// Keys as [b, kv, d, sk]: the pure-Go backend's small kernel then
		// runs along the keys, where contracting d (32-64 values) ended
		// every score in a horizontal sum of a vector register; the
		// transpose copies the keys once per layer. With 16 keys or fewer
		// that kernel falls back to a scalar loop that rounds otherwise,
		// and a row's scores would depend on its batch's prompt bucket:
		// fewer than 32 keys are padded with zeros to 32. A decode step
		// (one query over a whole cache) keeps the keys as they lie.
		kt := Transpose(k, 2, 3)
		if sk < 32 {
			kt = Concatenate([]*Node{kt, Zeros(g, shapes.Make(kt.DType(), b, kvh, d, 32-sk))}, 3)
		}
		scores = DotGeneral(qg, []int{3}, []int{0, 1}, kt, []int{2}, []int{0, 1})
		if sk < 32 {
			scores = SliceAxis(scores, 3, AxisRange(0, sk))
		}
	} else {
		scores = DotGeneral(qg, []int{3}, []int{0, 1}, k, []int{3}, []int{0, 1})
	}
	scale := float64(d)
	if cfg.QueryPreAttnScalar > 0 {
		scale = cfg.QueryPreAttnScalar
	}
	scores = MulScalar(Reshape(scores, b, kvh, group, sq, sk), 1/math.Sqrt(scale))
	scores = Where(BroadcastToDims(allowed, b, kvh, group, sq, sk), scores, Scalar(g, dtypes.Float32, maskedScore))
	probs := softmax(scores)
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
// function, but the pure-Go backend's Logistic calls float64 math.Exp per
// element behind a branch (4× slower end to end, measured on [128, 192]).
// Its gradient is the closed form σ + y·(1 − σ) (y the result): four
// passes where differentiating the five ops took eight.
func silu(x *Node) *Node {
	var s, y *Node
	return withGradient(x, func() *Node {
		s = AddScalar(MulScalar(Tanh(MulScalar(x, 0.5)), 0.5), 0.5)
		y = Mul(x, s)
		return y
	}, func(v *Node) *Node {
		// d/dx x·σ(x) = σ + x·σ·(1 − σ) = σ + y·(1 − σ).
		return Mul(v, Add(s, Mul(y, OneMinus(s))))
	})
}
