package leads_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

// phoneKeyCases are phones and their keys (leads.PhoneKey).
var phoneKeyCases = []struct{ phone, key string }{
	{"+1 (415) 555-0100", "14155550100"},
	{"1.415.555.0100", "14155550100"},
	{"14155550100", "14155550100"},
	{" 555-0100 ", "5550100"},
	{"+44 20 7946 0958", "442079460958"},
	{"020/7946-0958", "02079460958"},
	{"555-0100 ext. 12", "555-0100 ext. 12"},
	{"1-800-FLOWERS", ""}, // four digits: no number
	{"1-800-356-9377", "18003569377"},
	{"555 0100\t", "5550100"}, // trimmed
	{"5550\t100", "5550\t100"},
	{"n/a", ""},
	{"0", ""},
	{"1234", ""},
	{"12345", "12345"},
	{"", ""},
	{"+", ""},
	{"٥٥٥٠١٠٠", ""}, // Arabic-Indic digits are not counted
}

func TestPhoneKey(t *testing.T) {
	for _, tc := range phoneKeyCases {
		require.Equal(t, tc.key, leads.PhoneKey(tc.phone), "%q", tc.phone)
	}
}
