package redisurl_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/internal/redisurl"
)

// TestParse reads every form, and what each sets.
func TestParse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url   string
		check func(t *testing.T, c *redisurl.Config)
	}{
		{"redis://127.0.0.1:6379/2", func(t *testing.T, c *redisurl.Config) {
			require.Equal(t, redisurl.Single, c.Topology)
			require.Equal(t, "127.0.0.1:6379", c.Single.Addr)
			require.Equal(t, 2, c.Single.DB)
		}},
		{"rediss://u:p@example.com", func(t *testing.T, c *redisurl.Config) {
			require.Equal(t, "example.com:6379", c.Single.Addr)
			require.NotNil(t, c.Single.TLSConfig)
			require.Equal(t, "u", c.Single.Username)
			require.Equal(t, "p", c.Single.Password)
		}},
		{"unix:///run/redis.sock?db=3", func(t *testing.T, c *redisurl.Config) {
			require.Equal(t, "unix", c.Single.Network)
			require.Equal(t, "/run/redis.sock", c.Single.Addr)
			require.Equal(t, 3, c.Single.DB)
		}},
		{"redis+sentinel://a:26380,b,[::1]:26381/mymaster", func(t *testing.T, c *redisurl.Config) {
			require.Equal(t, redisurl.Sentinel, c.Topology)
			require.Equal(t, []string{"a:26380", "b:26379", "[::1]:26381"}, c.Failover.SentinelAddrs)
			require.Equal(t, "mymaster", c.Failover.MasterName)
			require.Equal(t, 0, c.Failover.DB)
			require.Nil(t, c.Failover.TLSConfig)
		}},
		{"rediss+sentinel://us%40r:p%2Fw@h1:1,h2:2/m%20x/4?dial_timeout=3&sentinel_password=sp&sentinel_username=su", func(t *testing.T, c *redisurl.Config) {
			o := c.Failover
			require.Equal(t, []string{"h1:1", "h2:2"}, o.SentinelAddrs)
			require.Equal(t, "m x", o.MasterName)
			require.Equal(t, 4, o.DB)
			require.Equal(t, "us@r", o.Username)
			require.Equal(t, "p/w", o.Password)
			require.Equal(t, "su", o.SentinelUsername)
			require.Equal(t, "sp", o.SentinelPassword)
			require.Equal(t, 3*time.Second, o.DialTimeout)
			require.NotNil(t, o.TLSConfig)
		}},
		{"redis+cluster://h1:7000,h2:7001,h3", func(t *testing.T, c *redisurl.Config) {
			require.Equal(t, redisurl.Cluster, c.Topology)
			require.Equal(t, []string{"h1:7000", "h2:7001", "h3:6379"}, c.Cluster.Addrs)
			require.Nil(t, c.Cluster.TLSConfig)
		}},
		{"rediss+cluster://:secret@h1:7000?pool_size=7&max_redirects=2", func(t *testing.T, c *redisurl.Config) {
			require.Equal(t, []string{"h1:7000"}, c.Cluster.Addrs)
			require.Equal(t, "secret", c.Cluster.Password)
			require.Equal(t, 7, c.Cluster.PoolSize)
			require.Equal(t, 2, c.Cluster.MaxRedirects)
			require.NotNil(t, c.Cluster.TLSConfig)
		}},
	} {
		t.Run(tc.url, func(t *testing.T) {
			c, err := redisurl.Parse(tc.url)
			require.NoError(t, err)
			tc.check(t, c)
		})
	}
}

// TestParseRefuses names what is wrong with each bad URL, and never echoes
// a password.
func TestParseRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ url, want string }{
		{"127.0.0.1:6379", "no scheme"},
		{"http://h", `unknown scheme "http"`},
		{"redis://h?colour=blue", "unexpected option: colour"},
		{"redis+sentinel://h1,h2/m?colour=blue", "unexpected option: colour"},
		{"redis+cluster://h1,h2?colour=blue", "unexpected option: colour"},
		{"redis+sentinel://h1,h2", "no master name"},
		{"redis+sentinel://h1/m/1/x", "path has 3 parts"},
		{"redis+sentinel://h1/m/one", `database "one" is not a number`},
		{"redis+sentinel://h1/m?addr=h2:1", `query option "addr" is not allowed`},
		{"redis+sentinel://h1/m?master_name=n", `query option "master_name" is not allowed`},
		{"redis+sentinel://h1/m?password=x", `query option "password" is not allowed`},
		{"redis+cluster://h1,h2/0", "a path (/…) means nothing"},
		{"redis+cluster://h1?addr=h2:1", `query option "addr" is not allowed`},
		{"redis+cluster://h1:70000", "port \"70000\" is not a number from 1 to 65535"},
		{"redis+cluster://h1:x", `port "x"`},
		{"redis+cluster://h1,,h2", `host "" is not host[:port]`},
		{"redis+cluster://", "no host"},
		{"redis+cluster://u:secret@", "no host"},
		{"redis+sentinel://h1/m?dial_timeout=soon", "dial_timeout"},
		{"redis+cluster://h1#frag", "fragment"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			_, err := redisurl.Parse(tc.url)
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), "secret")
		})
	}
}

// TestRedact hides passwords in every form.
func TestRedact(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"redis://u:secret@h:1/0":                                "redis://u:xxxxx@h:1/0",
		"redis+sentinel://:secret@h1,h2/m?sentinel_password=s2": "redis+sentinel://:xxxxx@h1,h2/m?sentinel_password=xxxxx",
		"redis+cluster://h1,h2":                                 "redis+cluster://h1,h2",
		"redis://h?password=secret":                             "redis://h?password=xxxxx",
		"nonsense":                                              "(unreadable URL)",
	} {
		require.Equal(t, want, redisurl.Redact(in))
	}
}

// TestBound bounds every topology's calls and turns the client's retries
// off.
func TestBound(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"redis://h", "redis+sentinel://h/m", "redis+cluster://h"} {
		c, err := redisurl.Parse(u)
		require.NoError(t, err)
		c.Bound(250 * time.Millisecond)
		client := c.NewClient()
		require.NotNil(t, client)
		switch c.Topology {
		case redisurl.Single:
			require.Equal(t, -1, c.Single.MaxRetries)
			require.Equal(t, 250*time.Millisecond, c.Single.ReadTimeout)
		case redisurl.Sentinel:
			require.Equal(t, -1, c.Failover.MaxRetries)
			require.Equal(t, 250*time.Millisecond, c.Failover.DialTimeout)
		case redisurl.Cluster:
			require.Equal(t, -1, c.Cluster.MaxRetries)
			require.Equal(t, 250*time.Millisecond, c.Cluster.PoolTimeout)
		}
		require.NoError(t, client.Close())
	}
}
