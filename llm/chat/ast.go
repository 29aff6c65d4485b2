package chat

// This file holds the syntax tree, after @huggingface/jinja 0.5.11's src/ast.ts. Text
// between tags is a strLit. Missing optional parts (a slice bound, a set's value) are nil.

type node any

type (
	ifNode struct {
		test      node
		body, alt []node
	}
	forNode struct {
		loopvar    node // *ident or *tupleLit
		iterable   node // a *selectExpr filters items
		body, dflt []node
	}
	breakNode    struct{}
	continueNode struct{}
	setNode      struct {
		assignee node
		value    node // nil for a block set
		body     []node
	}
	macroNode struct {
		name string
		args []node // *ident or *kwargExpr
		body []node
	}
	commentNode struct{}
	callStmt    struct {
		call       *callExpr
		callerArgs []node
		body       []node
	}
	filterStmt struct {
		filter node // *ident or *callExpr
		body   []node
	}

	memberExpr struct {
		obj, prop node
		computed  bool
	}
	callExpr struct {
		callee node
		args   []node
	}
	ident      struct{ name string }
	intLit     struct{ v int64 }
	floatLit   struct{ v float64 }
	strLit     struct{ v string }
	arrayLit   struct{ items []node }
	tupleLit   struct{ items []node }
	objectLit  struct{ keys, vals []node }
	binaryExpr struct {
		op          string
		left, right node
	}
	filterExpr struct {
		operand node
		filter  node // *ident or *callExpr
	}
	selectExpr struct{ lhs, test node }
	testExpr   struct {
		operand node
		negate  bool
		test    string
	}
	unaryExpr struct {
		op  string
		arg node
	}
	sliceExpr struct{ start, stop, step node }
	kwargExpr struct {
		key string
		val node
	}
	spreadExpr   struct{ arg node }
	kwSpreadExpr struct{ arg node }
	ternary      struct{ cond, t, f node }
)
