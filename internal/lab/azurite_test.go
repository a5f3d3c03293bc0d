package lab

import (
	"os"
	"strings"
	"testing"
)

// TestAzuriteVersionMatchesCI: the version the lab names in its messages is the one .ci/run
// installs.
func TestAzuriteVersionMatchesCI(t *testing.T) {
	ci, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ci), "\nAZURITE_VERSION="+AzuriteVersion+"\n") || !strings.Contains(string(ci), AzuriteDefault[:strings.Index(AzuriteDefault, "/node_modules")]) {
		t.Errorf(".ci/run does not install azurite %s into %s", AzuriteVersion, AzuriteDefault)
	}
}
