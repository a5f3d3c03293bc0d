package lab

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
)

// sasLife is how long the test blob's SAS is valid: longer than any lab lives.
const sasLife = 24 * time.Hour

// createTestBlob uploads TestBlobSize random bytes to TestContainer/TestBlobName of account in
// the lab's Azurite, as an operator would with the account key, and returns the blob's URL with
// a SAS that allows reading and writing (the failback download and the forward upload). It
// runs in the test process: every connection is dialled from node to Azurite's address, so no
// name is ever resolved here (the test process's resolver is the machine's).
//
// The container is created with a plain REST call under an account SAS: the SDK's container
// package would pull Apache Arrow into the module for one call.
func createTestBlob(ctx context.Context, node *Host, roots *x509.CertPool, account, key string) (string, error) {
	cred, err := blob.NewSharedKeyCredential(account, key)
	if err != nil {
		return "", err
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return node.Dial(ctx, "tcp", AddrStorage+":443")
		},
		TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	now := time.Now().UTC()
	service := "https://" + account + storageSuffix + "/"
	acct, err := sas.AccountSignatureValues{
		Protocol:      sas.ProtocolHTTPS,
		StartTime:     now.Add(-time.Hour),
		ExpiryTime:    now.Add(time.Hour),
		Permissions:   (&sas.AccountPermissions{Read: true, Write: true, Create: true}).String(),
		ResourceTypes: (&sas.AccountResourceTypes{Container: true, Object: true}).String(),
	}.SignWithSharedKey(cred)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, service+TestContainer+"?restype=container&"+acct.Encode(), nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("create container %s in %s: %w", TestContainer, account, err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("create container %s in %s: %s: %s", TestContainer, account, resp.Status, body)
	}
	bc, err := blockblob.NewClientWithNoCredential(service+TestContainer+"/"+TestBlobName+"?"+acct.Encode(), &blockblob.ClientOptions{
		ClientOptions: azcore.ClientOptions{Transport: hc, Retry: policy.RetryOptions{MaxRetries: -1}, Telemetry: policy.TelemetryOptions{Disabled: true}}})
	if err != nil {
		return "", err
	}
	data := make([]byte, TestBlobSize)
	_, _ = rand.Read(data) // incompressible, as replication data mostly is
	if _, err := bc.UploadBuffer(ctx, data, nil); err != nil {
		return "", fmt.Errorf("upload the test blob to %s: %w", account, err)
	}
	qp, err := sas.BlobSignatureValues{
		Protocol:      sas.ProtocolHTTPS,
		StartTime:     now.Add(-time.Hour),
		ExpiryTime:    now.Add(sasLife),
		Permissions:   (&sas.BlobPermissions{Read: true, Write: true}).String(),
		ContainerName: TestContainer,
		BlobName:      TestBlobName,
	}.SignWithSharedKey(cred)
	if err != nil {
		return "", err
	}
	return service + TestContainer + "/" + TestBlobName + "?" + qp.Encode(), nil
}
