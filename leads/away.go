package leads

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// availableView returns rot as a turn taken at now must see it: rot itself
// when each of its members can take a lead then, else a copy in which the
// members who cannot have Away set to why (AccountConfig.Away). The copy is
// the same one for as long as the same members are away for the same
// reasons under this configuration: a rotator takes the turns that arrive
// together for one rotation in one batch only when they come with the same
// rotation, and intake would lose that with a copy per lead.
func (c *AccountConfig) availableView(rot *Rotation, now time.Time) *Rotation {
	var reasons []string // nil while nobody is away
	for i, m := range rot.Members {
		if r := c.Away(m.User, now); r != "" {
			if reasons == nil {
				reasons = make([]string, len(rot.Members))
			}
			reasons[i] = r
		}
	}
	if reasons == nil {
		return rot
	}
	key := viewKey{rotation: rot, away: strings.Join(reasons, "\x00")}
	if v := c.views.get(key); v != nil {
		return v
	}
	v := *rot
	v.Members = slices.Clone(rot.Members)
	for i := range v.Members {
		v.Members[i].Away = reasons[i]
	}
	return c.views.put(key, &v)
}

// viewKey names a view of a rotation: the rotation and who is away why.
type viewKey struct {
	rotation *Rotation
	away     string
}

// maxViews bounds the views one configuration keeps; past it they are
// dropped and made again as needed.
const maxViews = 1024

// viewCache keeps a configuration's views of its rotations (see
// availableView). A nil *viewCache keeps none: each call makes its own.
type viewCache struct {
	mu    sync.Mutex
	views map[viewKey]*Rotation
}

func (vc *viewCache) get(k viewKey) *Rotation {
	if vc == nil {
		return nil
	}
	vc.mu.Lock()
	defer vc.mu.Unlock()
	return vc.views[k]
}

// put keeps v as the view k, unless another caller kept one first: that
// one is returned then, so that every caller shares it.
func (vc *viewCache) put(k viewKey, v *Rotation) *Rotation {
	if vc == nil {
		return v
	}
	vc.mu.Lock()
	defer vc.mu.Unlock()
	if have := vc.views[k]; have != nil {
		return have
	}
	if vc.views == nil || len(vc.views) >= maxViews {
		vc.views = make(map[viewKey]*Rotation)
	}
	vc.views[k] = v
	return v
}
