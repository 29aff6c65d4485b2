package stages

import (
	"fmt"
	"strings"

	"github.com/refeval/refeval/llm/chat"
	"github.com/refeval/refeval/llm/openai"
)

// How a judge template becomes the prompt a judge model reads, as the
// paper's code (yale-nlp/RLRR, scoring.py prompt_to_chatml and
// vllm_models.py get_generation_prompt) does it: the template file is ChatML
// text that is split into messages, only the last message (the user turn)
// has its slots filled, and the messages are rendered with the judge
// model's own chat template with the generation prompt. The logprobs mode
// then appends JudgeAnswerPrefix, so that the next token is the label.

// Delimiters of the ChatML layout judge templates are written in.
const (
	turnStart = "<|im_start|>"
	turnEnd   = "<|im_end|>"
)

// A JudgeTemplate is a judge template split into chat messages.
type JudgeTemplate struct {
	// Source is the file's text; it enters the judge's memo keys.
	Source string
	// Messages are the template's turns, contents trimmed; the slots are
	// in the last one, a user turn.
	Messages []chat.Message
	// Reference says whether the last message has the {REFERENCE} slot.
	Reference bool
}

// ParseJudgeTemplate splits a judge template into messages. The template,
// with surrounding white space trimmed, must start with <|im_start|> and
// end with <|im_end|>; each turn is <|im_start|>ROLE, a newline, the
// content and, except that a turn may run into the next one unclosed as in
// the paper's refmatch prompt, <|im_end|>. ROLE is system, user or
// assistant, and the last turn is a user turn holding the slots {INSTRUCTION},
// {OUTPUT_1}, {OUTPUT_2} and maybe {REFERENCE}. Errors name the line of
// the template they are about; the caller adds the file.
func ParseJudgeTemplate(src string) (*JudgeTemplate, error) {
	t := &JudgeTemplate{Source: src}
	trimmed := strings.TrimSpace(src)
	// offset of trimmed within src, for line numbers.
	base := strings.Index(src, trimmed)
	lineOf := func(off int) int { return strings.Count(src[:base+off], "\n") + 1 }
	if !strings.HasPrefix(trimmed, turnStart) {
		return nil, fmt.Errorf("line %d: a judge template must start with %s, as in prompts/refeval.txt (%s then the role, a newline and the text)", lineOf(0), turnStart, turnStart)
	}
	if !strings.HasSuffix(trimmed, turnEnd) {
		return nil, fmt.Errorf("line %d: a judge template must end with %s closing its last turn, as in prompts/refeval.txt", lineOf(len(trimmed)), turnEnd)
	}
	off := 0
	parts := strings.Split(trimmed, turnStart)[1:]
	off += len(turnStart)
	var lines []int // the line of each turn's <|im_start|>
	for _, part := range parts {
		line := lineOf(off)
		roleLine, rest, ok := strings.Cut(part, "\n")
		if !ok {
			return nil, fmt.Errorf("line %d: the turn has no newline after its role; write %sROLE on a line of its own", line, turnStart)
		}
		role := strings.TrimSpace(roleLine)
		switch role {
		case "system", "user", "assistant":
		default:
			return nil, fmt.Errorf("line %d: unknown role %q; a judge template's turns are system, user or assistant", line, role)
		}
		content, after, closed := strings.Cut(rest, turnEnd)
		if closed && strings.TrimSpace(after) != "" {
			stray := off + len(part) - len(strings.TrimLeft(after, " \t\r\n"))
			if strings.HasPrefix(strings.TrimSpace(after), turnEnd) {
				return nil, fmt.Errorf("line %d: a turn closed twice with %s", lineOf(stray), turnEnd)
			}
			return nil, fmt.Errorf("line %d: text between %s and the next %s would be dropped; move it into a turn", lineOf(stray), turnEnd, turnStart)
		}
		t.Messages = append(t.Messages, chat.Message{Role: role, Content: strings.TrimSpace(content)})
		lines = append(lines, line)
		off += len(part) + len(turnStart)
	}
	last := t.Messages[len(t.Messages)-1]
	if last.Role != "user" {
		return nil, fmt.Errorf("line %d: the last turn of a judge template is %s; it must be the user turn with the slots, as the judge answers it", lines[len(lines)-1], last.Role)
	}
	for k, m := range t.Messages[:len(t.Messages)-1] {
		if names := slotPattern.FindAllString(m.Content, -1); len(names) > 0 {
			return nil, fmt.Errorf("line %d: slot %s is in a %s turn before the last one; the paper's code fills the slots of the last turn only, so put them there", lines[k], names[0], m.Role)
		}
	}
	// Check the slots with RenderJudge, which knows which are required.
	if _, err := RenderJudge(last.Content, "i", "r", "a", "b"); err != nil {
		return nil, err
	}
	t.Reference = strings.Contains(last.Content, "{"+SlotReference+"}")
	return t, nil
}

// Fill returns the messages with the last one's slots filled in.
func (t *JudgeTemplate) Fill(instruction, reference, out1, out2 string) ([]chat.Message, error) {
	msgs := append([]chat.Message(nil), t.Messages...)
	last := &msgs[len(msgs)-1]
	s, err := RenderJudge(last.Content, instruction, reference, out1, out2)
	if err != nil {
		return nil, err
	}
	last.Content = s
	return msgs, nil
}

// JudgePromptText renders filled judge messages with the judge model's chat
// template and its generation prompt, followed by JudgeAnswerPrefix when
// prefix is set (the logprobs mode).
func JudgePromptText(tmpl *chat.Template, msgs []chat.Message, prefix bool) (string, error) {
	s, err := tmpl.Render(msgs, true)
	if err != nil {
		return "", fmt.Errorf("rendering the judge prompt with the judge's chat template: %w", err)
	}
	if prefix {
		s += JudgeAnswerPrefix
	}
	return s, nil
}

// openaiMessages converts chat messages for an endpoint.
func openaiMessages(msgs []chat.Message) []openai.Message {
	out := make([]openai.Message, len(msgs))
	for i, m := range msgs {
		out[i] = openai.Message{Role: m.Role, Content: m.Content}
	}
	return out
}
