package store_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/store"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// Issue 10, item 14: Open takes PostgreSQL as postgres://, postgresql:// or
// libpq's key=value form, and SQLite as file: or sqlite:// paths; anything
// else is an error that names those forms, and creates no file.
func TestIssue10_14_DSNForms(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pg := storetest.PostgresSchemaDSN(t)
	var keyValue, postgresql string
	if pg != "" {
		u, err := url.Parse(pg)
		require.NoError(t, err)
		postgresql = "postgresql" + strings.TrimPrefix(pg, "postgres")
		keyValue = "host=" + u.Hostname() + " port=" + u.Port() + " user=" + u.User.Username() +
			" dbname=" + strings.TrimPrefix(u.Path, "/") + " sslmode=disable search_path=" + u.Query().Get("search_path")
	}
	for _, tc := range []struct {
		name    string
		dsn     string
		dialect store.Dialect // "": refused
	}{
		{"postgres URL", pg, store.Postgres},
		{"postgresql URL", postgresql, store.Postgres},
		{"libpq key=value", keyValue, store.Postgres},
		{"file path", "file:" + filepath.Join(dir, "file.db"), store.SQLite},
		{"sqlite URL", "sqlite://" + filepath.Join(dir, "sqlite.db"), store.SQLite},
		{"misspelt scheme", "postgress://postgres@127.0.0.1:5432/test", ""},
		{"other database", "mysql://root@127.0.0.1:3306/test", ""},
		{"leading space", " postgres://postgres@127.0.0.1:5432/test", ""},
		{"trailing newline", "file:" + filepath.Join(dir, "newline.db") + "\n", ""},
		{"bare path", filepath.Join(dir, "bare.db"), ""},
		{"bare word", "leadrotor", ""},
		{"empty", "", ""},
		{"file without path", "file:", ""},
		{"sqlite without path", "sqlite://", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.dsn == "" && tc.dialect != "" {
				t.Skip("needs PostgreSQL")
			}
			if !strings.Contains(tc.dsn, "/") && tc.dsn != "" {
				// Before the fix a bare word became a file in the working directory.
				t.Cleanup(func() { _ = os.Remove(tc.dsn) })
			}
			s, err := store.Open(context.Background(), tc.dsn)
			if tc.dialect != "" {
				require.NoError(t, err)
				t.Cleanup(func() { _ = s.Close() })
				require.Equal(t, tc.dialect, s.Dialect())
				require.NoError(t, s.Ping(context.Background()))
				return
			}
			if s != nil {
				_ = s.Close()
			}
			require.Error(t, err)
			for _, form := range []string{"postgres://", "postgresql://", "host=", "file:", "sqlite://"} {
				require.ErrorContains(t, err, form, "the error names the accepted forms")
			}
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			for _, e := range entries {
				require.NotContains(t, []string{"bare.db", "newline.db", "newline.db\n"}, e.Name(), "no database was created")
			}
		})
	}
}

// Issue 10, item 13 (logging the effective database): Redact masks the
// password of every form Open takes.
func TestIssue10_13_RedactDSN(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ dsn, want string }{
		{"postgres://app:s3cret@db:5432/leads?sslmode=disable", "postgres://app:xxxxx@db:5432/leads?sslmode=disable"},
		{"postgresql://app@db/leads?password=s3cret", "postgresql://app@db/leads?password=xxxxx"},
		{"host=db user=app password=s3cret dbname=leads", "host=db user=app password=xxxxx dbname=leads"},
		{"host=db password='s3 cret' dbname=leads", "host=db password=xxxxx dbname=leads"},
		{"host=db password = s3cret dbname=leads", "host=db password=xxxxx dbname=leads"},
		{"file:leadrotor.db", "file:leadrotor.db"},
		{"postgres://app:s3cret@db:5432/%zz", "postgres://(unreadable URL)"},
	} {
		t.Run(tc.dsn, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, store.Redact(tc.dsn))
			require.NotContains(t, store.Redact(tc.dsn), "s3")
		})
	}
}
