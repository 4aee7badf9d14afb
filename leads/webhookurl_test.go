package leads_test

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

// TestPrivateAddr: webhooks are not delivered, unless the operator allows
// it, to any address that is not a public unicast one: the private,
// loopback and link-local ranges, and the other special-purpose ranges
// that are not globally reachable (shared address space of carrier NATs,
// IETF protocol assignments, benchmarking, documentation, reserved), also
// when an IPv6 address carries one of them (mapped, NAT64, 6to4).
func TestPrivateAddr(t *testing.T) {
	t.Parallel()
	for addr, private := range map[string]bool{
		"10.1.2.3": true, "172.16.0.1": true, "192.168.1.1": true, "127.0.0.1": true, "169.254.169.254": true,
		"0.0.0.0": true, "0.1.2.3": true, "100.64.0.1": true, "100.127.255.254": true, "192.0.0.1": true,
		"192.0.2.10": true, "198.18.0.1": true, "198.19.255.1": true, "198.51.100.7": true, "203.0.113.9": true,
		"240.0.0.1": true, "255.255.255.255": true, "224.0.0.1": true,
		"::": true, "::1": true, "fe80::1": true, "fc00::1": true, "::ffff:10.0.0.1": true, "64:ff9b::a00:1": true,
		"2002:a00:1::": true, "2001:db8::1": true, "100::1": true,
		"8.8.8.8": false, "1.1.1.1": false, "100.63.255.255": false, "100.128.0.1": false, "198.20.0.1": false,
		"2606:4700::1111": false, "64:ff9b::808:808": false, "2002:808:808::": false,
	} {
		require.Equal(t, private, leads.PrivateAddr(netip.MustParseAddr(addr)), addr)
	}
}
