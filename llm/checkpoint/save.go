package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/refeval/refeval/internal/atomicfile"
)

// DefaultShardBytes is the largest shard Save writes; transformers'
// save_pretrained defaults to 5 GB ("max_shard_size").
const DefaultShardBytes = 5 << 30

// TokenizerFiles are copied by Save from SaveOptions.TokenizerDir when present.
var TokenizerFiles = []string{"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt"}

// SaveOptions tunes Save.
type SaveOptions struct {
	ShardBytes   int64  // Largest shard in bytes; 0 means DefaultShardBytes.
	TokenizerDir string // Folder whose tokenizer files are copied next to the weights; "" copies none.
}

// Save writes cfg and tensors as a Hugging Face model folder that
// transformers and vLLM load unchanged: config.json,
// generation_config.json, model.safetensors (or model-0000N-of-0000M.safetensors
// shards plus model.safetensors.index.json when larger than
// opt.ShardBytes) in cfg.TorchDType, and the tokenizer files.
func Save(dir string, cfg Config, tensors map[string]*Tensor, opt SaveOptions) error {
	if err := CheckShapes(cfg, tensors, "saving "+dir); err != nil {
		return err
	}
	dtype, err := safetensorsDType(cfg.TorchDType)
	if err != nil {
		return fmt.Errorf("saving %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return fmt.Errorf("saving model: %w", err)
	}
	if err := WriteConfig(dir, cfg); err != nil {
		return err
	}
	shardBytes := opt.ShardBytes
	if shardBytes <= 0 {
		shardBytes = DefaultShardBytes
	}
	size, _ := dtypeSize(dtype)
	keep := map[string]*Tensor{}
	for name := range Shapes(cfg) {
		keep[name] = tensors[name]
	}
	// Split in name order, as save_pretrained fills shards in order.
	var shards []map[string]*Tensor
	var cur map[string]*Tensor
	var curBytes, total int64
	for _, name := range sortedKeys(keep) {
		b := int64(size * len(keep[name].Data))
		total += b
		if cur == nil || (curBytes > 0 && curBytes+b > shardBytes) {
			cur = map[string]*Tensor{}
			shards = append(shards, cur)
			curBytes = 0
		}
		cur[name] = keep[name]
		curBytes += b
	}
	// Remove weights of an earlier save that this one would not overwrite.
	old, _ := filepath.Glob(filepath.Join(dir, "model*.safetensors"))
	for _, f := range old {
		os.Remove(f)
	}
	os.Remove(filepath.Join(dir, IndexFile))
	if len(shards) == 1 {
		if err := WriteSafetensors(filepath.Join(dir, "model.safetensors"), shards[0], dtype); err != nil {
			return err
		}
	} else {
		weightMap := map[string]string{}
		for i, s := range shards {
			file := fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, len(shards))
			if err := WriteSafetensors(filepath.Join(dir, file), s, dtype); err != nil {
				return err
			}
			for name := range s {
				weightMap[name] = file
			}
		}
		idx, _ := json.MarshalIndent(map[string]any{
			"metadata":   map[string]any{"total_size": total},
			"weight_map": weightMap,
		}, "", "  ")
		if err := atomicfile.WriteBytes(filepath.Join(dir, IndexFile), append(idx, '\n')); err != nil {
			return err
		}
	}
	if opt.TokenizerDir != "" {
		if err := CopyTokenizerFiles(opt.TokenizerDir, dir); err != nil {
			return err
		}
	}
	return nil
}

// CopyTokenizerFiles copies the TokenizerFiles present in from into to.
// It does nothing when both are the same folder.
func CopyTokenizerFiles(from, to string) error {
	if a, err1 := filepath.Abs(from); err1 == nil {
		if b, err2 := filepath.Abs(to); err2 == nil && a == b {
			return nil
		}
	}
	for _, name := range TokenizerFiles {
		if err := copyFile(filepath.Join(from, name), filepath.Join(to, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("copying tokenizer file: %w", err)
		}
	}
	return nil
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(to, data)
}
