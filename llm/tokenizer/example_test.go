package tokenizer_test

import (
	"fmt"
	"log"

	"github.com/refeval/refeval/llm/tokenizer"
)

func Example() {
	tok, err := tokenizer.Load("../../models/tokenizers/qwen2_5/tokenizer.json.gz")
	if err != nil {
		log.Fatal(err)
	}
	ids := tok.Encode("<|im_start|>user\nHello, 世界!<|im_end|>")
	fmt.Println(ids)
	fmt.Printf("%q\n", tok.Decode(ids, true))

	// Stream: a character split over two tokens comes out whole.
	d := tok.NewDecoder()
	for _, id := range tok.Encode("猫🪿") {
		fmt.Printf("%q ", d.Add(id))
	}
	fmt.Printf("%q\n", d.Flush())
	// Output:
	// [151644 872 198 9707 11 220 99489 0 151645]
	// "user\nHello, 世界!"
	// "猫" "" "" "🪿" ""
}
