package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/uptrace/bunrouter"

	"github.com/leadrotor/leadrotor/leads"
)

// The helpers below are the steps every configuration handler (teams, lead
// sources, rotations) shares: read the id in the path, decode a body, call
// the service as the request's actor, and answer. Each keeps the order of
// those steps, so a request bad in two ways fails as it always did.

// serveID reads the id in the path (a bad one is 404 "<kind> not found"),
// hands it to call and answers status with what call returns.
func serveID[T any](w http.ResponseWriter, req bunrouter.Request, kind string, status int,
	call func(ctx context.Context, a leads.Actor, id int64) (T, error)) error {
	id, err := idParam(req, kind)
	if err != nil {
		return err
	}
	ctx := req.Context()
	v, err := call(ctx, actorFrom(ctx), id)
	if err != nil {
		return err
	}
	writeJSON(w, status, v)
	return nil
}

// getID is serveID answering 200.
func getID[T any](w http.ResponseWriter, req bunrouter.Request, kind string,
	call func(ctx context.Context, a leads.Actor, id int64) (T, error)) error {
	return serveID(w, req, kind, http.StatusOK, call)
}

// listAll answers 200 with the unpaged list call returns.
func listAll[T any](w http.ResponseWriter, req bunrouter.Request, call func(ctx context.Context, a leads.Actor) ([]T, error)) error {
	ctx := req.Context()
	all, err := call(ctx, actorFrom(ctx))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list[T]{all})
	return nil
}

// create decodes the body into an In, hands it to call and answers 201 with
// the result; location, when not nil, gives its Location header.
func create[In, T any](w http.ResponseWriter, req bunrouter.Request, location func(T) string,
	call func(ctx context.Context, a leads.Actor, in In) (T, error)) error {
	var in In
	if err := decodeJSON(req.Request, &in); err != nil {
		return err
	}
	ctx := req.Context()
	v, err := call(ctx, actorFrom(ctx), in)
	if err != nil {
		return err
	}
	if location != nil {
		w.Header().Set("Location", location(v))
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

// rename is PATCH {"name"} of the kind named by the path.
func rename[T any](w http.ResponseWriter, req bunrouter.Request, kind string,
	call func(ctx context.Context, a leads.Actor, id int64, name string) (T, error)) error {
	return getID(w, req, kind, func(ctx context.Context, a leads.Actor, id int64) (T, error) {
		var in nameInput
		if err := decodeJSON(req.Request, &in); err != nil {
			var zero T
			return zero, err
		}
		return call(ctx, a, id, in.Name)
	})
}

// remove deletes the kind named by the path and answers 204.
func remove(w http.ResponseWriter, req bunrouter.Request, kind string,
	call func(ctx context.Context, a leads.Actor, id int64) error) error {
	id, err := idParam(req, kind)
	if err != nil {
		return err
	}
	ctx := req.Context()
	if err := call(ctx, actorFrom(ctx), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// removeForced is remove with the optional ?force=true of a delete that
// would otherwise refuse while leads name what it deletes.
func removeForced(w http.ResponseWriter, req bunrouter.Request, kind string,
	call func(ctx context.Context, a leads.Actor, id int64, force bool) error) error {
	return remove(w, req, kind, func(ctx context.Context, a leads.Actor, id int64) error {
		force, err := boolParam(req.Request, "force")
		if err != nil {
			return err
		}
		return call(ctx, a, id, force)
	})
}

// stats answers the statistics of the kind named by the path over the
// optional window ?from=&to=.
func stats[T any](w http.ResponseWriter, req bunrouter.Request, kind string,
	call func(ctx context.Context, a leads.Actor, id int64, from, to *time.Time) (T, error)) error {
	return getID(w, req, kind, func(ctx context.Context, a leads.Actor, id int64) (T, error) {
		from, to, err := windowParams(req.URL.Query())
		if err != nil {
			var zero T
			return zero, err
		}
		return call(ctx, a, id, from, to)
	})
}
