package store

import "github.com/jackc/pgx/v5/pgtype"

// pgArray is a slice that pgx sends as a one-dimensional PostgreSQL array
// (pgtype.ArrayGetter) without reflection. pgx sends a slice of any other
// type through reflection, which copies each element into an interface
// (an allocation per element): a sixth of the server's allocations on the
// create path were these, the batch insert's and the facts read's
// columns. Index hands out a pointer into the slice instead, which an
// interface holds as it is. T is a pgtype value (pgtype.Text, Int8, ...):
// pgx encodes a pointer to one through its Valuer method, a NULL when not
// Valid, where a pointer to a plain Go value would go through reflection
// again.
type pgArray[T any] []T

// Dimensions returns the array's single dimension; nil (NULL) for a nil
// slice.
func (a pgArray[T]) Dimensions() []pgtype.ArrayDimension {
	if a == nil {
		return nil
	}
	return []pgtype.ArrayDimension{{Length: int32(len(a)), LowerBound: 1}}
}

// Index returns a pointer to element i.
func (a pgArray[T]) Index(i int) any { return &a[i] }

// IndexType returns a pointer to a T, what Index returns.
func (a pgArray[T]) IndexType() any { return new(T) }
