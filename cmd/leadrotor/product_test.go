package main

import (
	"os/exec"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// Issue 11, item 7: the product binary holds the product; the load
// generator and the row-lock baseline are in cmd/leadbench.
func TestIssue11_07_BinaryHoldsNoBench(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "tool", "nm", leadrotorBinary(t)).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Regexp(t, `main\.newRootCmd`, string(out), "the symbols are read")
	found := regexp.MustCompile(`(?i)\S*(baseline|bench|leadbench)\S*`).FindAllString(string(out), 10)
	require.Empty(t, found, "no bench or baseline code in bin/leadrotor")
	_, err = cli(t, "bench", "-c", "1")
	require.ErrorContains(t, err, `unknown command "bench"`)
}
