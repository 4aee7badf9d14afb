package rotation_test

import (
	"os"
	"testing"

	"github.com/leadrotor/leadrotor/rotation/rotationtest"
)

// TestMain shares one Redis Cluster among the package's tests.
func TestMain(m *testing.M) { os.Exit(rotationtest.Main(m)) }
