package train

import (
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads as math.

	"github.com/refeval/refeval/llm/transformer"
)

// tokenLogProbs returns log p(tokens[:, t] | tokens[:, <t]) for t ≥ 1 as
// float32 [batch, seq-1], from logits [batch, seq, vocab] (position t
// predicts token t+1) and int32 tokens [batch, seq].
func tokenLogProbs(logits, tokens *Node) *Node {
	seq := logits.Shape().Dimensions[1]
	return transformer.TargetLogProbs(Slice(logits, AxisRange(), AxisRange(0, seq-1)), Slice(tokens, AxisRange(), AxisRange(1, seq)))
}

// SequenceLogProbs returns, for each row, the sum of the log-probs of the
// tokens that mask marks: float32 [batch]. logits is [batch, seq, vocab]
// (position t predicts token t+1), tokens int32 [batch, seq], mask float32
// [batch, seq] with 1 on response tokens and 0 on prompt and padding (its
// column 0 is ignored: the first token has no prediction).
func SequenceLogProbs(logits, tokens, mask *Node) *Node {
	seq := tokens.Shape().Dimensions[1]
	m := Slice(mask, AxisRange(), AxisRange(1, seq))
	return ReduceSum(Mul(tokenLogProbs(logits, tokens), m), -1)
}

// TokenCrossEntropy returns, for each row, the summed next-token
// cross-entropy over the tokens that mask marks, float32 [batch]: the SFT
// loss before normalization by the number of marked tokens.
func TokenCrossEntropy(logits, tokens, mask *Node) *Node {
	return Neg(SequenceLogProbs(logits, tokens, mask))
}
