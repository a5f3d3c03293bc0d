package bw

import "testing"

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{"none", nil, 0},
		{"one", []float64{3}, 3},
		{"odd count, unsorted", []float64{9, 1, 5}, 5},
		{"even count: mean of the middle two", []float64{4, 1, 3, 10}, 3.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]float64(nil), tt.in...)
			if got := Median(tt.in); got != tt.want {
				t.Errorf("Median(%v) = %g, want %g", tt.in, got, tt.want)
			}
			for i := range in {
				if in[i] != tt.in[i] {
					t.Fatalf("Median reordered its input: %v", tt.in)
				}
			}
		})
	}
}

func TestRatio(t *testing.T) {
	if r := (Result{NetMedian: 95, RefMedian: 100}).Ratio(); r != 0.95 {
		t.Errorf("ratio %g, want 0.95", r)
	}
	if r := (Result{NetMedian: 95}).Ratio(); r != 0 {
		t.Errorf("ratio without reference %g, want 0", r)
	}
}
