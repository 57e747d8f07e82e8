package cacher

import (
	"sort"
	"strings"
)

// ring holds the most recent events in revision order, overwriting the
// oldest when full.
type ring struct {
	buf  []*entry
	head int // index of the oldest event
	n    int
	// start is the revision after which the ring holds every event: a
	// watch from start or later can be served.
	start int64
}

func newRing(size int) *ring { return &ring{buf: make([]*entry, size)} }

func (r *ring) reset(rev int64) {
	clear(r.buf)
	r.head, r.n, r.start = 0, 0, rev
}

func (r *ring) at(i int) *entry { return r.buf[(r.head+i)%len(r.buf)] }

func (r *ring) push(e *entry) {
	if r.n < len(r.buf) {
		r.buf[(r.head+r.n)%len(r.buf)] = e
		r.n++
		return
	}
	r.start = r.buf[r.head].Revision
	r.buf[r.head] = e
	r.head = (r.head + 1) % len(r.buf)
}

// since returns the held events after rev under prefix, oldest first.
func (r *ring) since(rev int64, prefix string) []*entry {
	i := sort.Search(r.n, func(i int) bool { return r.at(i).Revision > rev })
	out := make([]*entry, 0, r.n-i)
	for ; i < r.n; i++ {
		if e := r.at(i); strings.HasPrefix(e.Key, prefix) {
			out = append(out, e)
		}
	}
	return out
}
