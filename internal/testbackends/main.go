// Command testbackends prints, after `make test`, which backends the suites
// ran against: SQLite always, PostgreSQL and Redis when they answered,
// PgBouncer and a replica when their programs are installed, and a Redis
// Cluster and a Sentinel group when redis-server can be started
// (internal/redistest starts them) (the suites use them then, and skip
// their cases otherwise, unless LEADROTOR_TEST_REQUIRE makes a missing one a
// failure: redis, postgres, pgbouncer, pg-replica, redis-cluster,
// redis-sentinel, browser). It asks them as the suites do (store/storetest,
// rotation/rotationtest, internal/redistest), with the same URLs.
package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	"github.com/redis/go-redis/v9"

	"github.com/leadrotor/leadrotor/internal/browsertest"
	"github.com/leadrotor/leadrotor/internal/pgserver"
	"github.com/leadrotor/leadrotor/internal/redistest"
	"github.com/leadrotor/leadrotor/rotation/rotationtest"
	"github.com/leadrotor/leadrotor/store/storetest"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	ran := []string{"SQLite"}
	var skipped []string
	pg := envOr("LEADROTOR_TEST_POSTGRES_URL", storetest.DefaultPostgresURL)
	if err := pingPostgres(ctx, pg); err == nil {
		ran = append(ran, "PostgreSQL")
	} else {
		skipped = append(skipped, "PostgreSQL")
	}
	rd := envOr("LEADROTOR_TEST_REDIS_URL", rotationtest.DefaultRedisURL)
	if err := pingRedis(ctx, rd); err == nil {
		ran = append(ran, "Redis")
	} else {
		skipped = append(skipped, "Redis (miniredis ran the scripts instead)")
	}
	if _, err := pgserver.PgBouncerPath(); err == nil {
		ran = append(ran, "PgBouncer")
	} else {
		skipped = append(skipped, "PgBouncer (the tests through it in transaction mode)")
	}
	if _, err := pgserver.ServerBin(); err == nil {
		ran = append(ran, "a PostgreSQL streaming replica")
	} else {
		skipped = append(skipped, "PostgreSQL's server programs (the read replica tests)")
	}
	if err := redistest.Available(); err == nil {
		ran = append(ran, "Redis Cluster", "Redis Sentinel")
	} else {
		skipped = append(skipped, "Redis Cluster and Sentinel (no redis-server to start them)")
	}
	if _, err := browsertest.Chrome(); err == nil {
		ran = append(ran, "Chromium")
	} else {
		skipped = append(skipped, "Chromium (the console's browser tests)")
	}
	line := "backends: " + strings.Join(ran, ", ")
	if len(skipped) > 0 {
		line += "; not reachable, their cases skipped: " + strings.Join(skipped, ", ")
	}
	fmt.Println(line)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func pingPostgres(ctx context.Context, url string) error {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	return db.PingContext(ctx)
}

func pingRedis(ctx context.Context, url string) error {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return err
	}
	c := redis.NewClient(opts)
	defer func() { _ = c.Close() }()
	return c.Ping(ctx).Err()
}
