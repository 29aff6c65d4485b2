package openai

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestChatAll(t *testing.T) {
	const items = 12
	names := make([]string, items)
	reqs := make([]ChatRequest, items)
	for i := range reqs {
		names[i] = fmt.Sprintf("prompt %d", i)
		reqs[i] = ChatRequest{Messages: userMsg(fmt.Sprint("q", i))}
	}
	t.Run("all answered in order", func(t *testing.T) {
		s := newFakeServer(t, echo)
		c := newTestClient(t, Config{Endpoint: s.endpoint(), MaxConcurrency: 4})
		var last int
		out, err := c.ChatAll(context.Background(), names, reqs, func(done int) { last = done })
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range out {
			if want := fmt.Sprintf("echo 0: q%d", i); r == nil || r.Choices[0].Message.Content != want {
				t.Errorf("wrong answer %d\ngot:  %#v\nwant: %#v", i, r, want)
			}
		}
		if last != items {
			t.Errorf("wrong final progress\ngot:  %d\nwant: %d", last, items)
		}
	})
	t.Run("stops after a failure", func(t *testing.T) {
		s := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, req *wireRequest, call int64) {
			if req.Messages[0].Content == "q2" {
				status(400)(w, r, req)
				return
			}
			echo(w, r, req, call)
		})
		memo := newMapMemo()
		c := newTestClient(t, Config{Endpoint: s.endpoint(), MaxConcurrency: 1}, WithMemo(memo))
		out, err := c.ChatAll(context.Background(), names, reqs, nil)
		var ie *ItemError
		if !errors.As(err, &ie) || ie.Item != "prompt 2" || !strings.Contains(err.Error(), "400 Bad Request") {
			t.Fatalf("wrong error\ngot:  %v\nwant: item prompt 2: …400 Bad Request…", err)
		}
		if n := s.calls.Load(); n != 3 {
			t.Errorf("wrong number of requests\ngot:  %d\nwant: 3 (none after the failure)", n)
		}
		if out[0] == nil || out[1] == nil || out[2] != nil || out[3] != nil || memo.len() != 2 {
			t.Errorf("wrong answers kept: %v, memo %d", out[:4], memo.len())
		}
	})
	t.Run("mismatched lengths", func(t *testing.T) {
		c := newTestClient(t, Config{Endpoint: "http://127.0.0.1:1/v1"})
		if _, err := c.ChatAll(context.Background(), names[:1], reqs, nil); err == nil {
			t.Error("no error for 1 name and 12 requests")
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		s := newFakeServer(t, echo)
		c := newTestClient(t, Config{Endpoint: s.endpoint()})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := c.ChatAll(ctx, names, reqs, nil)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("wrong error\ngot:  %v\nwant: context.Canceled", err)
		}
		if n := s.calls.Load(); n != 0 {
			t.Errorf("a cancelled batch sent %d requests", n)
		}
	})
}
