package lab

import (
	"os"
	"os/exec"
	"testing"
)

// Azurite, Microsoft's Azure Storage emulator (npm package azurite), is the lab's Azure
// Storage: a real implementation of the blob REST API, SAS included, that the Azure SDK and the
// agents' blob probe talk to as they would to a storage account. .ci/run installs it with npm
// into AzuriteDefault; it is never installed by a test.

// AzuriteEnv names the azurite-blob executable to run instead of AzuriteDefault or the one on
// PATH.
const AzuriteEnv = "NETPROBE_AZURITE"

// AzuriteDefault is where .ci/run installs Azurite (npm install --prefix /opt/netprobe-azurite).
const AzuriteDefault = "/opt/netprobe-azurite/node_modules/.bin/azurite-blob"

// AzuriteBinary finds azurite-blob: $NETPROBE_AZURITE, AzuriteDefault, then PATH. The reason
// says what is missing when it returns "".
func AzuriteBinary() (path, reason string) {
	if p := os.Getenv(AzuriteEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", AzuriteEnv + "=" + p + ": " + err.Error()
		}
		return p, ""
	}
	if _, err := os.Stat(AzuriteDefault); err == nil {
		return AzuriteDefault, ""
	}
	if p, err := exec.LookPath("azurite-blob"); err == nil {
		return p, ""
	}
	return "", "needs the Azure Storage emulator Azurite (npm install --prefix /opt/netprobe-azurite azurite@" + AzuriteVersion + ", as .ci/run does; or set " + AzuriteEnv + ")"
}

// AzuriteVersion is the version .ci/run installs: the last whose package accepts Node 20 (3.36
// asks for Node 21 or later), with --disableTelemetry and --inMemoryPersistence.
const AzuriteVersion = "3.35.0"

// RequireAzurite is Require for the modernized lab: it also needs Azurite and node. It
// returns azurite-blob's path.
func RequireAzurite(t testing.TB) string {
	t.Helper()
	Require(t)
	p, reason := AzuriteBinary()
	if reason == "" {
		if _, err := exec.LookPath("node"); err != nil {
			reason = "needs node on PATH to run Azurite (apt-get install -y nodejs)"
		}
	}
	require(t, reason, os.Getenv(RequiredEnv) == "1")
	return p
}
