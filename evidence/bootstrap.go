package evidence

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// Resamples is how many bootstrap resamples an interval is computed from.
const Resamples = 1000

// Interval is a 95% bootstrap confidence interval, or why there is none.
type Interval struct {
	Low, High float64
	Undefined string
}

// Seed derives a bootstrap seed from the digests of the data an interval
// resamples (a predictions file's sha256, or both files' for a paired
// interval), so that every machine computes the same intervals for the
// same data, and editing any other file of the bundle moves none of them.
func Seed(data ...string) [2]uint64 {
	h := sha256.Sum256([]byte("signoff bootstrap v2\n" + strings.Join(data, "\n")))
	return [2]uint64{binary.LittleEndian.Uint64(h[:8]), binary.LittleEndian.Uint64(h[8:16])}
}

// BinaryIntervals computes the 95% percentile bootstrap interval of every
// binary metric: n rows drawn with replacement, resamples times. Rows are
// drawn by their place in score order, which is the same as drawing rows,
// and keeps every pass sequential.
func BinaryIntervals(b *Binary, seed [2]uint64, resamples int) map[string]Interval {
	prep := b.prepare() // before the workers share it
	return bootstrap(len(b.Labels), seed, resamples, prep.metrics)
}

// RegressionIntervals is [BinaryIntervals] for rmse, mae and r2.
func RegressionIntervals(truth, pred []float64, seed [2]uint64, resamples int) map[string]Interval {
	return bootstrap(len(truth), seed, resamples, func(w []uint16) map[string]Value {
		return regressionMetrics(truth, pred, w)
	})
}

// bootstrap draws n rows with replacement, resamples times, and returns
// each metric's percentile interval. Resample r draws from its own PCG
// stream (seed, r), so the intervals do not depend on how many cores share
// the work. metrics counts row i w[i] times and must be safe to call from
// several goroutines.
func bootstrap(n int, seed [2]uint64, resamples int, metrics func(w []uint16) map[string]Value) map[string]Interval {
	samples := make([]map[string]Value, resamples)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(resamples, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := make([]uint16, n)
			for r := range next {
				clear(w)
				rng := rand.New(rand.NewPCG(seed[0], seed[1]^uint64(r+1)*0x9e3779b97f4a7c15))
				for range n {
					// A row drawn 65,535 times would need odds below
					// 1e-300: saturate rather than wrap.
					if i := rng.IntN(n); w[i] != math.MaxUint16 {
						w[i]++
					}
				}
				samples[r] = metrics(w)
			}
		}()
	}
	if n > 0 {
		for r := range resamples {
			next <- r
		}
	}
	close(next)
	wg.Wait()
	out := make(map[string]Interval)
	for name := range metrics(nil) {
		var xs []float64
		for _, s := range samples {
			if s != nil && s[name].Defined() {
				xs = append(xs, s[name].V)
			}
		}
		out[name] = percentileInterval(xs, resamples)
	}
	return out
}

// percentileInterval is the 2.5th and 97.5th percentiles of xs, with
// linear interpolation between order statistics (numpy's default). If the
// metric was undefined in more than 5% of the resamples there is no
// interval.
func percentileInterval(xs []float64, resamples int) Interval {
	if resamples == 0 || len(xs) == 0 {
		return Interval{Undefined: "no resamples"}
	}
	if missing := resamples - len(xs); float64(missing) > 0.05*float64(resamples) {
		return Interval{Undefined: fmt.Sprintf("undefined in %d of %d resamples", missing, resamples)}
	}
	sort.Float64s(xs)
	q := func(p float64) float64 {
		pos := p * float64(len(xs)-1)
		lo := int(math.Floor(pos))
		if lo+1 >= len(xs) {
			return xs[len(xs)-1]
		}
		return xs[lo] + (pos-float64(lo))*(xs[lo+1]-xs[lo])
	}
	return Interval{Low: q(0.025), High: q(0.975)}
}

// PairedIntervals computes, for rows that cand and base hold in the same
// order (the same cases, joined by row id), the 95% bootstrap interval of
// each metric's difference, candidate minus baseline: each resample draws
// cases and counts them in both models, at each case's place in each
// model's score order.
func PairedIntervals(cand, base *Binary, seed [2]uint64, resamples int) map[string]Interval {
	n := len(cand.Labels)
	pc, pb := cand.prepare(), base.prepare()
	scratch := sync.Pool{New: func() any { return &[2][]uint16{make([]uint16, n), make([]uint16, n)} }}
	return bootstrap(n, [2]uint64{seed[0] ^ 0x5bd1e995, seed[1]}, resamples, func(w []uint16) map[string]Value {
		if w == nil {
			return pc.metrics(nil) // the metric names
		}
		buf := scratch.Get().(*[2][]uint16)
		defer scratch.Put(buf)
		wc, wb := buf[0], buf[1]
		for i, k := range w {
			wc[pc.rank[i]], wb[pb.rank[i]] = k, k
		}
		mc, mb := pc.metrics(wc), pb.metrics(wb)
		d := make(map[string]Value, len(mc))
		for k, v := range mc {
			if u := mb[k]; v.Defined() && u.Defined() {
				d[k] = defined(v.V - u.V)
			} else {
				d[k] = undefined("undefined in a resample")
			}
		}
		return d
	})
}
