package chat

import "math"

// This file holds arithmetic on numbers, as evaluateBinaryExpression does it: integers stay
// integers for + - * // %, / always gives a float. Integer // and % by zero give the
// JavaScript's Infinity or NaN, as floats (the JavaScript keeps calling them integers).

func power(left, right value, a, b float64) value {
	if a == 0 && b < 0 {
		panic(runErrorf("0.0 cannot be raised to a negative power"))
	}
	res := math.Pow(a, b)
	if math.IsInf(res, 0) || math.IsNaN(res) {
		panic(runErrorf("exponentiation result is not a finite real number"))
	}
	_, lf := left.(float64)
	_, rf := right.(float64)
	if lf || rf || b < 0 {
		return res
	}
	return int64(res)
}

func arith(op string, left, right value, isFloat bool) (value, bool) {
	a, _ := numeric(left)
	b, _ := numeric(right)
	li, _ := left.(int64)
	ri, _ := right.(int64)
	switch op {
	case "+", "-", "*":
		if isFloat {
			switch op {
			case "+":
				return a + b, true
			case "-":
				return a - b, true
			}
			return a * b, true
		}
		switch op {
		case "+":
			return li + ri, true
		case "-":
			return li - ri, true
		}
		return li * ri, true
	case "/":
		return a / b, true
	case "//":
		res := math.Floor(a / b)
		if isFloat || math.IsInf(res, 0) || math.IsNaN(res) {
			return res, true // by zero: Infinity or NaN, as in JavaScript
		}
		return int64(res), true
	case "%":
		if isFloat || ri == 0 {
			return math.Mod(a, b), true // by zero: NaN
		}
		return li % ri, true
	case "<":
		return a < b, true
	case ">":
		return a > b, true
	case ">=":
		return a >= b, true
	case "<=":
		return a <= b, true
	}
	return nil, false
}
