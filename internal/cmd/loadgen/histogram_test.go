package main

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketIndexIsMonotonicAndBounded(t *testing.T) {
	prev := -1
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 256, 1000, 1 << 20, 1<<40 + 12345, 1<<63 - 1, 1<<64 - 1} {
		i := bucketIndex(v)
		if i < prev {
			t.Errorf("bucketIndex(%d) = %d, want >= %d", v, i, prev)
		}
		if i >= histNumBuckets {
			t.Fatalf("bucketIndex(%d) = %d, out of range %d", v, i, histNumBuckets)
		}
		prev = i
	}
}

func TestBucketValueWithinPrecision(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		v := r.Uint64N(1 << 40)
		got := bucketValue(bucketIndex(v))
		diff := float64(got) - float64(v)
		if diff < 0 {
			diff = -diff
		}
		if v > 0 && diff/float64(v) > 1.0/128 {
			t.Fatalf("bucketValue(bucketIndex(%d)) = %d, relative error %.4f > 1/128", v, got, diff/float64(v))
		}
	}
}

func TestQuantileMatchesExactNearestRank(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var h, a, b histogram
	exact := make([]time.Duration, 0, 20000)
	for i := range 20000 {
		// A long-tailed mix: mostly ~200µs, some ~5ms.
		d := time.Duration(150_000 + r.IntN(100_000))
		if r.IntN(100) == 0 {
			d = time.Duration(4_000_000 + r.IntN(2_000_000))
		}
		exact = append(exact, d)
		if i%2 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	h.Merge(&a)
	h.Merge(&b)
	slices.Sort(exact)
	if got, want := h.Count(), uint64(len(exact)); got != want {
		t.Fatalf("Count() = %d, want %d", got, want)
	}
	for _, q := range []float64{0, 0.5, 0.9, 0.99, 0.999, 1} {
		rank := int(q*float64(len(exact)) + 0.999999999)
		rank = min(max(rank, 1), len(exact))
		want := exact[rank-1]
		got := h.Quantile(q)
		if diff := (got - want).Seconds() / want.Seconds(); diff > 1.0/128 || diff < -1.0/128 {
			t.Errorf("Quantile(%v) = %v, want %v ±0.8%%", q, got, want)
		}
	}
	if got, want := h.Max(), exact[len(exact)-1]; got != want {
		t.Errorf("Max() = %v, want %v", got, want)
	}
}

func TestEmptyHistogram(t *testing.T) {
	var h histogram
	if h.Quantile(0.5) != 0 || h.Mean() != 0 || h.Max() != 0 {
		t.Errorf("empty histogram: got p50=%v mean=%v max=%v, want zeros", h.Quantile(0.5), h.Mean(), h.Max())
	}
}
