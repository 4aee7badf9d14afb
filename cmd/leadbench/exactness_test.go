package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

// The exactness check replays smooth weighted round-robin over the
// rotation's members and counts every turn the answers gave otherwise.
func TestExactnessAgainstTheReference(t *testing.T) {
	members := []leads.RotationMember{{User: "a", Weight: 1}, {User: "b", Weight: 1}, {User: "c", Weight: 2}}
	// SWRR from zero over weights 1, 1, 2: c a b c, c a b c, ...
	exact := func(n int) turnLog {
		seq := []string{"c", "a", "b", "c"}
		log := turnLog{}
		for i := range n {
			log[int64(i+1)] = seq[i%len(seq)]
		}
		return log
	}
	r := exactness(exact(40), 0, members)
	require.True(t, r.Checked)
	require.Equal(t, &exactnessReport{Checked: true, Turns: 40, First: 1, Last: 40, PrefixMaxDeviation: 0.5}, r)

	swapped := exact(40)
	swapped[6], swapped[7] = swapped[7], swapped[6]
	r = exactness(swapped, 0, members)
	require.EqualValues(t, 2, r.Differ, "two turns given to the other member")

	gap := exact(40)
	delete(gap, 9)
	r = exactness(gap, 0, members)
	require.True(t, r.Checked)
	require.EqualValues(t, 1, r.Missing)
	require.Zero(t, r.Differ)

	late := exact(40)
	for turn := range int64(10) {
		delete(late, turn+1)
	}
	r = exactness(late, 0, members)
	require.Equal(t, &exactnessReport{Checked: true, Turns: 30, First: 11, Last: 40, PrefixMaxDeviation: 0.5}, r,
		"the turns before the first seen are replayed")
	late[13], late[14] = late[14], late[13]
	require.EqualValues(t, 2, exactness(late, 0, members).Differ)

	require.False(t, exactness(turnLog{}, 0, members).Checked)

	log := turnLog{}
	require.True(t, log.add(answer{assignee: "c", rotation: 7, turn: 1}, 7))
	require.True(t, log.add(answer{assignee: "c", rotation: 7, turn: 1}, 7), "a retry answered with its lead")
	require.False(t, log.add(answer{assignee: "a", rotation: 7, turn: 1}, 7), "one turn, two assignees")
	require.True(t, log.add(answer{assignee: "a", rotation: 8, turn: 1}, 7), "another rotation's turn is not counted")
	require.Len(t, log, 1)
}

func TestReadAnswer(t *testing.T) {
	body := []byte(`{"id":5,"assignedTo":"rep@x.io","rotationId":7,"rotationTurn":1234,"auditLog":[{"data":{"rotationTurn":99}}]}`)
	require.Equal(t, answer{assignee: "rep@x.io", rotation: 7, turn: 1234}, readAnswer(body))
	body = []byte(`{"id":5,"assignedTo":"rep@x.io","auditLog":[{"data":{"rotationId":3,"rotationTurn":99}}]}`)
	require.Equal(t, answer{assignee: "rep@x.io"}, readAnswer(body), "no turn of its own: none from its audit log")
}

// A load on leadrotor with every feature the bench configures: every turn
// the rotation gave, warmup included, is the reference's.
func TestLeadbenchExactness(t *testing.T) {
	t.Parallel()
	rep, _ := runInProcess(t, "-c", "8", "-n", "300", "-d", "60s", "--warmup", "200ms", "--rules", "2", "--availability")
	x := rep.Exactness
	require.NotNil(t, x)
	require.True(t, x.Checked, x.Why)
	require.GreaterOrEqual(t, x.Turns, rep.Created)
	require.Zero(t, x.Differ)
	require.Zero(t, x.Missing)
	require.Zero(t, x.Repeated)
	require.Less(t, x.PrefixMaxDeviation, 1.0)
}
