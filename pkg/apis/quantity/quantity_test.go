package quantity

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		give   string
		want   string // canonical String()
		milli  int64
		value  int64
		format Format
	}{
		// zero in every family prints as "0"
		{"0", "0", 0, 0, DecimalSI},
		{"0n", "0", 0, 0, DecimalSI},
		{"0m", "0", 0, 0, DecimalSI},
		{"0Ki", "0", 0, 0, BinarySI},
		{"0Gi", "0", 0, 0, BinarySI},
		{"0e3", "0", 0, 0, DecimalExponent},
		{"-0", "0", 0, 0, DecimalSI},
		{"+0.000", "0", 0, 0, DecimalSI},

		// decimal SI
		{"1", "1", 1000, 1, DecimalSI},
		{"5n", "5n", 1, 1, DecimalSI},
		{"4u", "4u", 1, 1, DecimalSI},
		{"3m", "3m", 3, 1, DecimalSI},
		{"250m", "250m", 250, 1, DecimalSI},
		{"1000m", "1", 1000, 1, DecimalSI},
		{"1500m", "1500m", 1500, 2, DecimalSI},
		{"8k", "8k", 8000000, 8000, DecimalSI},
		{"50k", "50k", 50000000, 50000, DecimalSI},
		{"7M", "7M", 7000000000, 7000000, DecimalSI},
		{"1000M", "1G", 1000000000000, 1000000000, DecimalSI},
		{"6G", "6G", 6000000000000, 6000000000, DecimalSI},
		{"5T", "5T", 5000000000000000, 5000000000000, DecimalSI},
		{"40T", "40T", 40000000000000000, 40000000000000, DecimalSI},
		{"2P", "2P", 2000000000000000000, 2000000000000000, DecimalSI},
		{"1E", "1E", math.MaxInt64, 1000000000000000000, DecimalSI},
		{"12E", "12E", math.MaxInt64, math.MaxInt64, DecimalSI},
		{"1000E", "1e21", math.MaxInt64, math.MaxInt64, DecimalSI},
		{"100.035k", "100035", 100035000, 100035, DecimalSI},
		{"10.035M", "10035k", 10035000000, 10035000, DecimalSI},
		{"1.01E", "1010P", math.MaxInt64, 1010000000000000000, DecimalSI},
		{"1.G", "1G", 1000000000000, 1000000000, DecimalSI},
		{"1.", "1", 1000, 1, DecimalSI},

		// fractions
		{"0.5", "500m", 500, 1, DecimalSI},
		{".5", "500m", 500, 1, DecimalSI},
		{"0.1", "100m", 100, 1, DecimalSI},
		{"1.5", "1500m", 1500, 2, DecimalSI},
		{"0.001", "1m", 1, 1, DecimalSI},
		{".001", "1m", 1, 1, DecimalSI},
		{"0.0005k", "500m", 500, 1, DecimalSI},
		{".0001k", "100m", 100, 1, DecimalSI},
		{"0.00500", "5m", 5, 1, DecimalSI},
		{"9.01", "9010m", 9010, 10, DecimalSI},
		{"8.1k", "8100", 8100000, 8100, DecimalSI},
		{"7.123456M", "7123456", 7123456000, 7123456, DecimalSI},
		{"6.987654321G", "6987654321", 6987654321000, 6987654321, DecimalSI},
		{"1.2345", "1234500u", 1235, 2, DecimalSI},

		// rounding to nano, away from zero
		{"3.001n", "4n", 1, 1, DecimalSI},
		{"0.9n", "1n", 1, 1, DecimalSI},
		{"1n", "1n", 1, 1, DecimalSI},
		{"0.0000000001", "1n", 1, 1, DecimalSI},
		{"0.0000000005", "1n", 1, 1, DecimalSI},
		{"0.00000012345", "124n", 1, 1, DecimalSI},
		{"0.00000012354", "124n", 1, 1, DecimalSI},
		{"1e-1000000", "1e-9", 1, 1, DecimalExponent},
		{"1.1E-9", "2e-9", 1, 1, DecimalExponent},
		{"0.5e-9", "1e-9", 1, 1, DecimalExponent},

		// binary SI
		{"1Ki", "1Ki", 1024000, 1024, BinarySI},
		{"8Ki", "8Ki", 8192000, 8192, BinarySI},
		{"100Mi", "100Mi", 104857600000, 104857600, BinarySI},
		{"1Gi", "1Gi", 1073741824000, 1073741824, BinarySI},
		{"1024Mi", "1Gi", 1073741824000, 1073741824, BinarySI},
		{"1536Mi", "1536Mi", 1610612736000, 1610612736, BinarySI},
		{"1.5Gi", "1536Mi", 1610612736000, 1610612736, BinarySI},
		{"0.5Mi", "512Ki", 524288000, 524288, BinarySI},
		{"0.5Ki", "512", 512000, 512, BinarySI},
		{"1000Ki", "1000Ki", 1024000000, 1024000, BinarySI},
		{"5Ti", "5Ti", 5497558138880000, 5497558138880, BinarySI},
		{"4Pi", "4Pi", 4503599627370496000, 4503599627370496, BinarySI},
		{"3Ei", "3Ei", math.MaxInt64, 3458764513820540928, BinarySI},
		{"9Ei", "9223372036854775807", math.MaxInt64, math.MaxInt64, BinarySI}, // capped
		{"9223372036854775807Ki", "9223372036854775807", math.MaxInt64, math.MaxInt64, BinarySI},
		{"100.035Ki", "102435840m", 102435840, 102436, BinarySI},
		{"0.05Gi", "53687091200m", 53687091200, 53687092, BinarySI},
		{".001Ki", "1024m", 1024, 2, BinarySI},
		{".000001Ki", "1024u", 2, 1, DecimalSI},
		{".000000001Ki", "1024n", 1, 1, DecimalSI},
		{".000000000001Ki", "2n", 1, 1, DecimalSI},

		// decimal exponent
		{"1e3", "1e3", 1000000, 1000, DecimalExponent},
		{"1E3", "1e3", 1000000, 1000, DecimalExponent},
		{"1e+3", "1e3", 1000000, 1000, DecimalExponent},
		{"1E-3", "1e-3", 1, 1, DecimalExponent},
		{"1e0", "1", 1000, 1, DecimalExponent},
		{"1e4", "10e3", 10000000, 10000, DecimalExponent},
		{"1e9", "1e9", 1000000000000, 1000000000, DecimalExponent},
		{"1e14", "100e12", 100000000000000000, 100000000000000, DecimalExponent},
		{"1.2e3", "1200", 1200000, 1200, DecimalExponent},
		{"1.3E+6", "1300e3", 1300000000, 1300000, DecimalExponent},
		{"1.40e9", "1400e6", 1400000000000, 1400000000, DecimalExponent},
		{"0.5e0", "500e-3", 500, 1, DecimalExponent},
		{"0.5e-2", "5e-3", 5, 1, DecimalExponent},
		{"80e-3", "80e-3", 80, 1, DecimalExponent},
		{"1e1000", "10e999", math.MaxInt64, math.MaxInt64, DecimalExponent},
		{"0.1e1001", "10e999", math.MaxInt64, math.MaxInt64, DecimalExponent},
		{"9.99e1000", "99900e996", math.MaxInt64, math.MaxInt64, DecimalExponent},

		// beyond int64: kept exactly
		{"18446744073709551616", "18446744073709551616", math.MaxInt64, math.MaxInt64, DecimalSI},
		{"-18446744073709551616", "-18446744073709551616", math.MinInt64, math.MinInt64, DecimalSI},
		{"9223372036854775808", "9223372036854775808", math.MaxInt64, math.MaxInt64, DecimalSI},
		{"9223372036854775.807", "9223372036854775807m", math.MaxInt64, 9223372036854776, DecimalSI},

		// signs
		{"-1", "-1", -1000, -1, DecimalSI},
		{"+1", "1", 1000, 1, DecimalSI},
		{"-250m", "-250m", -250, -1, DecimalSI},
		{"-1.5", "-1500m", -1500, -2, DecimalSI},
		{"-0.9n", "-1n", -1, -1, DecimalSI},
		{"-1.5Gi", "-1536Mi", -1610612736000, -1610612736, BinarySI},
		{"-9Ei", "-9223372036854775807", math.MinInt64, -math.MaxInt64, BinarySI},
		{"-.5", "-500m", -500, -1, DecimalSI},

		// Kubernetes' scanner is lenient about a missing number
		{".", "0", 0, 0, DecimalSI},
		{"-", "0", 0, 0, DecimalSI},
		{"Mi", "0", 0, 0, BinarySI},
		{"e3", "0", 0, 0, DecimalExponent},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			q, err := Parse(tt.give)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.give, err)
			}
			if got := q.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if got := q.MilliValue(); got != tt.milli {
				t.Errorf("MilliValue() = %d, want %d", got, tt.milli)
			}
			if got := q.Value(); got != tt.value {
				t.Errorf("Value() = %d, want %d", got, tt.value)
			}
			if got := q.Format(); got != tt.format {
				t.Errorf("Format() = %v, want %v", got, tt.format)
			}
			// The canonical form parses back to the same number and prints
			// the same.
			r, err := Parse(q.String())
			if err != nil {
				t.Fatalf("Parse(String()=%q): %v", q.String(), err)
			}
			if r.Cmp(q) != 0 || r.String() != q.String() {
				t.Errorf("round trip %q -> %q -> %q", tt.give, q.String(), r.String())
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		give string
		want error
	}{
		{"", ErrFormatWrong},
		{"1.2.3", ErrFormatWrong},
		{"5Gb", ErrFormatWrong},
		{"1 Gi", ErrFormatWrong},
		{" 1", ErrFormatWrong},
		{"1 ", ErrFormatWrong},
		{"1.1.M", ErrFormatWrong},
		{"1+1.0M", ErrFormatWrong},
		{"aoeu", ErrFormatWrong},
		{"Non-Numeric", ErrFormatWrong},
		{"0.1am", ErrFormatWrong},
		{"1e3e", ErrFormatWrong},
		{"--1", ErrSuffix},
		{"1,5", ErrFormatWrong},
		{"1Gi ", ErrFormatWrong},
		{"0x10", ErrFormatWrong},
		{"1K", ErrSuffix},
		{"0.1mi", ErrSuffix},
		{".5i", ErrSuffix},
		{"1i", ErrSuffix},
		{"-3.01i", ErrSuffix},
		{"-3.01e-", ErrSuffix},
		{"1e", ErrSuffix},
		{"1k3", ErrSuffix},
		{"1Mi3", ErrSuffix},
		{"1ee3", ErrSuffix},
		{"1iG", ErrSuffix},
		{"1e1001", ErrNumeric},
		{"100E1000", ErrNumeric},
		{"0.1e1002", ErrNumeric},
		{"1e99999999999999999999", ErrSuffix},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			_, err := Parse(tt.give)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse(%q) error = %v, want %v", tt.give, err, tt.want)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	_, err := Parse("1 Gi")
	const want = `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %s", err, want)
	}
}

func TestMustParsePanics(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), `"5Gb"`) {
			t.Fatalf("recover() = %v, want a panic naming the input", r)
		}
	}()
	MustParse("5Gb")
}

func TestCmp(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"0", "0", 0},
		{"0", "0Gi", 0},
		{"100m", "50m", 1},
		{"50m", "100m", -1},
		{"1", "1000m", 0},
		{"1k", "1e3", 0},
		{"1Ki", "1024", 0},
		{"1Ki", "1k", 1},
		{"10000T", "100Gi", 1},
		{"-1", "1n", -1},
		{"-1", "-2", 1},
		{"1E", "1Ei", -1},
		{"1e1000", "9Ei", 1},
		{"-1e1000", "-9Ei", -1},
		{"18446744073709551616", "18446744073709551615", 1},
		{"9223372036854775807", "9223372036854775807000m", 0},
		{"1n", "0", 1},
		{"1.000000001", "1", 1},
	}
	for _, tt := range tests {
		t.Run(tt.a+"_"+tt.b, func(t *testing.T) {
			a, b := MustParse(tt.a), MustParse(tt.b)
			if got := a.Cmp(b); got != tt.want {
				t.Errorf("Cmp(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
			if got := b.Cmp(a); got != -tt.want {
				t.Errorf("Cmp(%s, %s) = %d, want %d", tt.b, tt.a, got, -tt.want)
			}
			if got := a.Equal(b); got != (tt.want == 0) {
				t.Errorf("Equal = %v", got)
			}
		})
	}
}

func TestAddSub(t *testing.T) {
	tests := []struct {
		a, b     string
		sum, dif string
	}{
		{"100m", "0", "100m", "100m"},
		{"0", "100m", "100m", "-100m"},
		{"1Gi", "0", "1Gi", "1Gi"},
		{"0", "1Gi", "1Gi", "-1Gi"},
		{"1", "500m", "1500m", "500m"},
		{"1Gi", "512Mi", "1536Mi", "512Mi"},
		{"1Gi", "1G", "2073741824", "73741824"},
		{"1e3", "1", "1001", "999"},
		{"9223372036854775807", "1", "9223372036854775808", "9223372036854775806"},
		{"-9223372036854775807", "2", "-9223372036854775805", "-9223372036854775809"},
		{"4Ei", "4Ei", "8Ei", "0"},
	}
	for _, tt := range tests {
		t.Run(tt.a+"_"+tt.b, func(t *testing.T) {
			a, b := MustParse(tt.a), MustParse(tt.b)
			if got := a.Add(b).String(); got != tt.sum {
				t.Errorf("%s + %s = %s, want %s", tt.a, tt.b, got, tt.sum)
			}
			if got := a.Sub(b).String(); got != tt.dif {
				t.Errorf("%s - %s = %s, want %s", tt.a, tt.b, got, tt.dif)
			}
			// Operands are values: nothing changed them.
			if a.String() != MustParse(tt.a).String() || b.String() != MustParse(tt.b).String() {
				t.Errorf("operands changed: %s, %s", a, b)
			}
		})
	}
}

func TestAddHuge(t *testing.T) {
	a, b := MustParse("1e1000"), MustParse("1n")
	if got, want := a.Add(b).String(), "1"+strings.Repeat("0", 1008)+"1e-9"; got != want {
		t.Errorf("1e1000 + 1n = %s, want %s", got, want)
	}
	if got, want := a.Sub(b).String(), strings.Repeat("9", 1009)+"e-9"; got != want {
		t.Errorf("1e1000 - 1n = %s, want %s", got, want)
	}
	if got := a.Add(b).Sub(a); got.Cmp(b) != 0 || got.String() != "1e-9" {
		t.Errorf("1e1000 + 1n - 1e1000 = %s", got)
	}
}

func TestAccumulate(t *testing.T) {
	// The scheduler's use: sum the requests of many pods, then compare.
	var sum Quantity
	for range 1000 {
		sum = sum.Add(MustParse("250m"))
	}
	if got, want := sum.String(), "250"; got != want {
		t.Fatalf("sum = %s, want %s", got, want)
	}
	if sum.Cmp(MustParse("250")) != 0 || sum.MilliValue() != 250000 {
		t.Fatalf("sum = %s (%d m)", sum, sum.MilliValue())
	}
	for range 1000 {
		sum = sum.Sub(MustParse("250m"))
	}
	if !sum.IsZero() || sum.Sign() != 0 || sum.String() != "0" {
		t.Fatalf("sum after subtracting = %s", sum)
	}
}

func TestSignNeg(t *testing.T) {
	tests := []struct {
		give string
		sign int
		neg  string
	}{
		{"0", 0, "0"},
		{"1n", 1, "-1n"},
		{"-5Gi", -1, "5Gi"},
		{"-9223372036854775808", -1, "9223372036854775808"},
		{"18446744073709551616", 1, "-18446744073709551616"},
	}
	for _, tt := range tests {
		q := MustParse(tt.give)
		if got := q.Sign(); got != tt.sign {
			t.Errorf("Sign(%s) = %d, want %d", tt.give, got, tt.sign)
		}
		if got := q.IsZero(); got != (tt.sign == 0) {
			t.Errorf("IsZero(%s) = %v", tt.give, got)
		}
		if got := q.Neg().String(); got != tt.neg {
			t.Errorf("Neg(%s) = %s, want %s", tt.give, got, tt.neg)
		}
	}
}

func TestConstructors(t *testing.T) {
	tests := []struct {
		name  string
		give  Quantity
		want  string
		milli int64
	}{
		{"milli 1", NewMilli(1), "1m", 1},
		{"milli 1000", NewMilli(1000), "1", 1000},
		{"milli 1234000", NewMilli(1234000), "1234", 1234000},
		{"milli 250", NewMilli(250), "250m", 250},
		{"milli -1500", NewMilli(-1500), "-1500m", -1500},
		{"milli max", NewMilli(math.MaxInt64), "9223372036854775807m", math.MaxInt64},
		{"binary 16Gi", NewBinary(16 << 30), "16Gi", 16 << 30 * 1000},
		{"binary 512Mi", NewBinary(512 << 20), "512Mi", 512 << 20 * 1000},
		{"binary 1Ki", NewBinary(1024), "1Ki", 1024000},
		{"binary 1000", NewBinary(1000), "1k", 1000000}, // below 1Ki prints as DecimalSI, as in Kubernetes
		{"binary 1023", NewBinary(1023), "1023", 1023000},
		{"binary 2000", NewBinary(2000), "2000", 2000000},
		{"binary 1025", NewBinary(1025), "1025", 1025000},
		{"binary 1536Ki", NewBinary(1536 << 10), "1536Ki", 1536 << 10 * 1000},
		{"binary odd", NewBinary(8589934593), "8589934593", 8589934593000},
		{"binary 0", NewBinary(0), "0", 0},
		{"binary 8Ei-1", NewBinary(math.MaxInt64), "9223372036854775807", math.MaxInt64},
		{"decimal 110", NewDecimal(110), "110", 110000},
		{"decimal 1000", NewDecimal(1000), "1k", 1000000},
		{"decimal min", NewDecimal(math.MinInt64), "-9223372036854775808", math.MinInt64},
		{"exponent", NewMilli(1000000).WithFormat(DecimalExponent), "1e3", 1000000},
		{"zero value", Quantity{}, "0", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.give.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if got := tt.give.MilliValue(); got != tt.milli {
				t.Errorf("MilliValue() = %d, want %d", got, tt.milli)
			}
			r, err := Parse(tt.give.String())
			if err != nil || r.Cmp(tt.give) != 0 {
				t.Errorf("round trip: %v, %v", r, err)
			}
		})
	}
}

func TestScaledValue(t *testing.T) {
	tests := []struct {
		give string
		exp  int32
		want int64
	}{
		{"1", -9, 1000000000},
		{"1n", -9, 1},
		{"1500m", 3, 1},
		{"1001", 3, 2},
		{"-1001", 3, -2},
		{"1Gi", 6, 1074},
		{"1", 30, 1},
		{"0", 30, 0},
		{"-1", 30, -1},
		{"18446744073709551616", 1, 1844674407370955162},
		{"18446744073709551616", 40, 1},
		{"1e1000", 990, 10000000000},
	}
	for _, tt := range tests {
		if got := MustParse(tt.give).ScaledValue(tt.exp); got != tt.want {
			t.Errorf("ScaledValue(%s, %d) = %d, want %d", tt.give, tt.exp, got, tt.want)
		}
	}
}

func TestFloat64(t *testing.T) {
	tests := []struct {
		give string
		want float64
	}{
		{"250m", 0.25},
		{"1Gi", 1 << 30},
		{"1e3", 1000},
		{"-1.5", -1.5},
		{"18446744073709551616", 18446744073709551616},
	}
	for _, tt := range tests {
		got := MustParse(tt.give).Float64()
		if math.Abs(got-tt.want) > 1e-9*math.Abs(tt.want) {
			t.Errorf("Float64(%s) = %g, want %g", tt.give, got, tt.want)
		}
	}
}

func TestFormatString(t *testing.T) {
	for f, want := range map[Format]string{DecimalSI: "DecimalSI", BinarySI: "BinarySI", DecimalExponent: "DecimalExponent", Format(9): "Format(9)"} {
		if got := f.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", f, got, want)
		}
	}
}

func TestParseList(t *testing.T) {
	l, err := ParseList(map[string]string{"cpu": "500m", "memory": "1.5Gi", "pods": "110", "example.com/gpu": "2"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"cpu": "500m", "memory": "1536Mi", "pods": "110", "example.com/gpu": "2"}
	got := l.Strings()
	if len(got) != len(want) {
		t.Fatalf("Strings() = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if l["cpu"].MilliValue() != 500 || l["memory"].Value() != 1610612736 {
		t.Errorf("values: cpu %d m, memory %d", l["cpu"].MilliValue(), l["memory"].Value())
	}

	_, err = ParseList(map[string]string{"cpu": "1", "memory": "5Gb", "zz": "bad"})
	if err == nil || !strings.HasPrefix(err.Error(), `memory: invalid quantity "5Gb": quantities must match`) || !errors.Is(err, ErrFormatWrong) {
		t.Fatalf("error = %v, want one naming memory", err)
	}
	if l, err := ParseList(nil); err != nil || len(l) != 0 {
		t.Fatalf("ParseList(nil) = %v, %v", l, err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"0", "1", "250m", "1Gi", "1.5Gi", "0.5", ".5", "1e3", "1E-3", "-1.5", "+1", "100Mi",
		"1n", "0.9n", "9Ei", "18446744073709551616", "1e1000", "1e-1000", "1.2.3", "5Gb", "",
		"1 Gi", "Mi", ".", "-", "0.000000000001Ki", "100.035Ki", "1.01E", "123456789012345678901234567890m",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse(s)
		if err != nil {
			return
		}
		c := q.String()
		r, err := Parse(c)
		if err != nil {
			t.Fatalf("%q: canonical %q does not parse: %v", s, c, err)
		}
		if r.Cmp(q) != 0 {
			t.Fatalf("%q: canonical %q is another number", s, c)
		}
		if r.String() != c {
			t.Fatalf("%q: canonical %q reprints as %q", s, c, r.String())
		}
		if q.Add(q).Sub(q).Cmp(q) != 0 {
			t.Fatalf("%q: q+q-q != q", s)
		}
		if m := q.MilliValue(); q.Sign() > 0 && m <= 0 || q.Sign() < 0 && m >= 0 {
			t.Fatalf("%q: MilliValue %d has the wrong sign", s, m)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	for _, s := range []string{"250m", "1Gi", "1.5Gi", "123456789012345678901234567890"} {
		b.Run(s, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkString(b *testing.B) {
	for _, s := range []string{"250m", "1536Mi", "0.5"} {
		q := MustParse(s)
		b.Run(s, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = q.String()
			}
		})
	}
}

func BenchmarkAddCmp(b *testing.B) {
	x, y, limit := MustParse("250m"), MustParse("1"), MustParse("64")
	b.ReportAllocs()
	for b.Loop() {
		s := x.Add(y)
		_ = s.Cmp(limit)
	}
}
