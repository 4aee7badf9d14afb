// Package redisurl reads the URL of a Redis deployment, whatever its
// topology, into go-redis options, strictly: an unknown query parameter, a
// malformed host list or a path that means nothing for the topology is an
// error that names what is wrong, never silently ignored.
//
// The forms:
//
//	redis://[user:pass@]host[:6379][/db][?option=value…]      one server
//	rediss://…                                                the same over TLS
//	unix://[user:pass@]/path/to/redis.sock[?db=N&…]           one server, Unix socket
//	redis+sentinel://[user:pass@]host1[:26379],host2[:26379]/<master-name>[/db][?…]
//	rediss+sentinel://…                                       Sentinel, TLS to every node
//	redis+cluster://[user:pass@]host1[:6379],host2[:6379][?…] Cluster, seed nodes
//	rediss+cluster://…                                        Cluster over TLS
//
// The sentinel form is the one of the redis-sentinel-url convention
// (hosts comma-separated, the master's name then the database as the
// path). The user and password are those of the Redis servers (the
// master, its replicas, the cluster's nodes); sentinels that require their
// own are given sentinel_username and sentinel_password in the query. The
// other query options are go-redis's own (dial_timeout, pool_size,
// client_name, …: snake case of the option's field, as redis.ParseURL,
// redis.ParseFailoverURL and redis.ParseClusterURL take them), checked by
// go-redis, which refuses those it does not know. The options that would
// give a second way to say the hosts, the master, the database or the
// credentials (addr, master_name, db, username, password) are refused in
// the sentinel and cluster forms.
package redisurl

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Topology is the kind of Redis deployment a URL names.
type Topology int

// The topologies.
const (
	// Single is one Redis server (redis://, rediss://, unix://).
	Single Topology = iota
	// Sentinel is a master and its replicas, found and failed over by
	// Redis Sentinel (redis+sentinel://).
	Sentinel
	// Cluster is a Redis Cluster (redis+cluster://).
	Cluster
)

// String returns "single", "sentinel" or "cluster".
func (t Topology) String() string {
	switch t {
	case Sentinel:
		return "sentinel"
	case Cluster:
		return "cluster"
	}
	return "single"
}

// Config is a parsed Redis URL: exactly one of its options is set, the one
// of its Topology.
type Config struct {
	Topology Topology
	// Single is set for Single.
	Single *redis.Options
	// Failover is set for Sentinel.
	Failover *redis.FailoverOptions
	// Cluster is set for Cluster.
	Cluster *redis.ClusterOptions
}

// Schemes lists the URL schemes Parse accepts, for messages.
const Schemes = "redis://, rediss://, unix://, redis+sentinel://, rediss+sentinel://, redis+cluster:// or rediss+cluster://"

// Parse reads raw, a URL of one of the forms of the package doc. Its errors
// say what is wrong without repeating the URL (which may hold a password).
func Parse(raw string) (*Config, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, fmt.Errorf("no scheme: the URL must start with %s", Schemes)
	}
	switch scheme {
	case "redis", "rediss", "unix":
		o, err := redis.ParseURL(raw)
		if err != nil {
			return nil, clean(err)
		}
		return &Config{Topology: Single, Single: o}, nil
	case "redis+sentinel", "rediss+sentinel":
		return parseSentinel(strings.TrimSuffix(scheme, "+sentinel"), rest)
	case "redis+cluster", "rediss+cluster":
		return parseCluster(strings.TrimSuffix(scheme, "+cluster"), rest)
	}
	return nil, fmt.Errorf("unknown scheme %q: the URL must start with %s", scheme, Schemes)
}

// parts is a multi-host URL cut in its pieces.
type parts struct {
	user     *url.Userinfo
	hosts    []string
	segments []string
	query    url.Values
}

// split cuts rest (the URL after "scheme://") into its parts; each host
// without a port gets defaultPort.
func split(rest, defaultPort string) (parts, error) {
	var p parts
	rest, rawQuery, _ := strings.Cut(rest, "?")
	if strings.Contains(rawQuery, "#") || strings.Contains(rest, "#") {
		return p, errors.New("a fragment (#…) means nothing in a Redis URL")
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return p, fmt.Errorf("query: %w", err)
	}
	p.query = q
	authority, path, _ := strings.Cut(rest, "/")
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		// url.Parse reads the user information, decoding and checking it.
		u, err := url.Parse("redis://" + authority[:at+1] + "host")
		if err != nil {
			return p, errors.New("the user and password are malformed (escape reserved characters with %XX)")
		}
		p.user = u.User
		authority = authority[at+1:]
	}
	if authority == "" {
		return p, errors.New("no host")
	}
	for _, h := range strings.Split(authority, ",") {
		host, port, err := net.SplitHostPort(h)
		if err != nil {
			if !strings.Contains(h, ":") || (strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]")) {
				host, port, err = strings.Trim(h, "[]"), defaultPort, nil
			}
		}
		if err != nil || host == "" {
			return p, fmt.Errorf("host %q is not host[:port]", h)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return p, fmt.Errorf("host %q: port %q is not a number from 1 to 65535", h, port)
		}
		p.hosts = append(p.hosts, net.JoinHostPort(host, port))
	}
	for _, s := range strings.Split(path, "/") {
		if s != "" {
			seg, err := url.PathUnescape(s)
			if err != nil {
				return p, fmt.Errorf("path: %w", err)
			}
			p.segments = append(p.segments, seg)
		}
	}
	return p, nil
}

// refuse returns an error naming the first of names present in q.
func refuse(q url.Values, names ...string) error {
	for _, n := range names {
		if q.Has(n) {
			return fmt.Errorf("query option %q is not allowed in this form: the hosts, the master, the database and the credentials are given in the URL itself", n)
		}
	}
	return nil
}

// goRedisURL rebuilds a single-host URL of scheme for go-redis's own
// parsers, which check and read the query.
func goRedisURL(scheme, host string, segments []string, q url.Values) string {
	u := url.URL{Scheme: scheme, Host: host, RawQuery: q.Encode()}
	if len(segments) > 0 {
		u.Path = "/" + strings.Join(segments, "/")
	}
	return u.String()
}

func parseSentinel(scheme, rest string) (*Config, error) {
	p, err := split(rest, "26379")
	if err != nil {
		return nil, err
	}
	if err := refuse(p.query, "addr", "master_name", "db", "username", "password"); err != nil {
		return nil, err
	}
	if len(p.segments) == 0 {
		return nil, errors.New("no master name: the path must be /<master-name>[/<db>]")
	}
	if len(p.segments) > 2 {
		return nil, fmt.Errorf("path has %d parts: it must be /<master-name>[/<db>]", len(p.segments))
	}
	master := p.segments[0]
	db := 0
	if len(p.segments) == 2 {
		if db, err = strconv.Atoi(p.segments[1]); err != nil || db < 0 {
			return nil, fmt.Errorf("database %q is not a number", p.segments[1])
		}
	}
	q := cloneValues(p.query)
	sentinelUser, sentinelPass := q.Get("sentinel_username"), q.Get("sentinel_password")
	q.Del("sentinel_username")
	q.Del("sentinel_password")
	q.Set("master_name", master)
	o, err := redis.ParseFailoverURL(goRedisURL(scheme, p.hosts[0], nil, q))
	if err != nil {
		return nil, clean(err)
	}
	o.SentinelAddrs = p.hosts
	o.DB = db
	o.SentinelUsername, o.SentinelPassword = sentinelUser, sentinelPass
	if p.user != nil {
		o.Username = p.user.Username()
		o.Password, _ = p.user.Password()
	}
	return &Config{Topology: Sentinel, Failover: o}, nil
}

func parseCluster(scheme, rest string) (*Config, error) {
	p, err := split(rest, "6379")
	if err != nil {
		return nil, err
	}
	if err := refuse(p.query, "addr", "db", "username", "password"); err != nil {
		return nil, err
	}
	if len(p.segments) > 0 {
		return nil, errors.New("a path (/…) means nothing for a Redis Cluster, which has one database")
	}
	o, err := redis.ParseClusterURL(goRedisURL(scheme, p.hosts[0], nil, p.query))
	if err != nil {
		return nil, clean(err)
	}
	o.Addrs = p.hosts
	if p.user != nil {
		o.Username = p.user.Username()
		o.Password, _ = p.user.Password()
	}
	return &Config{Topology: Cluster, Cluster: o}, nil
}

func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q))
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// clean drops go-redis's "redis: " prefix from its parse errors; the caller
// names the setting.
func clean(err error) error {
	return errors.New(strings.TrimPrefix(err.Error(), "redis: "))
}

// Bound makes every call of the client bounded by timeout (dial, read,
// write and pool wait) and by its context, and never retried by the client
// itself: a script that timed out may have run, and running it again would
// do its work twice. A Cluster client still follows MOVED and ASK
// redirections (the script did not run on the node that answered them).
func (c *Config) Bound(timeout time.Duration) {
	switch {
	case c.Single != nil:
		o := c.Single
		o.ContextTimeoutEnabled = true
		o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout = timeout, timeout, timeout, timeout
		o.MaxRetries = -1
	case c.Failover != nil:
		o := c.Failover
		o.ContextTimeoutEnabled = true
		o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout = timeout, timeout, timeout, timeout
		o.MaxRetries = -1
	case c.Cluster != nil:
		o := c.Cluster
		o.ContextTimeoutEnabled = true
		o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout = timeout, timeout, timeout, timeout
		o.MaxRetries = -1
	}
}

// NewClient returns a client of the URL's topology: a *redis.Client for a
// single server or a Sentinel group (which follows the master through
// failovers), a *redis.ClusterClient for a Cluster.
func (c *Config) NewClient() redis.UniversalClient {
	switch {
	case c.Failover != nil:
		return redis.NewFailoverClient(c.Failover)
	case c.Cluster != nil:
		return redis.NewClusterClient(c.Cluster)
	}
	return redis.NewClient(c.Single)
}

// Redact returns raw with its passwords (in the user information and in
// the sentinel_password and password options) replaced by "xxxxx", for
// logs. A URL it cannot read is reduced to its scheme.
func Redact(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return "(unreadable URL)"
	}
	rest, rawQuery, hasQuery := strings.Cut(rest, "?")
	authority, path, hasPath := strings.Cut(rest, "/")
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		user := authority[:at]
		if name, _, hasPass := strings.Cut(user, ":"); hasPass {
			user = name + ":xxxxx"
		}
		authority = user + "@" + authority[at+1:]
	}
	out := scheme + "://" + authority
	if hasPath {
		out += "/" + path
	}
	if hasQuery {
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return scheme + "://(unreadable URL)"
		}
		for _, k := range []string{"password", "sentinel_password"} {
			if q.Has(k) {
				q.Set(k, "xxxxx")
			}
		}
		out += "?" + q.Encode()
	}
	return out
}
