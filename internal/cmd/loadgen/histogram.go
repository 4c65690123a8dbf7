package main

import (
	"math"
	"math/bits"
	"time"
)

// The histogram is log-linear, in the manner of HdrHistogram: values below
// 2^histSubBits nanoseconds get one bucket each, and every further power of two
// is split into 2^(histSubBits-1) equal buckets. With histSubBits = 7 a reported
// quantile is within 1/128 (0.8 %) of the true value, across the whole range of
// a uint64 of nanoseconds, in a fixed 30 KiB per histogram.
const (
	histSubBits    = 7
	histSubCount   = 1 << histSubBits // buckets below the first doubling
	histHalfCount  = histSubCount / 2 // buckets per further doubling
	histNumBuckets = (64-histSubBits)*histHalfCount + histSubCount
)

// histogram records latencies. Its zero value is ready to use. It is not safe
// for concurrent use: each worker owns one and they are merged at the end.
type histogram struct {
	counts [histNumBuckets]uint64
	n      uint64
	sum    uint64 // nanoseconds; overflows only after ~584 years of latency
	min    uint64
	max    uint64
}

// bucketIndex returns the bucket holding v nanoseconds.
func bucketIndex(v uint64) int {
	if v < histSubCount {
		return int(v)
	}
	shift := bits.Len64(v) - histSubBits
	return shift*histHalfCount + int(v>>uint(shift))
}

// bucketValue returns the value reported for bucket i: the middle of its range.
func bucketValue(i int) uint64 {
	if i < histSubCount {
		return uint64(i)
	}
	shift := i/histHalfCount - 1
	mantissa := uint64(i - shift*histHalfCount)
	lower := mantissa << uint(shift)
	return lower + (uint64(1)<<uint(shift))/2
}

// Record adds one observation. Negative durations count as zero.
func (h *histogram) Record(d time.Duration) {
	v := uint64(max(d, 0))
	h.counts[bucketIndex(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += v
}

// Merge adds every observation of o to h.
func (h *histogram) Merge(o *histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// Count returns the number of observations.
func (h *histogram) Count() uint64 { return h.n }

// Max returns the largest observation (exact), or 0 when empty.
func (h *histogram) Max() time.Duration { return time.Duration(h.max) }

// Mean returns the arithmetic mean (exact), or 0 when empty.
func (h *histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / h.n)
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1) by the nearest-rank method: the
// smallest recorded value such that at least q of the observations are ≤ it,
// within the histogram's precision and clamped to the exact min and max. It
// returns 0 when the histogram is empty.
func (h *histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			v := min(max(bucketValue(i), h.min), h.max)
			return time.Duration(v)
		}
	}
	return time.Duration(h.max) // unreachable: counts sum to n
}
