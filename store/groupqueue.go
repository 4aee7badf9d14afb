package store

import "sync"

// groupQueue is the queue of work done for many callers at once (the
// leads of a group commit, the reads of lead facts). A caller queues its
// item; if fewer than max runners are at work, it becomes one and runs the
// head of the queue itself (its own item with it, unless the queue is
// long); what is left when it is done is run by a drainer that takes over
// its place. So an item alone goes at once, and items that arrive while
// the runners are busy go together in their next round.
type groupQueue[T any] struct {
	mu      sync.Mutex
	waiting []T
	running int
	max     int
}

// join queues item and reports whether the caller took a runner's place:
// then it runs a round and calls release.
func (q *groupQueue[T]) join(item T) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.waiting = append(q.waiting, item)
	if q.running < q.max {
		q.running++
		return true
	}
	return false
}

// release ends a runner's turn: while items wait, drain carries on in a
// goroutine of its own (it runs rounds until the queue is empty, then
// calls release again); otherwise the place is free.
func (q *groupQueue[T]) release(drain func()) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.waiting) > 0 {
		go drain()
		return
	}
	q.running--
}

// take removes and returns up to n items from the head of the queue, none
// when it is empty.
func (q *groupQueue[T]) take(n int) []T {
	q.mu.Lock()
	defer q.mu.Unlock()
	n = min(n, len(q.waiting))
	batch := q.waiting[:n:n]
	q.waiting = q.waiting[n:]
	if len(q.waiting) == 0 {
		q.waiting = nil
	}
	return batch
}
