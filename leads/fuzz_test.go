package leads

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// FuzzCursor checks the listing cursor both ways. Any string given as a
// cursor either decodes to a position that encodes and decodes to itself,
// or is a VALIDATION_ERROR naming "cursor"; never a panic. A cursor the
// server encodes, for any lead it can list, decodes to the same position in
// the same order and is refused in the other.
func FuzzCursor(f *testing.F) {
	f.Add("", false, false, int64(1795338000), uint32(0), int64(1))
	f.Add("eyJzIjoiY3JlYXRlZEF0IiwidCI6IjIwMjYtMTEtMjFUMDk6MDA6MDBaIiwiaSI6N30", false, false, int64(-62135596800), uint32(999999999), int64(math.MaxInt64))
	f.Add("eyJzIjoidXBkYXRlZEF0IiwiYSI6dHJ1ZSwidCI6IjAwMDAtMDEtMDFUMDA6MDA6MDBaIiwiaSI6MX0", true, true, int64(253402300799), uint32(123456789), int64(-5))
	f.Add("not a cursor", true, false, int64(0), uint32(1), int64(0))
	f.Add("e30", false, true, int64(math.MinInt64), uint32(math.MaxUint32), int64(42))
	f.Fuzz(func(t *testing.T, s string, updated, asc bool, sec int64, nsec uint32, id int64) {
		sort, other := SortCreatedAt, SortUpdatedAt
		if updated {
			sort, other = other, sort
		}

		if c, err := decodeCursor(s, sort, asc); err != nil {
			requireCursorRefused(t, err)
		} else {
			require.Positive(t, c.ID)
			require.Empty(t, TimeProblem(c.At))
			again, err := decodeCursor(encodeCursor(sort, asc, *c), sort, asc)
			require.NoError(t, err)
			require.True(t, c.At.Equal(again.At), "%v != %v", c.At, again.At)
			require.Equal(t, c.ID, again.ID)
		}

		// A position the server can produce: a positive id and a time in the
		// years a lead can have.
		first := time.Date(MinYear, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
		last := time.Date(MaxYear+1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
		span := uint64(last - first)
		at := time.Unix(first+int64(uint64(sec)%span), int64(nsec%1e9)).UTC()
		want := Cursor{At: at, ID: max(id&math.MaxInt64, 1)}
		enc := encodeCursor(sort, asc, want)
		got, err := decodeCursor(enc, sort, asc)
		require.NoError(t, err, "cursor %q of %v", enc, want)
		require.True(t, want.At.Equal(got.At), "%v != %v", want.At, got.At)
		require.Equal(t, want.ID, got.ID)
		_, err = decodeCursor(enc, other, asc)
		requireCursorRefused(t, err)
		_, err = decodeCursor(enc, sort, !asc)
		requireCursorRefused(t, err)
	})
}

// requireCursorRefused requires err to be a VALIDATION_ERROR for "cursor"
// with a message.
func requireCursorRefused(t *testing.T, err error) {
	t.Helper()
	require.Equal(t, CodeValidation, ErrorCode(err), "%v", err)
	require.Equal(t, "cursor", ErrorDetails(err)["field"])
	require.NotEmpty(t, ErrorDetails(err)["message"])
}
