package simulate

import (
	"container/heap"
	"time"

	"github.com/leadrotor/leadrotor/leads"
)

// Leads come from the store in the order they were stored (their ids),
// which under load is not quite the order they took their turns: a create
// takes its turn, then joins a group commit, and another that took the
// next turn may be written first, on the same server or another. Within a
// rotation the turns' numbers are the order, so turnOrder holds the leads
// back a little and hands each rotation's leads on in the order of their
// turns; the others in the order they came.
const (
	// orderHorizon is how far behind the newest lead's creation a lead is
	// held at most: more than a create's turn and write can take apart.
	orderHorizon = 5 * time.Second
	// orderAhead bounds how many leads are held at once.
	orderAhead = 20000
)

// heldLead is a lead held by turnOrder, with the rotation and turn it
// took as it was created (0 when none).
type heldLead struct {
	h              leads.HistoricLead
	rotation, turn int64
	done           bool
}

// turnOrder reorders the window's leads (see above) before emit decides
// them.
type turnOrder struct {
	emit func(leads.HistoricLead) error
	// queue holds the leads in the order they came, from head on; some
	// may be done already (handed on ahead of their place).
	queue []*heldLead
	head  int
	// byRotation holds, per rotation, its held leads by turn.
	byRotation map[int64]*turnHeap
	// held holds the ids of the leads held and not done, and newest the
	// highest id seen.
	held   map[int64]bool
	newest int64
}

func newTurnOrder(emit func(leads.HistoricLead) error) *turnOrder {
	return &turnOrder{emit: emit, byRotation: make(map[int64]*turnHeap), held: make(map[int64]bool)}
}

// newHeldLead returns h to hold, with the rotation and turn its lead took
// as it was created, if it took one.
func newHeldLead(h leads.HistoricLead) *heldLead {
	l := &heldLead{h: h}
	if a := h.Actual; a.Event == leads.EventLeadAssigned && a.RotationID != 0 && a.Turn != 0 {
		l.rotation, l.turn = a.RotationID, a.Turn
	}
	return l
}

// add holds h, and hands on the leads it no longer need hold.
func (o *turnOrder) add(h leads.HistoricLead) error {
	l := newHeldLead(h)
	o.queue = append(o.queue, l)
	o.held[h.Lead.ID] = true
	o.newest = max(o.newest, h.Lead.ID)
	if l.rotation != 0 {
		th := o.byRotation[l.rotation]
		if th == nil {
			th = &turnHeap{}
			o.byRotation[l.rotation] = th
		}
		heap.Push(th, l)
	}
	for len(o.held) > 0 {
		first := o.first()
		if len(o.held) <= orderAhead && h.Lead.CreatedAt.Sub(first.h.Lead.CreatedAt) <= orderHorizon {
			return nil
		}
		if err := o.next(); err != nil {
			return err
		}
	}
	return nil
}

// flush hands on every lead held.
func (o *turnOrder) flush() error {
	for len(o.held) > 0 {
		if err := o.next(); err != nil {
			return err
		}
	}
	return nil
}

// first returns the first held lead not done.
func (o *turnOrder) first() *heldLead {
	for o.queue[o.head].done {
		o.queue[o.head] = nil
		o.head++
	}
	if o.head > len(o.queue)/2 && o.head > 1024 {
		o.queue = append(o.queue[:0], o.queue[o.head:]...)
		o.head = 0
	}
	return o.queue[o.head]
}

// next hands on the first held lead, or, when it took a rotation's turn,
// the held lead of that rotation with the lowest turn.
func (o *turnOrder) next() error {
	l := o.first()
	if l.rotation != 0 {
		l = heap.Pop(o.byRotation[l.rotation]).(*heldLead)
	}
	l.done = true
	delete(o.held, l.h.Lead.ID)
	return o.emit(l.h)
}

// undecided reports whether lead id, of the window, is held or not seen
// yet.
func (o *turnOrder) undecided(id int64) bool { return o.held[id] || id > o.newest }

// turnHeap is a rotation's held leads by turn.
type turnHeap []*heldLead

func (t turnHeap) Len() int           { return len(t) }
func (t turnHeap) Less(i, j int) bool { return t[i].turn < t[j].turn }
func (t turnHeap) Swap(i, j int)      { t[i], t[j] = t[j], t[i] }
func (t *turnHeap) Push(x any)        { *t = append(*t, x.(*heldLead)) }
func (t *turnHeap) Pop() any {
	old := *t
	x := old[len(old)-1]
	old[len(old)-1] = nil
	*t = old[:len(old)-1]
	return x
}
