package run

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// Decimal is an exact decimal number: a NUMERIC, DECIMAL or MONEY column
// as ingest decodes it from a change event. Conditions compare it exactly
// (never through a float64); it crosses Temporal, and renders in
// templates, as a JSON string holding its text ("1234.50"), so the digits
// the database stored reach the receiver unchanged.
//
// The zero Decimal is 0. Decimals are immutable values.
type Decimal struct {
	unscaled *big.Int // nil means 0
	scale    int32    // digits after the point; negative scales multiply
}

// maxDecimalScale bounds the scale a Decimal accepts, so that a hostile
// event cannot make a comparison allocate 10^huge.
const maxDecimalScale = 1000

// NewDecimal returns unscaled × 10^-scale.
func NewDecimal(unscaled *big.Int, scale int32) (Decimal, error) {
	if scale > maxDecimalScale || scale < -maxDecimalScale {
		return Decimal{}, fmt.Errorf("decimal scale %d out of range (±%d)", scale, maxDecimalScale)
	}
	return Decimal{unscaled: new(big.Int).Set(unscaled), scale: scale}, nil
}

// ParseDecimal reads a decimal written in plain or exponent notation:
// "1234.50", "-0.01", "+7", "1.5e3". Its scale is the number of digits
// written after the point (minus the exponent), so "1234.50" keeps its
// trailing zero.
func ParseDecimal(s string) (Decimal, error) {
	if s == "" {
		return Decimal{}, errors.New("empty decimal")
	}
	mant, exp := s, int64(0)
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		var err error
		if exp, err = strconv.ParseInt(s[i+1:], 10, 32); err != nil {
			return Decimal{}, fmt.Errorf("invalid decimal %q", s)
		}
	}
	neg := false
	switch {
	case strings.HasPrefix(mant, "-"):
		neg, mant = true, mant[1:]
	case strings.HasPrefix(mant, "+"):
		mant = mant[1:]
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := intPart + frac
	if digits == "" {
		return Decimal{}, fmt.Errorf("invalid decimal %q", s)
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return Decimal{}, fmt.Errorf("invalid decimal %q", s)
		}
	}
	scale := int64(len(frac)) - exp
	if scale > maxDecimalScale || scale < -maxDecimalScale {
		return Decimal{}, fmt.Errorf("decimal %q: scale out of range (±%d)", s, maxDecimalScale)
	}
	n, ok := new(big.Int).SetString(digits, 10)
	if !ok {
		return Decimal{}, fmt.Errorf("invalid decimal %q", s)
	}
	if neg {
		n.Neg(n)
	}
	return Decimal{unscaled: n, scale: int32(scale)}, nil
}

// Unscaled returns the unscaled integer (a copy) and Scale the scale: the
// value is Unscaled × 10^-Scale.
func (d Decimal) Unscaled() *big.Int {
	if d.unscaled == nil {
		return new(big.Int)
	}
	return new(big.Int).Set(d.unscaled)
}

// Scale returns the number of digits after the decimal point.
func (d Decimal) Scale() int32 { return d.scale }

// Rat returns the exact value as a fraction.
func (d Decimal) Rat() *big.Rat {
	r := new(big.Rat).SetInt(d.Unscaled())
	if d.scale == 0 {
		return r
	}
	pow := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs32(d.scale))), nil)
	if d.scale > 0 {
		return r.Quo(r, new(big.Rat).SetInt(pow))
	}
	return r.Mul(r, new(big.Rat).SetInt(pow))
}

// Cmp compares d and e exactly: -1, 0 or +1.
func (d Decimal) Cmp(e Decimal) int { return d.Rat().Cmp(e.Rat()) }

// Float64 returns the nearest float64 (for CEL, which has no decimal type).
func (d Decimal) Float64() float64 {
	f, _ := d.Rat().Float64()
	return f
}

// String renders d in plain notation with its scale: "1234.50", "-0.01",
// "1500" for 15 with scale -2.
func (d Decimal) String() string {
	n := d.Unscaled()
	neg := n.Sign() < 0
	digits := n.Abs(n).String()
	switch {
	case d.scale < 0:
		digits += strings.Repeat("0", int(-d.scale))
	case d.scale > 0:
		if pad := int(d.scale) - len(digits) + 1; pad > 0 {
			digits = strings.Repeat("0", pad) + digits
		}
		digits = digits[:len(digits)-int(d.scale)] + "." + digits[len(digits)-int(d.scale):]
	}
	if neg {
		return "-" + digits
	}
	return digits
}

// MarshalJSON renders d as a JSON string of its text, which JSON readers
// (Temporal's payload converter, receivers) keep exactly.
func (d Decimal) MarshalJSON() ([]byte, error) {
	return []byte(`"` + d.String() + `"`), nil
}

func abs32(n int32) int32 {
	if n < 0 {
		return -n
	}
	return n
}
