package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Checkpoint is a model folder loaded into memory.
type Checkpoint struct {
	Dir     string             // The folder it was read from.
	Config  Config             // config.json plus generation_config.json.
	Tensors map[string]*Tensor // Every tensor of Shapes(Config), float32.
}

// IndexFile is the name of the shard index transformers writes.
const IndexFile = "model.safetensors.index.json"

// Load reads a Hugging Face model folder: config.json,
// generation_config.json and the safetensors weights (model.safetensors,
// or the shards listed in model.safetensors.index.json). Every tensor the
// config implies must be present with its shape; others (such as
// rotary_emb.inv_freq) are ignored. Tokenizer files are left to the
// tokenizer and chat packages.
func Load(dir string) (*Checkpoint, error) {
	cfg, err := ReadConfig(dir)
	if err != nil {
		return nil, err
	}
	files, err := weightFiles(dir)
	if err != nil {
		return nil, err
	}
	want := Shapes(cfg)
	tensors := make(map[string]*Tensor, len(want))
	for _, file := range files {
		if err := readWeights(file, want, tensors); err != nil {
			return nil, err
		}
	}
	where := files[0]
	if len(files) > 1 {
		where = filepath.Join(dir, IndexFile)
	}
	if err := CheckShapes(cfg, tensors, where); err != nil {
		return nil, err
	}
	return &Checkpoint{Dir: dir, Config: cfg, Tensors: tensors}, nil
}

// readWeights adds to tensors the tensors of the safetensors file that
// want names, checking their shapes and that no earlier file held them.
func readWeights(file string, want map[string][]int, tensors map[string]*Tensor) error {
	sf, err := openSafetensors(file)
	if err != nil {
		return err
	}
	defer sf.Close()
	for name := range sf.entries {
		if _, ok := want[name]; !ok {
			continue
		}
		if _, dup := tensors[name]; dup {
			return fmt.Errorf("%s: tensor %q appears in more than one weights file", file, name)
		}
		t, err := sf.read(name)
		if err != nil {
			return err
		}
		if !equalInts(t.Shape, want[name]) {
			return fmt.Errorf("%s: tensor %q has shape %v, config.json implies %v", file, name, t.Shape, want[name])
		}
		tensors[name] = t
	}
	return nil
}

// weightFiles lists the safetensors files of dir: the shards named by the
// index if there is one, else model.safetensors, else every *.safetensors.
func weightFiles(dir string) ([]string, error) {
	ipath := filepath.Join(dir, IndexFile)
	data, err := os.ReadFile(ipath)
	if err == nil {
		var idx struct {
			WeightMap map[string]string `json:"weight_map"`
		}
		if err := json.Unmarshal(data, &idx); err != nil {
			return nil, fmt.Errorf("%s: bad JSON: %v", ipath, err)
		}
		if len(idx.WeightMap) == 0 {
			return nil, fmt.Errorf("%s: empty or missing weight_map", ipath)
		}
		seen := map[string]bool{}
		var files []string
		for _, f := range idx.WeightMap {
			if filepath.Base(f) != f {
				return nil, fmt.Errorf("%s: shard name %q must be a file name in the same folder", ipath, f)
			}
			if !seen[f] {
				seen[f] = true
				files = append(files, filepath.Join(dir, f))
			}
		}
		sort.Strings(files)
		return files, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading shard index: %w", err)
	}
	single := filepath.Join(dir, "model.safetensors")
	if _, err := os.Stat(single); err == nil {
		return []string{single}, nil
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no model.safetensors, %s or *.safetensors; is this a Hugging Face model folder?", dir, IndexFile)
	}
	sort.Strings(files)
	return files, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
