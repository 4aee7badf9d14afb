// Package pgserver starts, for tests, the PostgreSQL processes that the
// local server on 5432 cannot stand for: a PgBouncer in transaction mode in
// front of a database of the test's own, and a primary with a streaming
// replica made by initdb and pg_basebackup. Each runs on a free loopback
// port in a temporary directory and is stopped when the test ends. A
// missing program skips the test, unless LEADROTOR_TEST_REQUIRE names
// "pgbouncer" or "pg-replica" (as CI does): then it fails it. Run as root
// (as CI is), the programs run as the user postgres, since PostgreSQL and
// PgBouncer refuse to run as root. PgBouncer logs in to the test PostgreSQL
// without a password, as the user of its URL: that server must trust
// 127.0.0.1, as the local one does.
package pgserver

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver

	"github.com/leadrotor/leadrotor/store/storetest"
)

// The names LEADROTOR_TEST_REQUIRE takes for what this package starts.
const (
	RequirePgBouncer = "pgbouncer"
	RequireReplica   = "pg-replica"
)

// startTimeout bounds the start of each process.
const startTimeout = 30 * time.Second

// missing skips t for want not installed, or fails it when required.
func missing(t testing.TB, require string, err error) {
	t.Helper()
	if storetest.Required(require) {
		t.Fatalf("%v, but LEADROTOR_TEST_REQUIRE names %s", err, require)
	}
	t.Skipf("%v: skipping (LEADROTOR_TEST_REQUIRE=%s makes it a failure)", err, require)
}

// PgBouncerPath returns the pgbouncer program, or an error saying it is
// not installed.
func PgBouncerPath() (string, error) {
	p, err := exec.LookPath("pgbouncer")
	if err != nil {
		// Debian installs it in /usr/sbin, which a user's PATH may lack.
		if _, serr := os.Stat("/usr/sbin/pgbouncer"); serr == nil {
			return "/usr/sbin/pgbouncer", nil
		}
		return "", errors.New("pgbouncer is not installed (Debian: apt-get install pgbouncer)")
	}
	return p, nil
}

// ServerBin returns the directory of PostgreSQL's server programs
// (initdb, postgres, pg_basebackup): the newest /usr/lib/postgresql/*/bin
// that has them all.
func ServerBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	for _, d := range dirs {
		ok := true
		for _, p := range []string{"initdb", "postgres", "pg_basebackup"} {
			if _, err := os.Stat(filepath.Join(d, p)); err != nil {
				ok = false
			}
		}
		if ok {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL's server programs (initdb, postgres, pg_basebackup) are not in /usr/lib/postgresql/*/bin")
}

// version returns the major version a /usr/lib/postgresql/N/bin names.
func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// runAs is the user the programs run as: postgres when this process is
// root, else nil (this process's own).
var runAs = sync.OnceValues(func() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, the PostgreSQL programs need the user postgres: %w", err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
})

// command returns the command of program with args, run as runAs in dir.
func command(t testing.TB, dir, program string, args ...string) *exec.Cmd {
	t.Helper()
	cred, err := runAs()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(program, args...)
	cmd.Dir = dir
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	return cmd
}

// tempDir returns a new directory that runAs owns, removed when t ends.
// t.TempDir's are not reachable by another user.
func tempDir(t testing.TB) string {
	t.Helper()
	cred, err := runAs()
	if err != nil {
		t.Fatal(err)
	}
	parent := "" // $TMPDIR
	if cred != nil {
		parent = "/tmp" // one that postgres can reach, whatever $TMPDIR is
	}
	dir, err := os.MkdirTemp(parent, "leadrotor-pg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// freePort returns a loopback port that nothing listened on a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port
}

// process is a started server program, its output kept for failures.
type process struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
}

// start starts cmd and stops it (SIGINT, then SIGKILL) when t ends.
func start(t testing.TB, cmd *exec.Cmd) *process {
	t.Helper()
	p := &process{cmd: cmd, out: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt) // PostgreSQL's fast shutdown; PgBouncer exits
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// awaitSQL runs query on url until it succeeds or startTimeout passes.
func (p *process) awaitSQL(t testing.TB, url, query string) {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		var ok bool
		err := db.QueryRowContext(ctx, query).Scan(&ok)
		cancel()
		if err == nil && ok {
			return
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited: %s", p.cmd.Path, p.out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %q not true within %s (last error: %v)\n%s", p.cmd.Path, query, startTimeout, err, p.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Database creates a database of the test's own on the test PostgreSQL
// (LEADROTOR_TEST_POSTGRES_URL, default storetest.DefaultPostgresURL) and
// returns its URL; it is dropped when t ends. It skips t when PostgreSQL
// does not answer, unless it is required.
func Database(t testing.TB) string {
	t.Helper()
	base := cmpOr(os.Getenv("LEADROTOR_TEST_POSTGRES_URL"), storetest.DefaultPostgresURL)
	return createDatabase(t, base, func(err error) {
		if storetest.Required("postgres") {
			t.Fatalf("postgres at %s is required (LEADROTOR_TEST_REQUIRE) but does not answer: %v", base, err)
		}
		t.Skipf("postgres at %s does not answer: %v", base, err)
	})
}

// createDatabase creates a new database on the server of base, dropped
// when t ends, and returns base naming it; down is called when the server
// does not answer.
func createDatabase(t testing.TB, base string, down func(error)) string {
	t.Helper()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		down(err)
		return ""
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "lrtest_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		// WITH (FORCE): a pooler's server connections may still be open.
		if _, err := admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// PgBouncer is a running PgBouncer in transaction pooling mode.
type PgBouncer struct {
	// URL connects to the database through it.
	URL string
	// Version is its version (1.18.0).
	Version string
	// KeepsPrepared says that it keeps clients' prepared statements
	// (PgBouncer 1.21 or later, started with max_prepared_statements).
	KeepsPrepared bool
	// PoolSize is its default_pool_size: the most server connections it
	// opens to the database.
	PoolSize int
	admin    string
}

// StartPgBouncer starts PgBouncer in transaction mode in front of the
// database dbURL names (a postgres:// URL on 127.0.0.1 without password,
// as Database returns), with at most poolSize server connections to it,
// and returns it once it answers. It skips t when pgbouncer is not
// installed, unless LEADROTOR_TEST_REQUIRE names pgbouncer.
func StartPgBouncer(t testing.TB, dbURL string, poolSize int) *PgBouncer {
	t.Helper()
	program, err := PgBouncerPath()
	if err != nil {
		missing(t, RequirePgBouncer, err)
	}
	out, err := exec.Command(program, "-V").Output()
	if err != nil {
		t.Fatalf("pgbouncer -V: %v", err)
	}
	b := &PgBouncer{Version: regexp.MustCompile(`\d+\.\d+(\.\d+)?`).FindString(string(out)), PoolSize: poolSize}
	target, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	db := strings.TrimPrefix(target.Path, "/")
	usr := target.User.Username()
	dir := tempDir(t)
	port := freePort(t)
	ini := fmt.Sprintf(`[databases]
%s = host=%s port=%s dbname=%s user=%s

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
admin_users = %s
pool_mode = transaction
default_pool_size = %d
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 500
ignore_startup_parameters = extra_float_digits
logfile =
`, db, target.Hostname(), cmpOr(target.Port(), "5432"), db, usr, port, filepath.Join(dir, "userlist.txt"), usr, poolSize)
	if atLeast(b.Version, 1, 21) {
		// Protocol-level prepared statements: the create path's survive.
		ini += "max_prepared_statements = 200\n"
		b.KeepsPrepared = true
	}
	write(t, filepath.Join(dir, "pgbouncer.ini"), ini)
	write(t, filepath.Join(dir, "userlist.txt"), fmt.Sprintf("%q \"\"\n", usr))
	p := start(t, command(t, dir, program, filepath.Join(dir, "pgbouncer.ini")))
	u := *target
	u.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	b.URL = u.String()
	u.Path = "/pgbouncer"
	q := u.Query()
	q.Set("default_query_exec_mode", "simple_protocol") // its console has no extended protocol
	u.RawQuery = q.Encode()
	b.admin = u.String()
	p.awaitSQL(t, b.URL, "SELECT true")
	return b
}

// atLeast reports whether version v (1.18.0) is major.minor or later.
func atLeast(v string, major, minor int) bool {
	parts := strings.Split(v, ".")
	if len(parts) < 2 {
		return false
	}
	m, _ := strconv.Atoi(parts[0])
	n, _ := strconv.Atoi(parts[1])
	return m > major || m == major && n >= minor
}

// Connections returns how many client connections PgBouncer holds to the
// database and how many server connections it has open to it (SHOW POOLS,
// summed over the database's pools).
func (b *PgBouncer) Connections(t testing.TB) (clients, servers int) {
	t.Helper()
	db, err := sql.Open("pgx", b.admin)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	rows, err := db.Query("SHOW POOLS")
	if err != nil {
		t.Fatalf("pgbouncer SHOW POOLS: %v", err)
	}
	defer func() { _ = rows.Close() }()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(b.URL)
	name := strings.TrimPrefix(target.Path, "/")
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := map[string]string{}
		for i, c := range cols {
			row[c] = vals[i].String
		}
		if row["database"] != name {
			continue
		}
		for _, c := range []string{"cl_active", "cl_waiting", "cl_cancel_req", "cl_active_cancel_req", "cl_waiting_cancel_req"} {
			n, _ := strconv.Atoi(row[c])
			clients += n
		}
		for _, c := range []string{"sv_active", "sv_idle", "sv_used", "sv_tested", "sv_login", "sv_active_cancel", "sv_being_canceled"} {
			n, _ := strconv.Atoi(row[c])
			servers += n
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return clients, servers
}

func write(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	cred, err := runAs()
	if err != nil {
		t.Fatal(err)
	}
	if cred != nil {
		if err := os.Chown(path, int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
}

// Replicated is a primary PostgreSQL and a hot standby streaming from it,
// each a server of the test's own.
type Replicated struct {
	// Primary and Replica connect to the database "leadrotor" on each.
	Primary, Replica string
}

// StartReplicated makes a primary with initdb, a standby of it with
// pg_basebackup -R, starts both on free loopback ports and returns once
// the standby streams (pg_stat_replication). It skips t when PostgreSQL's
// server programs are not installed, unless LEADROTOR_TEST_REQUIRE names
// pg-replica.
func StartReplicated(t testing.TB) *Replicated {
	t.Helper()
	bin, err := ServerBin()
	if err != nil {
		missing(t, RequireReplica, err)
	}
	dir := tempDir(t)
	primaryDir, standbyDir := filepath.Join(dir, "primary"), filepath.Join(dir, "standby")
	run := func(program string, args ...string) {
		t.Helper()
		cmd := command(t, dir, filepath.Join(bin, program), args...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", program, args, err, out)
		}
	}
	run("initdb", "--no-sync", "--auth=trust", "--username=postgres", "--encoding=UTF8", "--locale=C", "-D", primaryDir)
	// Small and unsafe on purpose: a throwaway server on a shared machine.
	conf := `listen_addresses = '127.0.0.1'
unix_socket_directories = ''
wal_level = replica
max_wal_senders = 4
hot_standby = on
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 16MB
max_connections = 40
`
	appendFile(t, filepath.Join(primaryDir, "postgresql.conf"), conf)
	// initdb --auth=trust allows replication from 127.0.0.1 already; said
	// again in case a packaging changes its template.
	appendFile(t, filepath.Join(primaryDir, "pg_hba.conf"), "host replication all 127.0.0.1/32 trust\n")
	primaryPort := freePort(t)
	primary := start(t, command(t, dir, filepath.Join(bin, "postgres"), "-D", primaryDir, "-p", strconv.Itoa(primaryPort)))
	admin := func(port int, db string) string {
		return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", port, db)
	}
	primary.awaitSQL(t, admin(primaryPort, "postgres"), "SELECT true")
	pdb, err := sql.Open("pgx", admin(primaryPort, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pdb.Close() }()
	if _, err := pdb.Exec("CREATE DATABASE leadrotor"); err != nil {
		t.Fatalf("create database: %v", err)
	}
	run("pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(primaryPort), "-U", "postgres",
		"-D", standbyDir, "-R", "-X", "stream", "--checkpoint=fast", "--no-sync")
	standbyPort := freePort(t)
	standby := start(t, command(t, dir, filepath.Join(bin, "postgres"), "-D", standbyDir, "-p", strconv.Itoa(standbyPort)))
	standby.awaitSQL(t, admin(standbyPort, "postgres"), "SELECT pg_is_in_recovery()")
	primary.awaitSQL(t, admin(primaryPort, "postgres"), "SELECT count(*) > 0 FROM pg_stat_replication WHERE state = 'streaming'")
	return &Replicated{Primary: admin(primaryPort, "leadrotor"), Replica: admin(standbyPort, "leadrotor")}
}

// PauseReplay stops the standby applying the primary's changes until
// ResumeReplay, and returns once it has stopped: what it answers then lags
// behind what the primary has.
func (r *Replicated) PauseReplay(t testing.TB) {
	t.Helper()
	r.replica(t, "SELECT pg_wal_replay_pause()")
	deadline := time.Now().Add(startTimeout)
	for {
		var state string
		r.replicaRow(t, "SELECT pg_get_wal_replay_pause_state()", &state)
		if state == "paused" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the standby's replay is %q, not paused, after %s", state, startTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ResumeReplay lets the standby apply the primary's changes again.
func (r *Replicated) ResumeReplay(t testing.TB) { r.replica(t, "SELECT pg_wal_replay_resume()") }

func (r *Replicated) replica(t testing.TB, query string) {
	t.Helper()
	var ignored any
	r.replicaRow(t, query, &ignored)
}

// replicaRow scans the one value of query's one row on the standby.
func (r *Replicated) replicaRow(t testing.TB, query string, dest any) {
	t.Helper()
	db, err := sql.Open("pgx", r.Replica)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if err := db.QueryRow(query).Scan(dest); err != nil {
		t.Fatalf("%s on the standby: %v", query, err)
	}
}

func appendFile(t testing.TB, path, content string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
}
