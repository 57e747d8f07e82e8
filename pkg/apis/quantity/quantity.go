// Package quantity implements Kubernetes resource quantities ("250m", "1Gi",
// "1e3", "0.5") exactly as Kubernetes' resource.Quantity parses, rounds,
// compares and prints them, without floating point.
//
// A Quantity is a fixed-point decimal number, mantissa * 10^exponent, that
// also remembers the family of suffix it was written with (decimal SI,
// binary SI or decimal exponent) so that String prints it back in the same
// family, in canonical form: no fractional digits, the largest suffix that
// loses no precision ("1.5Gi" -> "1536Mi", "0.5" -> "500m", "1000m" -> "1").
//
// Parsing follows Kubernetes to the letter, quirks included: a non-zero
// value finer than a nano is rounded away from zero to the next nano
// ("0.9n" -> "1n"), a binary-SI value is capped at 2^63-1, and a bare suffix
// such as "Mi" or a lone sign parses as zero. One deliberate difference:
// values of 10^1001 or more are refused with ErrNumeric (Kubernetes accepts
// them and may then spend unbounded time and memory on arithmetic).
//
// The zero Quantity is 0 in decimal-SI format. Quantities are values; every
// operation returns a new Quantity and none mutates its receiver.
package quantity

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
)

// Format is the suffix family a quantity is printed in.
type Format uint8

// The formats, as Kubernetes names them. The zero value is DecimalSI.
const (
	// DecimalSI prints with n, u, m, "", k, M, G, T, P, E ("12M").
	DecimalSI Format = iota
	// BinarySI prints with Ki, Mi, Gi, Ti, Pi, Ei ("12Mi"); a value below
	// 1024 in magnitude or not a whole number prints as DecimalSI.
	BinarySI
	// DecimalExponent prints with an e-exponent that is a multiple of 3 ("12e6").
	DecimalExponent
)

// String names the format as Kubernetes does.
func (f Format) String() string {
	switch f {
	case DecimalSI:
		return "DecimalSI"
	case BinarySI:
		return "BinarySI"
	case DecimalExponent:
		return "DecimalExponent"
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// The parse errors, with Kubernetes' messages.
var (
	// ErrFormatWrong is returned for text that is not a number and a suffix.
	ErrFormatWrong = errors.New("quantities must match the regular expression '" + splitRE + "'")
	// ErrNumeric is returned when the number cannot be represented.
	ErrNumeric = errors.New("unable to parse numeric part of quantity")
	// ErrSuffix is returned for an unknown suffix ("1K", "1e", "5Mb3").
	ErrSuffix = errors.New("unable to parse quantity's suffix")
)

// splitRE is the expression Kubernetes quotes in its format error. The
// scanner below is what actually decides, as in Kubernetes.
const splitRE = `^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$`

const (
	// minExp is the finest exponent a parsed quantity keeps (nano).
	minExp = -9
	// maxExp bounds a parsed quantity below 10^(maxExp+1).
	maxExp = 1000
)

// Quantity is a fixed-point decimal number with a print format.
type Quantity struct {
	m   int64    // mantissa, when b == nil
	b   *big.Int // mantissa when it does not fit an int64; never mutated once set
	e   int32    // value = mantissa * 10^e
	fmt Format
}

// Parse turns s into a Quantity, or returns one of ErrFormatWrong,
// ErrNumeric, ErrSuffix.
func Parse(s string) (Quantity, error) {
	if len(s) == 0 {
		return Quantity{}, ErrFormatWrong
	}
	negative, num, denom, suffix, err := scan(s)
	if err != nil {
		return Quantity{}, err
	}
	base, exp, format, ok := interpretSuffix(suffix)
	if !ok {
		return Quantity{}, ErrSuffix
	}

	// The digits, without leading zeros, make the mantissa; the fraction
	// shifts the exponent.
	digits := trimLeadingZeros(num + denom)
	var q Quantity
	q.fmt = format
	if len(digits) == 0 {
		return q, nil // zero in the suffix's format
	}
	if len(digits) <= 18 {
		v, perr := strconv.ParseInt(digits, 10, 64)
		if perr != nil {
			return Quantity{}, ErrNumeric
		}
		q.m = v
	} else {
		v, ok := new(big.Int).SetString(digits, 10)
		if !ok {
			return Quantity{}, ErrNumeric
		}
		q.b = v
	}
	e := -int64(len(denom))
	if base == 10 {
		e += exp
	} else {
		q = q.mulPow2(uint(exp))
	}
	if base == 10 && int64(len(digits))+e > maxExp+1 {
		return Quantity{}, ErrNumeric // 10^1001 or more
	}
	if e < minExp {
		// Keep nano precision, rounding a finer non-zero value away from
		// zero: asking for a sliver of a resource still gets some.
		q = q.roundUpTo(e, minExp)
		e = minExp
	}
	q.e = int32(e)
	q = q.normalize()

	if format == BinarySI {
		if q.cmpAbsInt64(math.MaxInt64) > 0 {
			q.m, q.b, q.e = math.MaxInt64, nil, 0
		}
		if q.cmpAbsInt64(1) < 0 {
			q.fmt = DecimalSI // a fraction of a byte is not binary
		}
	}
	if negative {
		q = q.Neg()
	}
	return q, nil
}

// MustParse is Parse for literals known to be valid; it panics otherwise.
func MustParse(s string) Quantity {
	q, err := Parse(s)
	if err != nil {
		panic(fmt.Sprintf("cannot parse quantity %q: %v", s, err))
	}
	return q
}

// scan splits s into sign, integer digits, fraction digits and suffix, the
// way Kubernetes' scanner does: leniently for the number (".", "1.", a bare
// sign), strictly for what follows it.
func scan(s string) (negative bool, num, denom, suffix string, err error) {
	pos, end := 0, len(s)
	switch s[0] {
	case '-':
		negative = true
		pos++
	case '+':
		pos++
	}
	start := pos
	for pos < end && isDigit(s[pos]) {
		pos++
	}
	num = s[start:pos]
	if pos < end && s[pos] == '.' {
		pos++
		start = pos
		for pos < end && isDigit(s[pos]) {
			pos++
		}
		denom = s[start:pos]
	}
	start = pos
	for pos < end && isSuffixChar(s[pos]) {
		pos++
	}
	if pos < end && (s[pos] == '-' || s[pos] == '+') {
		pos++
	}
	for pos < end && isDigit(s[pos]) {
		pos++
	}
	if pos != end {
		return false, "", "", "", ErrFormatWrong
	}
	return negative, num, denom, s[start:], nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isSuffixChar(c byte) bool {
	switch c {
	case 'e', 'E', 'i', 'n', 'u', 'm', 'k', 'K', 'M', 'G', 'T', 'P':
		return true
	}
	return false
}

func trimLeadingZeros(s string) string {
	i := 0
	for i < len(s) && s[i] == '0' {
		i++
	}
	return s[i:]
}

// interpretSuffix maps a suffix to base^exponent and a format.
func interpretSuffix(s string) (base int, exp int64, f Format, ok bool) {
	switch s {
	case "n":
		return 10, -9, DecimalSI, true
	case "u":
		return 10, -6, DecimalSI, true
	case "m":
		return 10, -3, DecimalSI, true
	case "":
		return 10, 0, DecimalSI, true
	case "k":
		return 10, 3, DecimalSI, true
	case "M":
		return 10, 6, DecimalSI, true
	case "G":
		return 10, 9, DecimalSI, true
	case "T":
		return 10, 12, DecimalSI, true
	case "P":
		return 10, 15, DecimalSI, true
	case "E":
		return 10, 18, DecimalSI, true
	case "Ki":
		return 2, 10, BinarySI, true
	case "Mi":
		return 2, 20, BinarySI, true
	case "Gi":
		return 2, 30, BinarySI, true
	case "Ti":
		return 2, 40, BinarySI, true
	case "Pi":
		return 2, 50, BinarySI, true
	case "Ei":
		return 2, 60, BinarySI, true
	}
	if len(s) > 1 && (s[0] == 'e' || s[0] == 'E') {
		v, err := strconv.ParseInt(s[1:], 10, 64)
		if err != nil {
			return 0, 0, DecimalExponent, false
		}
		// Clamp so that the exponent arithmetic in Parse cannot overflow;
		// anything this large is refused or rounded there anyway.
		v = max(min(v, 1<<40), -(1 << 40))
		return 10, v, DecimalExponent, true
	}
	return 0, 0, DecimalExponent, false
}

// NewMilli returns v/1000 in DecimalSI format ("250m").
func NewMilli(v int64) Quantity { return Quantity{m: v, e: -3, fmt: DecimalSI} }

// NewDecimal returns v in DecimalSI format ("110", "2k").
func NewDecimal(v int64) Quantity { return Quantity{m: v, fmt: DecimalSI} }

// NewBinary returns a number of bytes in BinarySI format: it prints as
// "16Gi" or "512Mi" when a binary suffix is exact, else as plain bytes
// ("1025"). As in Kubernetes, a value below 1024 prints in DecimalSI, so
// 1000 bytes print as "1k".
func NewBinary(bytes int64) Quantity { return Quantity{m: bytes, fmt: BinarySI} }

// Format is the suffix family q prints in.
func (q Quantity) Format() Format { return q.fmt }

// WithFormat returns q printing in format f.
func (q Quantity) WithFormat(f Format) Quantity {
	q.fmt = f
	return q
}

// IsZero reports whether q is 0.
func (q Quantity) IsZero() bool { return q.Sign() == 0 }

// Sign is -1, 0 or +1.
func (q Quantity) Sign() int {
	if q.b != nil {
		return q.b.Sign()
	}
	switch {
	case q.m < 0:
		return -1
	case q.m > 0:
		return 1
	}
	return 0
}

// Neg returns -q.
func (q Quantity) Neg() Quantity {
	if q.b != nil {
		q.b = new(big.Int).Neg(q.b)
		return q.normalize()
	}
	if q.m == math.MinInt64 {
		q.b = new(big.Int).Neg(big.NewInt(q.m))
		q.m = 0
		return q
	}
	q.m = -q.m
	return q
}

// Cmp returns -1, 0 or +1 as q is less than, equal to or greater than y.
func (q Quantity) Cmp(y Quantity) int {
	if q.b == nil && y.b == nil {
		if q.e == y.e {
			return cmpInt64(q.m, y.m)
		}
		if a, b, _, ok := alignInt64(q, y); ok {
			return cmpInt64(a, b)
		}
	}
	if qs, ys := q.Sign(), y.Sign(); qs != ys || qs == 0 {
		return cmpInt64(int64(qs), int64(ys))
	}
	a, b, _ := alignBig(q, y)
	return a.Cmp(b)
}

// Equal reports whether q and y are the same number, whatever their formats.
func (q Quantity) Equal(y Quantity) bool { return q.Cmp(y) == 0 }

// Add returns q+y, in q's format (y's when q is zero, as Kubernetes does).
func (q Quantity) Add(y Quantity) Quantity {
	f := q.fmt
	if q.IsZero() {
		f = y.fmt
	}
	if q.b == nil && y.b == nil {
		if a, b, e, ok := alignInt64(q, y); ok {
			if s, ok := addInt64(a, b); ok {
				return Quantity{m: s, e: e, fmt: f}.normalize()
			}
		}
	}
	a, b, e := alignBig(q, y)
	return Quantity{b: a.Add(a, b), e: e, fmt: f}.normalize()
}

// Sub returns q-y, in q's format (y's when q is zero, as Kubernetes does).
func (q Quantity) Sub(y Quantity) Quantity {
	f := q.fmt
	if q.IsZero() {
		f = y.fmt
	}
	r := q.Add(y.Neg())
	r.fmt = f
	return r
}

// Value returns q rounded up, away from zero, to an integer ("1.2" -> 2,
// "-1.2" -> -2, "1n" -> 1). A value beyond int64 saturates at the bound.
func (q Quantity) Value() int64 { return q.scaledValue(0) }

// MilliValue returns q*1000 rounded up, away from zero, to an integer
// ("250m" -> 250, "1n" -> 1). A value beyond int64 saturates at the bound.
func (q Quantity) MilliValue() int64 { return q.scaledValue(-3) }

// ScaledValue returns q / 10^exp rounded up, away from zero: ScaledValue(-9)
// is the value in nano units, ScaledValue(3) in thousands.
func (q Quantity) ScaledValue(exp int32) int64 { return q.scaledValue(exp) }

// Float64 approximates q as a float64 (for scores and ratios, never for
// decisions that must be exact).
func (q Quantity) Float64() float64 {
	var f float64
	if q.b != nil {
		f, _ = new(big.Float).SetInt(q.b).Float64()
	} else {
		f = float64(q.m)
	}
	return f * math.Pow10(int(q.e))
}

// String returns the canonical form of q in its format.
func (q Quantity) String() string {
	if q.IsZero() {
		return "0"
	}
	format := q.fmt
	if format == BinarySI {
		if q.cmpAbsInt64(1024) < 0 || !q.isInteger() {
			format = DecimalSI
		} else {
			return q.binaryString()
		}
	}
	if format != DecimalSI && format != DecimalExponent {
		format = DecimalExponent
	}
	mant, exp := q.canonicalDecimal()
	if format == DecimalSI {
		if suf, ok := decimalSuffix(exp); ok {
			return mant + suf
		}
	}
	if exp == 0 {
		return mant
	}
	return mant + "e" + strconv.FormatInt(int64(exp), 10)
}

func decimalSuffix(exp int32) (string, bool) {
	switch exp {
	case -9:
		return "n", true
	case -6:
		return "u", true
	case -3:
		return "m", true
	case 0:
		return "", true
	case 3:
		return "k", true
	case 6:
		return "M", true
	case 9:
		return "G", true
	case 12:
		return "T", true
	case 15:
		return "P", true
	case 18:
		return "E", true
	}
	return "", false
}

// canonicalDecimal returns the signed mantissa digits and an exponent that
// is a multiple of 3, with every factor of 10 the exponent can absorb moved
// into it.
func (q Quantity) canonicalDecimal() (string, int32) {
	e := q.e
	if q.b == nil {
		m := q.m
		for m%10 == 0 {
			m /= 10
			e++
		}
		ok := true
		for e%3 != 0 && ok {
			m, ok = mulInt64(m, 10)
			e--
		}
		if ok {
			return strconv.FormatInt(m, 10), e
		}
		e = q.e
	}
	m := q.bigMant()
	ten := big.NewInt(10)
	quo, rem := new(big.Int), new(big.Int)
	for {
		quo.QuoRem(m, ten, rem)
		if rem.Sign() != 0 {
			break
		}
		m, quo = quo, m
		e++
	}
	for e%3 != 0 {
		m.Mul(m, ten)
		e--
	}
	return m.String(), e
}

// binaryString prints an integer |q| >= 1024 with the largest exact binary
// suffix.
func (q Quantity) binaryString() string {
	suffixes := [...]string{"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"}
	v := q.atExp(0) // exact: q is an integer
	i := 0
	if v.IsInt64() {
		n := v.Int64()
		for i < len(suffixes)-1 && n%1024 == 0 {
			n /= 1024
			i++
		}
		return strconv.FormatInt(n, 10) + suffixes[i]
	}
	k := big.NewInt(1024)
	quo, rem := new(big.Int), new(big.Int)
	for i < len(suffixes)-1 {
		quo.QuoRem(v, k, rem)
		if rem.Sign() != 0 {
			break
		}
		v, quo = quo, v
		i++
	}
	return v.String() + suffixes[i]
}

// ---------------------------------------------------------------- arithmetic

var pow10 = [...]int64{
	1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func mulInt64(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	c := a * b
	if c/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		return 0, false
	}
	return c, true
}

func addInt64(a, b int64) (int64, bool) {
	c := a + b
	if (c > a) != (b > 0) {
		return 0, false
	}
	return c, true
}

// alignInt64 brings q and y to their smaller exponent as int64 mantissas.
func alignInt64(q, y Quantity) (a, b int64, e int32, ok bool) {
	a, b, e = q.m, y.m, q.e
	switch {
	case q.e > y.e:
		e = y.e
		a, ok = scaleInt64(q.m, int64(q.e)-int64(y.e))
	case y.e > q.e:
		b, ok = scaleInt64(y.m, int64(y.e)-int64(q.e))
	default:
		ok = true
	}
	return a, b, e, ok
}

func scaleInt64(m, by int64) (int64, bool) {
	if m == 0 {
		return 0, true
	}
	if by >= int64(len(pow10)) {
		return 0, false
	}
	return mulInt64(m, pow10[by])
}

// alignBig brings q and y to their smaller exponent as fresh big mantissas.
func alignBig(q, y Quantity) (a, b *big.Int, e int32) {
	a, b, e = q.bigMant(), y.bigMant(), min(q.e, y.e)
	if q.e > e {
		a.Mul(a, bigPow10(int64(q.e)-int64(e)))
	}
	if y.e > e {
		b.Mul(b, bigPow10(int64(y.e)-int64(e)))
	}
	return a, b, e
}

func bigPow10(n int64) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(n), nil)
}

// bigMant returns a fresh copy of the mantissa.
func (q Quantity) bigMant() *big.Int {
	if q.b != nil {
		return new(big.Int).Set(q.b)
	}
	return big.NewInt(q.m)
}

// normalize keeps the mantissa in an int64 whenever it fits.
func (q Quantity) normalize() Quantity {
	if q.b != nil && q.b.IsInt64() {
		q.m, q.b = q.b.Int64(), nil
	}
	if q.b == nil && q.m == 0 {
		q.e = 0
	}
	return q
}

// mulPow2 multiplies the mantissa by 2^n.
func (q Quantity) mulPow2(n uint) Quantity {
	if q.b == nil && n < 63 && q.m <= math.MaxInt64>>n {
		q.m <<= n
		return q
	}
	q.b = new(big.Int).Lsh(q.bigMant(), n)
	q.m = 0
	return q.normalize()
}

// roundUpTo turns a non-negative mantissa at exponent from into one at the
// coarser exponent to, rounding any remainder up.
func (q Quantity) roundUpTo(from, to int64) Quantity {
	shift := to - from
	if q.b == nil && shift < int64(len(pow10)) {
		p := pow10[shift]
		r := q.m / p
		if q.m%p != 0 {
			r++
		}
		q.m = r
		return q
	}
	m := q.bigMant()
	// A shift longer than the mantissa leaves only the rounding unit.
	if int64(len(m.String())) <= shift {
		q.m, q.b = 1, nil
		return q
	}
	quo, rem := new(big.Int).QuoRem(m, bigPow10(shift), new(big.Int))
	if rem.Sign() != 0 {
		quo.Add(quo, big.NewInt(1))
	}
	q.b, q.m = quo, 0
	return q.normalize()
}

// cmpAbsInt64 compares |q| with v >= 0.
func (q Quantity) cmpAbsInt64(v int64) int {
	a := q
	if a.Sign() < 0 {
		a = a.Neg()
	}
	return a.Cmp(Quantity{m: v})
}

// isInteger reports whether q has no fractional part.
func (q Quantity) isInteger() bool {
	if q.e >= 0 {
		return true
	}
	if q.b == nil && -q.e < int32(len(pow10)) {
		return q.m%pow10[-q.e] == 0
	}
	rem := new(big.Int).Rem(q.bigMant(), bigPow10(int64(-q.e)))
	return rem.Sign() == 0
}

// atExp returns q's mantissa at exponent exp, truncated toward zero.
func (q Quantity) atExp(exp int32) *big.Int {
	m := q.bigMant()
	switch {
	case q.e > exp:
		m.Mul(m, bigPow10(int64(q.e)-int64(exp)))
	case q.e < exp:
		m.Quo(m, bigPow10(int64(exp)-int64(q.e)))
	}
	return m
}

// scaledValue returns ceil-away-from-zero of q / 10^exp, saturated.
func (q Quantity) scaledValue(exp int32) int64 {
	if q.b == nil {
		d := int64(q.e) - int64(exp)
		switch {
		case d == 0:
			return q.m
		case d > 0:
			if v, ok := scaleInt64(q.m, d); ok {
				return v
			}
		case -d < int64(len(pow10)):
			p := pow10[-d]
			v, r := q.m/p, q.m%p
			if r > 0 {
				v++
			} else if r < 0 {
				v--
			}
			return v
		default: // |q.m| < 10^19 <= 10^-d
			return int64(q.Sign())
		}
	}
	m := q.bigMant()
	d := int64(q.e) - int64(exp)
	if d > 0 {
		m.Mul(m, bigPow10(d))
	} else if d < 0 {
		var r big.Int
		m.QuoRem(m, bigPow10(-d), &r)
		m.Add(m, big.NewInt(int64(r.Sign())))
	}
	switch {
	case m.IsInt64():
		return m.Int64()
	case m.Sign() > 0:
		return math.MaxInt64
	}
	return math.MinInt64
}

// ---------------------------------------------------------------- lists

// List is a resource list: resource name ("cpu", "memory", "pods",
// "ephemeral-storage", "example.com/gpu") to quantity.
type List map[string]Quantity

// ParseList parses the string form of a resource list, as the API carries
// it. The error names the first bad key in sorted order.
func ParseList(m map[string]string) (List, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	l := make(List, len(m))
	for _, k := range keys {
		q, err := Parse(m[k])
		if err != nil {
			return nil, fmt.Errorf("%s: invalid quantity %q: %w", k, m[k], err)
		}
		l[k] = q
	}
	return l, nil
}

// Strings returns the canonical string form of l, as the API carries it.
func (l List) Strings() map[string]string {
	out := make(map[string]string, len(l))
	for k, q := range l {
		out[k] = q.String()
	}
	return out
}
